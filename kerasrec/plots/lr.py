"""Figures of learning-rate sweeps: the lecture's loss curves, and a sweep's results.

`plot_loss_curves` draws the lecture's figure from real runs: the smoothed
training loss of every batch, one curve per constant learning rate.
`plot_lr_sweep` draws what a sweep found: the final losses against the
learning rate (log axis) with chosen learning rates marked (a range test's
suggestions, the sweep's best), next to every run's smoothed loss curve.
"""

import math

import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec.lr_range import smooth
from kerasrec.plots._core import _save, plt

__all__ = ["plot_loss_curves", "plot_lr_sweep"]

_MARK_COLORS = ("tab:red", "tab:green", "tab:purple", "tab:orange", "black", "tab:brown")


def _curve(losses, smoothing):
    """The smoothed losses as a float array, non-finite values as NaN (gaps)."""
    values = [math.nan if v is None else float(v) for v in losses]
    curve = np.asarray(smooth(values, beta=smoothing) if smoothing else values, dtype=float)
    curve[~np.isfinite(curve)] = np.nan
    return curve


def _check_curves(name, curves):
    if not isinstance(curves, dict) or not curves or not all(len(v) for v in curves.values()):
        raise ArgumentError(
            f"Argument `{name}` must be a non-empty dict {{learning_rate: batch losses}} "
            f"with at least one loss each. Received: {name}={curves!r}"
        )


def _draw_curves(ax, losses, labels, smoothing):
    for lr, loss in losses.items():
        curve = _curve(loss, smoothing)
        ax.plot(np.arange(1, len(curve) + 1), curve, label=labels.get(lr, f"lr={lr:g}"))
    # As in the lecture's figure, an exploding loss leaves the top of the plot.
    firsts = [float(v[0]) for v in losses.values() if v[0] is not None and math.isfinite(v[0])]
    finite = [c for loss in losses.values() for c in _curve(loss, smoothing) if np.isfinite(c)]
    if firsts and finite:
        top = 1.25 * max(firsts)
        bottom = min(finite) - 0.05 * (top - min(finite))
        if top > bottom:
            ax.set_ylim(bottom, top)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss, smoothed" if smoothing else "training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_loss_curves(losses, path, *, labels=None, smoothing=0.9, title=None):
    """The lecture's figure: the training loss of a few constant learning rates.

    One curve per learning rate, the loss of every batch (for instance from
    `kerasrec.callbacks.BatchLoss`) smoothed by `kerasrec.lr_range.smooth`.
    The y axis stops at 1.25x the highest first loss, so a loss that
    explodes leaves the top of the plot instead of flattening the others;
    non-finite losses leave gaps.

    Args:
        losses: Dict `{learning_rate: list of batch losses}` (`None` is a
            non-finite loss, as JSON gives it back).
        path: Where to write the PNG.
        labels: Dict `{learning_rate: label}`, e.g. with each curve's
            verdict from `kerasrec.lr_sweep.judge_sweep`. Defaults to
            `None` (`"lr=0.1"`).
        smoothing: Float in [0, 1): `beta` of the moving average; `0` draws
            the raw losses. Defaults to `0.9`.
        title: Figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: If `losses` is not a non-empty dict of non-empty lists.

    Example:

    >>> verdicts = kerasrec.lr_sweep.judge_sweep(losses)
    >>> plot_loss_curves(losses, "lr_sweep.png",
    ...                  labels={lr: f"lr={lr:g} ({v['verdict']})"
    ...                          for lr, v in verdicts.items()})
    """
    _check_curves("losses", losses)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    _draw_curves(ax, losses, labels or {}, smoothing)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_lr_sweep(final_losses, losses, path, *, marks=None, smoothing=0.9, title=None):
    """What a sweep of constant learning rates found, in two panels.

    Left: each run's final losses against its learning rate (log axis),
    one line per quantity (e.g. the training loss of the last batches and
    the validation loss), with a dotted vertical line at every learning
    rate of `marks`. The y axis is cut at 3x the lowest loss + 1, so a
    diverged run does not flatten the others. Right: every run's smoothed
    training loss, batch by batch, as `plot_loss_curves` draws it.

    Args:
        final_losses: Dict `{label: {learning_rate: loss}}`, e.g.
            `{"train loss, last 50 batches": {...}, "validation loss": {...}}`;
            `None` and non-finite losses leave gaps.
        losses: Dict `{learning_rate: list of batch losses}`.
        path: Where to write the PNG.
        marks: Dict `{label: learning_rate}` to mark, e.g. a range test's
            suggestions and the sweep's best. Defaults to `None`.
        smoothing: Float in [0, 1), of the right panel's curves. Defaults
            to `0.9`.
        title: Figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: If `final_losses` or `losses` is empty, or a marked
            learning rate is not a finite number > 0.

    Example:

    >>> plot_lr_sweep({"validation loss": {0.01: 0.9, 0.1: 0.4, 1.0: 2.3}},
    ...               batch_losses, "lr_sweep.png", marks={"suggestion": 0.2})
    """
    if not isinstance(final_losses, dict) or not final_losses:
        raise ArgumentError(
            "Argument `final_losses` must be a non-empty dict {label: {learning_rate: loss}}. "
            f"Received: final_losses={final_losses!r}"
        )
    _check_curves("losses", losses)
    marks = dict(marks or {})
    for label, lr in marks.items():
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise ArgumentError(
                "Argument `marks` must map labels to finite learning rates > 0. "
                f"Received: marks[{label!r}]={lr!r}"
            )
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    finite = []
    for (label, by_lr), style in zip(final_losses.items(), ("o-", "s--", "^:", "v-.") * 4):
        lrs = sorted(by_lr)
        values = [math.nan if by_lr[lr] is None else float(by_lr[lr]) for lr in lrs]
        finite += [v for v in values if math.isfinite(v)]
        left.plot(lrs, values, style, label=label)
    if finite:
        low, high = min(finite), min(max(finite), 3 * min(finite) + 1)
        pad = high - low + 1e-3
        left.set_ylim(low - 0.05 * pad, high + 0.1 * pad)
    for (label, lr), color in zip(marks.items(), _MARK_COLORS * (len(marks) // 6 + 1)):
        left.axvline(lr, color=color, ls=":", lw=1.2, label=label)
    left.set_xscale("log")
    left.set_xlabel("learning rate")
    left.set_ylabel("loss")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=7)
    _draw_curves(right, losses, {}, smoothing)
    right.set_xlabel("batch")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
