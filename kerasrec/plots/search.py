"""Search layouts: where the trials of a search lie, with the marginals.

The lecture's figure for grid against random search (Bergstra & Bengio
2012, Fig. 1): for each layout, the trials over the plane of an important
(x) and an unimportant (y) hyperparameter, with the important one's
marginal above and the unimportant one's beside, every trial projected
onto both.
"""

import warnings

import matplotlib.ticker
import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec.plots._core import _save  # sets the Agg backend before pyplot loads

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_layouts"]


def _check_panels(panels):
    if not isinstance(panels, (list, tuple)) or not panels:
        raise ArgumentError(
            "Argument `panels` must be a non-empty list of dicts with `title`, `points` "
            f"and `values`. Received: panels={panels!r}"
        )
    checked = []
    for index, panel in enumerate(panels):
        if not isinstance(panel, dict) or not {"title", "points", "values"} <= set(panel):
            raise ArgumentError(
                f"Argument `panels` must hold dicts with `title`, `points` and `values`. "
                f"Received: panels[{index}]={panel!r}"
            )
        points = np.asarray(panel["points"], float)
        values = np.asarray(panel["values"], float)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
            raise ArgumentError(
                f"Argument `panels[{index}]['points']` must be a non-empty list of (x, y) "
                f"pairs. Received: shape {points.shape}"
            )
        if values.shape != (len(points),) or not np.all(np.isfinite(values)):
            raise ArgumentError(
                f"Argument `panels[{index}]['values']` must be one finite number per point "
                f"({len(points)}). Received: shape {values.shape}"
            )
        checked.append({**panel, "points": points, "values": values})
    return checked


def _check_limits(limits, log):
    try:
        (x_low, x_high), (y_low, y_high) = limits
        ok = all(np.isfinite([x_low, x_high, y_low, y_high]))
        ok = ok and x_low < x_high and y_low < y_high and (not log or min(x_low, y_low) > 0)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ArgumentError(
            "Argument `limits` must be `((x_low, x_high), (y_low, y_high))` with low < high "
            f"(and low > 0 on log axes). Received: limits={limits!r}"
        )
    return limits


def plot_layouts(panels, path, *, xlabel="x", ylabel="y", x_curve=None, y_curve=None,
                 value_label="score", log=False, limits=((0, 1), (0, 1)), x_name="x",
                 title=None):
    """Two (or more) search layouts with their marginals, one column each.

    Each column is one search: its trials as dots over the plane (coloured
    by their value, the best one circled in red, the `optimum` starred when
    the panel gives one); above, the important hyperparameter's marginal,
    and beside, the unimportant one's. With `x_curve` and `y_curve` (a
    synthetic objective) the marginals are those curves, with every trial
    projected onto them; without (a real search) they are each trial's value
    against its x and against its y. The panel titles count the distinct
    values of x each search tried, the point of the figure.

    Args:
        panels: a list of dicts with `title`, `points` (an `(n, 2)` array of
            `(x, y)`) and `values` (the score of each point), and optionally
            `optimum` (an `(x, y)` pair).
        path: where to write the PNG.
        xlabel: the important hyperparameter's name. Defaults to `"x"`.
        ylabel: the unimportant hyperparameter's name. Defaults to `"y"`.
        x_curve: `(xs, values)`, the important marginal, or `None` to draw
            each trial's value against its x. Defaults to `None`.
        y_curve: `(ys, values)`, the same beside. Defaults to `None`.
        value_label: what the values are. Defaults to `"score"`.
        log: logarithmic x and y axes. Defaults to `False`.
        limits: `((x_low, x_high), (y_low, y_high))`, the search ranges; the
            axes show them with a small margin. Defaults to `((0, 1), (0, 1))`.
        x_name: what the panel titles count distinct values of. Defaults
            to `"x"`.
        title: figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ArgumentError: `panels` is empty or a panel's points and values do
            not match, or `limits` is not two increasing ranges (positive
            ones with `log=True`).

    Example:

    >>> from kerasrec import search_simulation as sim
    >>> optimum, points = sim.draw_problem(0, 0, 9)
    >>> grid = sim.grid_layout(9)
    >>> plot_layouts(
    ...     [{"title": "grid", "points": grid, "values": sim.objective(*grid.T, optimum)},
    ...      {"title": "random", "points": points,
    ...       "values": sim.objective(*points.T, optimum)}],
    ...     "layouts.png")
    'layouts.png'
    """
    panels = _check_panels(panels)
    limits = _check_limits(limits, log)
    fig = plt.figure(figsize=(5.2 * len(panels), 5.4))
    outer = fig.add_gridspec(1, len(panels), wspace=0.3)
    values_all = np.concatenate([p["values"] for p in panels])
    curves = [np.asarray(c[1], float) for c in (x_curve, y_curve) if c is not None]
    top = max([float(np.max(values_all))] + [float(np.max(c)) for c in curves])
    vlim = (0.0, 1.05 * top if top > 0 else 1.0)
    for column, panel in enumerate(panels):
        inner = outer[column].subgridspec(2, 2, width_ratios=(1, 4), height_ratios=(1, 4),
                                          wspace=0.05, hspace=0.05)
        main = fig.add_subplot(inner[1, 1])
        above = fig.add_subplot(inner[0, 1], sharex=main)
        side = fig.add_subplot(inner[1, 0], sharey=main)
        points, values = panel["points"], panel["values"]
        best = int(np.argmax(values))
        main.scatter(points[:, 0], points[:, 1], c=values, cmap="viridis", vmin=vlim[0],
                     vmax=vlim[1], s=45, edgecolors="k", linewidths=0.5, zorder=3)
        main.scatter(*points[best], s=160, facecolors="none", edgecolors="red", linewidths=1.5,
                     zorder=4, label=f"best: {values[best]:.3f}")
        if panel.get("optimum") is not None:
            main.scatter(*panel["optimum"], marker="*", s=150, color="orange",
                         edgecolors="k", zorder=5, label="optimum")
        main.legend(loc="best", fontsize=7, framealpha=0.6)
        main.set_xlabel(xlabel)
        main.grid(alpha=0.3)
        if x_curve is not None:
            above.plot(x_curve[0], x_curve[1], color="C0")
            above.scatter(points[:, 0], np.interp(points[:, 0], *x_curve), color="C3", s=18,
                          zorder=3)
        else:
            above.scatter(points[:, 0], values, color="C3", s=18)
        if y_curve is not None:
            side.plot(y_curve[1], y_curve[0], color="C0")
            side.scatter(np.interp(points[:, 1], *y_curve), points[:, 1], color="C3", s=18,
                         zorder=3)
        else:
            side.scatter(values, points[:, 1], color="C3", s=18)
        for (low, high), scale, set_lim in zip(limits, ("xscale", "yscale"),
                                               (main.set_xlim, main.set_ylim)):
            if log:
                getattr(main, f"set_{scale}")("log")
                pad = (high / low) ** 0.04
                set_lim(low / pad, high * pad)
            else:
                pad = 0.04 * (high - low)
                set_lim(low - pad, high + pad)
        if log:
            for axis in (main.xaxis, main.yaxis):
                axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        above.set_ylim(*vlim)
        side.set_xlim(vlim[1], vlim[0])  # the curve grows away from the panel
        side.set_xticks([round(vlim[1] / 2, 2)])
        above.set_title(f"{panel['title']}: {len(np.unique(points[:, 0]))} distinct {x_name}",
                        fontsize=10)
        above.tick_params(which="both", labelbottom=False, labelsize=7)
        side.tick_params(which="both", labelsize=7)
        main.tick_params(which="both", labelleft=False, labelsize=8)
        above.set_ylabel(value_label, fontsize=8)
        side.set_ylabel(ylabel)
        above.grid(alpha=0.3)
        side.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    with warnings.catch_warnings():  # nested grids keep the spacing set above
        warnings.filterwarnings("ignore", message=".*not compatible with tight_layout")
        return _save(fig, path)
