"""Where stopping rules stop: learning curves with each rule's stop and kept epoch.

The figure of early stopping compared on one run: the training and
validation curves of the whole budget, a vertical line where each rule
(`keras.callbacks.EarlyStopping`, `kerasrec.callbacks.PrecheltStopping`, ...)
stopped training and a marker on the epoch whose weights it kept, as
`kerasrec.callbacks.replay` finds them.
"""

import math
import numbers

import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec.plots._core import _save, plt

__all__ = ["plot_stops"]

# (colour, marker, marker size): larger markers first, so equal kept epochs
# stay visible as nested markers.
_STYLES = (
    ("tab:red", "o", 11),
    ("tab:green", "s", 9),
    ("tab:purple", "D", 7),
    ("tab:orange", "^", 5),
    ("tab:brown", "v", 4),
    ("black", "x", 4),
)


def _curves(history):
    history = getattr(history, "history", history)
    lengths = set()
    if isinstance(history, dict):
        lengths = {
            len(v) if isinstance(v, (list, tuple)) else -1 for v in history.values()
        }
    if len(lengths) != 1 or min(lengths) <= 0:
        raise ArgumentError(
            "Argument `history` must be a `keras.callbacks.History` or a dict of lists of "
            "one value per epoch, all of the same non-zero length. "
            f"Received: history of type {type(history).__name__}"
            + (f" with list lengths {sorted(lengths)}" if lengths else "")
        )
    curves = {
        key: np.array([math.nan if v is None else float(v) for v in values])
        for key, values in history.items()
    }
    return curves, lengths.pop()


def _epoch(name, value, epochs):
    ok = value is None or (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and 0 <= value < epochs
    )
    if not ok:
        raise ArgumentError(
            f"Argument `{name}` must be a 0-based epoch in [0, {epochs}) or None. "
            f"Received: {name}={value!r}"
        )
    return None if value is None else int(value)


def plot_stops(
    history, stops, path, *, best_epoch=None, keys=("loss", "accuracy"), title=None
):
    """Learning curves with where each stopping rule stops and which epoch it keeps.

    One panel per name in `keys`: the training curve (`history[key]`, solid)
    and the validation curve (`history["val_" + key]`, dashed), whichever are
    logged. For each rule of `stops`, in its own colour: a vertical line at
    the epoch after which it stopped training (none if it never stopped),
    and a marker on the validation curve (the training curve if there is
    none) at the epoch whose weights it kept; the legend, below the panels,
    says both. Markers shrink from rule to rule, so rules that keep the same
    epoch show as nested markers. `best_epoch`, if given, is a grey dotted
    line (e.g. the epoch of the best validation accuracy of the whole run).

    Epochs are 0-based, as `kerasrec.callbacks.replay` returns them and as
    Keras's callbacks count them; the x axis and the legend show them
    1-based, as `fit()` prints them. Missing values (`None`, as JSON gives a
    non-finite number back) leave gaps.

    Args:
        history: A `keras.callbacks.History` or its `.history` dict: lists of
            one value per epoch.
        stops: Non-empty dict `{label: (stopped_epoch, restored_epoch)}`,
            e.g. `{"EarlyStopping": replay(...)}` with `kerasrec.callbacks.
            ReplayResult`s; `stopped_epoch` is `None` for a rule that never
            stopped, `restored_epoch` `None` to draw no marker. At most 6
            rules.
        path: Where to write the PNG.
        best_epoch: 0-based epoch to mark with a dotted line, or `None`.
            Defaults to `None`.
        keys: Names of the quantities to draw, one panel each; each must
            be logged for training or validation. Defaults to
            `("loss", "accuracy")`.
        title: Figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: If `history` is not a history of at least one epoch,
            `stops` is empty, holds more than 6 rules or an entry that is
            not a pair of epochs within the history, `best_epoch` is not
            such an epoch, or a key of `keys` is not logged.

    Example:

    >>> keep = kerasrec.callbacks.EpochWeights()
    >>> history = model.fit(x, y, validation_data=val, epochs=100,
    ...                     callbacks=[keep])
    >>> stopper = keras.callbacks.EarlyStopping(patience=5,
    ...                                         restore_best_weights=True)
    >>> result = kerasrec.callbacks.replay(stopper, history, model=model,
    ...                                    weights=keep.weights)
    >>> plot_stops(history, {"EarlyStopping(patience=5)": result}, "stops.png")
    """
    curves, epochs = _curves(history)
    if not isinstance(stops, dict) or not 0 < len(stops) <= len(_STYLES):
        raise ArgumentError(
            f"Argument `stops` must be a dict of 1 to {len(_STYLES)} entries "
            f"{{label: (stopped_epoch, restored_epoch)}}. Received: stops={stops!r}"
        )
    checked = {}
    for label, pair in stops.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ArgumentError(
                "Argument `stops` must map each label to a pair (stopped_epoch, "
                f"restored_epoch). Received: stops[{label!r}]={pair!r}"
            )
        checked[label] = tuple(_epoch(f"stops[{label!r}]", e, epochs) for e in pair)
    best_epoch = _epoch("best_epoch", best_epoch, epochs)
    keys = tuple(keys)
    missing = [k for k in keys if k not in curves and f"val_{k}" not in curves]
    if not keys or missing:
        raise ArgumentError(
            "Argument `keys` must name quantities logged in `history` (for training or "
            f"validation). Received: keys={keys!r}; logged: {sorted(curves)}"
        )

    x = np.arange(1, epochs + 1)
    rows = math.ceil((2 + (best_epoch is not None) + len(checked)) / 2)  # legend rows
    fig = plt.figure(figsize=(5.5 * len(keys), 3.8 + 0.22 * rows))
    grid = fig.add_gridspec(2, len(keys), height_ratios=(3.8, 0.1 + 0.22 * rows))
    axes = [fig.add_subplot(grid[0, i]) for i in range(len(keys))]
    legend_ax = fig.add_subplot(grid[1, :])
    legend_ax.axis("off")
    for index, (ax, key) in enumerate(zip(axes, keys)):
        labelled = index == 0  # one legend for all panels
        for name, style, text in (
            (key, "-", "train"),
            (f"val_{key}", "--", "validation"),
        ):
            if name in curves:
                ax.plot(x, curves[name], style, color="tab:blue", label=text)
        if best_epoch is not None:
            ax.axvline(
                best_epoch + 1,
                color="grey",
                lw=1,
                ls=":",
                label=f"best epoch ({best_epoch + 1})" if labelled else None,
            )
        marked = curves.get(f"val_{key}", curves.get(key))
        for (label, (stopped, restored)), (color, marker, size) in zip(
            checked.items(), _STYLES
        ):
            where = "never stops" if stopped is None else f"stops at {stopped + 1}"
            kept = "" if restored is None else f", keeps {restored + 1}"
            text = f"{label}: {where}{kept}" if labelled else None
            if restored is not None:
                ax.plot(
                    restored + 1,
                    marked[restored],
                    marker,
                    color=color,
                    ms=size,
                    label=text,
                )
                text = None
            if stopped is not None:
                ax.axvline(stopped + 1, color=color, lw=1.2, label=text)
            elif text is not None:  # neither a line nor a marker: a legend entry only
                ax.plot([], [], marker, color=color, ms=size, label=text)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    legend_ax.legend(handles, labels, loc="center", ncol=2, fontsize=7.5, frameon=False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
