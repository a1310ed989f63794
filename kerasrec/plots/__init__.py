"""Plots for recipes and procedures (never imported by training pieces).

Matplotlib with the non-interactive Agg backend, so plotting works on a
machine with no display; every function writes a PNG atomically (a unique
temporary file, then `os.replace`) and returns its path. One module a
subject; this file only re-exports their public names.
"""

from kerasrec.plots._core import (
    plot_histories,
    plot_history,
    plot_lr_range_test,
    plot_schedules,
    plot_trials,
)
from kerasrec.plots.lr import plot_loss_curves, plot_lr_sweep
from kerasrec.plots.search import plot_layouts
from kerasrec.plots.stopping import plot_stops
