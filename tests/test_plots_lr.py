"""kerasrec.plots.lr: the sweep figures write real PNGs, cut exploding curves, validate."""

import os

import matplotlib.image
import pytest

from kerasrec import plots
from kerasrec.plots import lr as lr_plots


def test_plot_loss_curves_writes_a_png_with_a_label_per_curve(tmp_path, monkeypatch):
    drawn = {}
    save = lr_plots._save

    def spy(fig, path):
        ax = fig.axes[0]
        drawn["labels"] = [line.get_label() for line in ax.lines]
        drawn["ylim"] = ax.get_ylim()
        return save(fig, path)

    monkeypatch.setattr(lr_plots, "_save", spy)
    losses = {
        10.0: [2.6, 14.8, None, 3.0],  # explodes (None: NaN read back from JSON)
        0.1: [2.6, 2.0, 1.0, 0.5],
    }
    path = plots.plot_loss_curves(
        losses, str(tmp_path / "sweep.png"), labels={10.0: "lr=10 (explodes)"}, title="t"
    )
    assert matplotlib.image.imread(path).ndim == 3
    assert drawn["labels"] == ["lr=10 (explodes)", "lr=0.1"]
    # The exploding curve leaves the top: the axis ends at 1.25x the first loss.
    assert drawn["ylim"][1] == pytest.approx(1.25 * 2.6)
    assert os.listdir(tmp_path) == ["sweep.png"]


def test_plot_loss_curves_draws_raw_losses_without_smoothing(tmp_path):
    path = plots.plot_loss_curves({0.1: [2.0, 1.0]}, str(tmp_path / "raw.png"), smoothing=0)
    assert matplotlib.image.imread(path).ndim == 3


def test_plot_lr_sweep_writes_two_panels_with_the_marks(tmp_path, monkeypatch):
    drawn = {}
    save = lr_plots._save

    def spy(fig, path):
        left, right = fig.axes
        drawn["left"] = [line.get_label() for line in left.lines]
        drawn["right"] = len(right.lines)
        drawn["xscale"] = left.get_xscale()
        return save(fig, path)

    monkeypatch.setattr(lr_plots, "_save", spy)
    finals = {
        "train loss, last 2 batches": {0.01: 0.8, 0.1: 0.3, 1.0: None},
        "validation loss": {0.01: 0.9, 0.1: 0.4, 1.0: 2.3},
    }
    curves = {0.01: [2.3, 1.5, 0.8], 0.1: [2.3, 0.9, 0.3], 1.0: [2.3, 9.0, None]}
    path = plots.plot_lr_sweep(
        finals, curves, str(tmp_path / "s.png"), marks={"valley 0.2": 0.2, "best 0.1": 0.1}
    )
    assert matplotlib.image.imread(path).ndim == 3
    assert drawn["left"] == [*finals, "valley 0.2", "best 0.1"]
    assert drawn["right"] == 3 and drawn["xscale"] == "log"
    assert os.listdir(tmp_path) == ["s.png"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: plots.plot_loss_curves({}, p), "losses"),
        (lambda p: plots.plot_loss_curves({0.1: []}, p), "losses"),
        (lambda p: plots.plot_lr_sweep({}, {0.1: [1.0]}, p), "final_losses"),
        (lambda p: plots.plot_lr_sweep({"a": {0.1: 1.0}}, {}, p), "losses"),
        (lambda p: plots.plot_lr_sweep({"a": {0.1: 1.0}}, {0.1: [1.0]}, p, marks={"m": 0}),
         "marks"),
    ],
)
def test_the_sweep_plots_reject_bad_input_and_write_nothing(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(str(tmp_path / "x.png"))
    assert os.listdir(tmp_path) == []
