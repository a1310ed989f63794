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
