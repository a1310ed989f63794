"""Plots: each function writes a real PNG and leaves no temporary file."""

import os

import matplotlib.image

from kerasrec import plots


def test_plot_history_writes_png_with_one_panel_per_quantity(tmp_path):
    history = {
        "loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.2, 0.9],
        "accuracy": [0.3, 0.6, 0.8], "val_accuracy": [0.3, 0.5, 0.7],
        "learning_rate": [0.1, 0.05, 0.01],
    }
    path = plots.plot_history(history, str(tmp_path / "a.png"), title="t")
    only_loss = plots.plot_history({"loss": [1.0, 0.5]}, str(tmp_path / "b.png"))
    wide = matplotlib.image.imread(path)
    narrow = matplotlib.image.imread(only_loss)
    assert wide.shape[1] > 2.5 * narrow.shape[1]  # three panels against one
    assert sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]


def test_plot_schedules_writes_png_and_validates(tmp_path):
    import pytest

    from kerasrec import schedules

    path = plots.plot_schedules(
        {"cosine": schedules.get("cosine", learning_rate=0.1, total_steps=100, warmup_steps=10),
         "constant": 0.05},
        100, str(tmp_path / "s.png"),
    )
    assert matplotlib.image.imread(path).ndim == 3
    with pytest.raises(ValueError, match="total_steps"):
        plots.plot_schedules({"c": 0.1}, 0, str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="schedules"):
        plots.plot_schedules({}, 10, str(tmp_path / "x.png"))
    assert os.listdir(tmp_path) == ["s.png"]


def test_plot_histories_one_panel_per_key_and_tolerates_diverged_runs(tmp_path):
    import pytest

    histories = {
        "constant": {"loss": [2.0, 1.0, 0.5], "val_accuracy": [0.3, 0.5, 0.7]},
        # A diverged run as json.load gives it back from runs.save_json.
        "diverged": {"loss": [2.0, "inf", "nan"], "val_accuracy": [0.1, 0.1, None]},
        "no_val": {"loss": [2.2, 1.5, 1.2]},
    }
    two = plots.plot_histories(histories, str(tmp_path / "two.png"), title="t")
    one = plots.plot_histories(
        histories, str(tmp_path / "one.png"),
        keys=("loss",), xlabel="iteration", log_keys=("loss",), ylims={"loss": (0.1, 3.0)},
    )
    wide = matplotlib.image.imread(two)
    narrow = matplotlib.image.imread(one)
    assert 1.7 * narrow.shape[1] < wide.shape[1] < 2.3 * narrow.shape[1]  # two panels against one
    with pytest.raises(ValueError, match="histories"):
        plots.plot_histories({}, str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="keys"):
        plots.plot_histories(histories, str(tmp_path / "x.png"), keys=())
    assert sorted(os.listdir(tmp_path)) == ["one.png", "two.png"]
