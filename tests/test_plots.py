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


def test_plot_layouts_one_column_per_search_and_validates(tmp_path):
    import numpy as np
    import pytest

    from kerasrec import search_simulation as sim

    optimum, points = sim.draw_problem(0, 0, 9)
    grid = sim.grid_layout(9)
    panels = [
        {"title": name, "points": p, "values": sim.objective(*p.T, optimum), "optimum": optimum}
        for name, p in (("grid", grid), ("random", points))
    ]
    axis = np.linspace(0, 1, 51)
    two = plots.plot_layouts(
        panels, str(tmp_path / "two.png"),
        x_curve=(axis, sim.important_part(axis, optimum[0])),
        y_curve=(axis, sim.unimportant_part(axis, optimum[1])), title="t",
    )
    # A real search: log axes, no marginal curves, trials as lists.
    trials = [{"title": "random", "points": [[1e-3, 1e-4], [3e-2, 1e-2]], "values": [0.3, 0.5]}]
    one = plots.plot_layouts(trials, str(tmp_path / "one.png"), log=True,
                             limits=((1e-4, 1e-1), (1e-5, 1e-1)))
    wide, narrow = matplotlib.image.imread(two), matplotlib.image.imread(one)
    assert 1.7 * narrow.shape[1] < wide.shape[1] < 2.3 * narrow.shape[1]  # two columns against one
    with pytest.raises(ValueError, match="Argument `panels` must be a non-empty list"):
        plots.plot_layouts([], str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match=r"Argument `panels\[0\]\['values'\]` must be one"):
        plots.plot_layouts([{**trials[0], "values": [0.3]}], str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="Argument `limits`"):
        plots.plot_layouts(trials, str(tmp_path / "x.png"), log=True)  # 0 on a log axis
    assert sorted(os.listdir(tmp_path)) == ["one.png", "two.png"]


def test_plot_stops_one_panel_per_key_takes_replay_results_and_validates(tmp_path):
    import pytest

    from kerasrec.callbacks import ReplayResult

    history = {
        "loss": [2.0, 1.0, 0.6, 0.4, 0.3, 0.2], "val_loss": [2.1, 1.2, 1.0, 1.1, None, 1.4],
        "accuracy": [0.3, 0.6, 0.8, 0.9, 0.95, 1.0],
        "val_accuracy": [0.3, 0.5, 0.7, 0.65, 0.6, 0.6],
    }
    stops = {
        "EarlyStopping": ReplayResult(4, 2),  # as replay() returns it
        "GL5": [3, 2],  # as a JSON step gives it back
        "PQ3": (None, 2),  # never stopped
        "UP3": (None, None),  # never stopped, no weights replayed
    }
    two = plots.plot_stops(history, stops, str(tmp_path / "two.png"), best_epoch=2, title="t")
    one = plots.plot_stops(history, {"GL5": (3, 2)}, str(tmp_path / "one.png"), keys=("loss",))
    wide, narrow = matplotlib.image.imread(two), matplotlib.image.imread(one)
    assert 1.7 * narrow.shape[1] < wide.shape[1] < 2.3 * narrow.shape[1]  # two panels against one
    assert wide.shape[0] > narrow.shape[0]  # four rules need more legend rows than one
    bad = [
        (dict(stops={}), "Argument `stops` must be a dict of 1 to 6"),
        (dict(stops={"A": 3}), r"Argument `stops` must map each label to a pair"),
        (dict(stops={"A": (6, 1)}), r"Argument `stops\['A'\]` must be a 0-based epoch in \[0, 6\)"),
        (dict(stops={"A": (1, -1)}), r"Argument `stops\['A'\]`"),
        (dict(best_epoch=True), "Argument `best_epoch` must be a 0-based epoch"),
        (dict(keys=("auc",)), "Argument `keys` must name quantities logged"),
        (dict(history={"loss": [1.0, 0.5], "val_loss": [1.0]}), "Argument `history` must be"),
        (dict(history={}), "Argument `history` must be"),
    ]
    for kwargs, message in bad:
        args = {"history": history, "stops": {"A": (1, 0)}, "path": str(tmp_path / "x.png"),
                **kwargs}
        with pytest.raises(ValueError, match=message):
            plots.plot_stops(args.pop("history"), args.pop("stops"), args.pop("path"), **args)
    assert sorted(os.listdir(tmp_path)) == ["one.png", "two.png"]


def test_plots_write_through_a_unique_temporary_name(tmp_path):
    # Regression (issue 9): plots wrote through the fixed name `<path>.tmp.png`,
    # so two writers of one path collided. A directory squatting on that name
    # broke the old writer; the new one never uses it.
    path = tmp_path / "curves.png"
    (tmp_path / "curves.png.tmp.png").mkdir()
    plots.plot_history({"loss": [1.0, 0.5]}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "curves.png.tmp.png"]
