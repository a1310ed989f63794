"""Plots for recipes and procedures (never imported by training pieces).

Matplotlib with the non-interactive Agg backend, so plotting works on a
machine with no display; every function writes a PNG and returns its path.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from kerasrec._checks import ArgumentError
from kerasrec._io import replacing  # noqa: E402


def _save(fig, path):
    """Writes `fig` to `path` through a unique temporary file, then closes it."""
    fig.tight_layout()
    try:
        with replacing(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path


def plot_history(history, path, *, title=None):
    """Learning curves: loss, and accuracy and learning rate where logged.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict.
        path: where to write the PNG.
        title: figure title. Defaults to `None`.

    Returns:
        `path`.
    """
    history = getattr(history, "history", history)
    panels = [("loss", "loss")]
    if "accuracy" in history or "val_accuracy" in history:
        panels.append(("accuracy", "accuracy"))
    if "learning_rate" in history:
        panels.append(("learning_rate", "learning rate"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                epochs = range(1, len(values) + 1)
                name = "validation" if prefix else ("train" if key != "learning_rate" else "lr")
                ax.plot(epochs, values, style, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if key != "learning_rate":
            ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_schedules(schedules, total_steps, path, *, title="Learning-rate schedules"):
    """The lecture's comparison figure: learning rate against step.

    Args:
        schedules: a dict `{label: schedule}` of `LearningRateSchedule`s,
            floats or callables of the step.
        total_steps: steps to draw (the x axis runs from 0 to it).
        path: where to write the PNG.
        title: figure title. Defaults to `"Learning-rate schedules"`.

    Returns:
        `path`.

    Example:

    >>> plot_schedules({"cosine": keras.optimizers.schedules.CosineDecay(0.1, 1000)},
    ...                1000, "schedules.png")
    """
    import numpy as np

    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
        raise ArgumentError(
            f"Argument `total_steps` must be a positive integer. Received: total_steps={total_steps!r}"
        )
    if not isinstance(schedules, dict) or not schedules:
        raise ArgumentError(
            "Argument `schedules` must be a non-empty dict {label: schedule}. "
            f"Received: schedules={schedules!r}"
        )
    steps = np.unique(np.linspace(0, total_steps, num=min(total_steps + 1, 400)).astype(int))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, schedule in schedules.items():
        if callable(schedule):
            values = [float(schedule(int(s))) for s in steps]
        else:
            values = [float(schedule)] * len(steps)
        ax.plot(steps, values, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_trials(table, path, *, x="learning_rate", y="weight_decay", score="score",
                curve=None, direction=None, title=None):
    """A search's trials: where they lie in two hyperparameters, and their curves.

    Left panel: every trial at its `(x, y)` hyperparameter values, coloured
    by its score (the better, the brighter), the best one starred; trials
    without a score (running, failed) are grey crosses. An axis is
    logarithmic when all its values are positive, as learning rates and
    weight decays are searched. With `y=None` the panel is the score
    against `x`. Right panel: the per-epoch `curve` of every trial, in the
    same colours, to tell a trial that was still improving from one that had
    converged or diverged.

    Args:
        table: the trial table, `tuner.trials_table()` (a list of dicts with
            `hyperparameters`, `score`, `metrics`, `history`), or the dict
            that `trials.json` holds (`{"objective", "direction",
            "trials"}`).
        path: where to write the PNG.
        x: the hyperparameter on the x axis. Defaults to `"learning_rate"`.
        y: the hyperparameter on the y axis, or `None`. Defaults to
            `"weight_decay"`.
        score: what colours the trials: `"score"` (the tuner's objective at
            the best epoch) or a name in each row's `metrics`. Defaults to
            `"score"`.
        curve: the history key of the right panel. Defaults to `None`: the
            table's objective when it is a dict naming one, else the first of
            `val_accuracy`, `val_loss`, `accuracy`, `loss` that is logged.
        direction: `"min"` or `"max"`, whether a lower or higher score is
            better. Defaults to `None`: the table's direction when it is a
            dict and `score="score"`, else no best trial is marked.
        title: figure title. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: `table` holds no trial, no trial has the hyperparameter
            `x` (or `y`), or `direction` is not `"min"`, `"max"` or `None`.

    Example:

    >>> plot_trials(json.load(open("runs/grid/trials.json")), "trials.png")
    """
    import numpy as np
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    rows = table.get("trials") if isinstance(table, dict) else table
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ArgumentError(
            "Argument `table` must be a non-empty trial table (a list of trial dicts, or a "
            f"dict with 'trials'). Received: table={table!r}"
        )
    if direction is None and isinstance(table, dict) and score == "score":
        direction = table.get("direction")
    if direction not in (None, "min", "max"):
        raise ArgumentError(
            f"Argument `direction` must be 'min', 'max' or None. Received: direction={direction!r}"
        )
    for name, value in (("x", x), ("y", y)):
        if value is not None and not any(value in r.get("hyperparameters", {}) for r in rows):
            names = sorted({n for r in rows for n in r.get("hyperparameters", {})})
            raise ArgumentError(
                f"Argument `{name}` must be a hyperparameter of the trials, one of {names}. "
                f"Received: {name}={value!r}"
            )

    def number(value):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return np.nan
        return value if np.isfinite(value) else np.nan

    def score_of(row):
        value = row.get("score") if score == "score" else row.get("metrics", {}).get(score)
        return number(value)

    scores = np.array([score_of(r) for r in rows])
    xs = np.array([number(r.get("hyperparameters", {}).get(x)) for r in rows])
    ys = (np.array([number(r.get("hyperparameters", {}).get(y)) for r in rows])
          if y is not None else scores)
    scored = np.isfinite(scores)
    cmap = plt.get_cmap("viridis_r" if direction == "min" else "viridis")
    low, high = (np.min(scores[scored]), np.max(scores[scored])) if scored.any() else (0.0, 1.0)
    norm = Normalize(vmin=low, vmax=high if high > low else low + 1e-12)

    def colour(s):
        return cmap(norm(s)) if np.isfinite(s) else (0.6, 0.6, 0.6, 1.0)

    if curve is None:
        objective = table.get("objective") if isinstance(table, dict) else None
        candidates = ([objective] if isinstance(objective, str) else []) + [
            "val_accuracy", "val_loss", "accuracy", "loss"]
        curve = next((c for c in candidates if any(r.get("history", {}).get(c) for r in rows)),
                     candidates[0] if candidates else "loss")

    fig, (ax, ax_curves) = plt.subplots(1, 2, figsize=(10.4, 4.0))
    points = ax.scatter(xs[scored], ys[scored], c=scores[scored], cmap=cmap, norm=norm,
                        s=60, edgecolors="black", linewidths=0.5)
    if (~scored).any() and y is not None:
        ax.scatter(xs[~scored], ys[~scored], marker="x", color="grey", label="no score")
    if direction is not None and scored.any():
        masked = np.where(scored, scores, np.nan)
        best = np.nanargmin(masked) if direction == "min" else np.nanargmax(masked)
        ax.scatter([xs[best]], [ys[best]], marker="*", s=260, facecolors="none",
                   edgecolors="red", linewidths=1.5, label="best")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
                  frameon=False)
    for values, set_scale in ((xs, ax.set_xscale), (ys, ax.set_yscale)):
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite > 0) and values is not scores:
            set_scale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y if y is not None else score)
    ax.grid(alpha=0.3, which="both")
    if scored.any():
        fig.colorbar(points, ax=ax, label=score)

    drawn = 0
    for row, s in zip(rows, scores):
        values = row.get("history", {}).get(curve)
        if not values:
            continue
        values = np.array([number(v) for v in values])
        ax_curves.plot(np.arange(1, len(values) + 1), values, color=colour(s), alpha=0.85)
        drawn += 1
    if not drawn:
        ax_curves.text(0.5, 0.5, f"no per-epoch {curve!r}", ha="center", va="center",
                       transform=ax_curves.transAxes)
    ax_curves.set_xlabel("epoch")
    ax_curves.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_curves.set_ylabel(curve.replace("_", " "))
    ax_curves.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_histories(histories, path, *, keys=("loss", "val_accuracy"), xlabel="epoch",
                   title=None, log_keys=(), ylims=None):
    """Compares runs: one panel per quantity, one line per run.

    Missing and non-finite values leave gaps, so a run whose loss became NaN
    stops where it diverged; on a logarithmic axis, so do zeros.

    Args:
        histories: a dict `{label: history}`; each history is a
            `keras.callbacks.History` or a dict `{key: list of floats}`.
        path: where to write the PNG.
        keys: the quantities to draw, one panel each, in this order. A run
            without a key is left out of that panel. Defaults to
            `("loss", "val_accuracy")`.
        xlabel: the x axis label; the x values are 1, 2, ... Defaults to
            `"epoch"`.
        title: figure title. Defaults to `None`.
        log_keys: the keys whose panel has a logarithmic y axis. Defaults to
            `()`.
        ylims: a dict `{key: (bottom, top)}` fixing the y range of those
            panels, e.g. to keep an exploding loss from flattening the
            others. Defaults to `None`.

    Returns:
        `path`.

    Raises:
        ValueError: `histories` is not a non-empty dict, or `keys` is empty.

    Example:

    >>> plot_histories({"constant": h1, "cosine": h2}, "compare.png",
    ...                keys=("val_accuracy", "loss"))
    """
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    if not isinstance(histories, dict) or not histories:
        raise ArgumentError(
            "Argument `histories` must be a non-empty dict {label: history}. "
            f"Received: histories={histories!r}"
        )
    keys = list(keys)
    if not keys:
        raise ArgumentError(
            f"Argument `keys` must name at least one quantity. Received: keys={keys!r}"
        )
    ylims = ylims or {}
    fig, axes = plt.subplots(1, len(keys), figsize=(5.0 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, history in histories.items():
            history = getattr(history, "history", history)
            values = history.get(key)
            if not values:
                continue
            values = np.asarray([np.nan if v is None else float(v) for v in values], dtype=float)
            values[~np.isfinite(values)] = np.nan
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(key.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if key in log_keys:
            ax.set_yscale("log", nonpositive="mask")
        if key in ylims:
            ax.set_ylim(*ylims[key])
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_lr_range_test(learning_rates, losses, smoothed_losses, path, *,
                       suggested_learning_rate=None, marks=None, title="LR range test"):
    """The learning-rate range test: loss against learning rate, log x axis.

    Draws the loss of every batch (faint) and its smoothed curve, with a
    vertical line at the suggested learning rate and at any other learning
    rate in `marks`. The y axis runs from just below the lowest loss to a
    little above the first smoothed loss, so the diverging tail leaves the
    top of the plot instead of flattening the rest; non-finite losses leave
    gaps.

    Args:
        learning_rates: The learning rate of each batch (`LRFinder.learning_rates`).
        losses: The loss of each batch, of the same length.
        smoothed_losses: The smoothed loss of each batch, of the same length.
        path: Where to write the PNG.
        suggested_learning_rate: The learning rate to mark as the suggestion,
            or `None`. Defaults to `None`.
        marks: A dict `{label: learning_rate}` of more learning rates to mark
            (e.g. the best one of a sweep), or `None`. Defaults to `None`.
        title: Figure title. Defaults to `"LR range test"`.

    Returns:
        `path`.

    Raises:
        ValueError: The three sequences are empty or differ in length, or a
            learning rate is not > 0.

    Example:

    >>> finder = kerasrec.callbacks.LRFinder()
    >>> model.fit(train.repeat(), epochs=1, steps_per_epoch=100, callbacks=[finder])
    >>> plot_lr_range_test(finder.learning_rates, finder.losses,
    ...                    finder.smoothed_losses, "lr_range_test.png",
    ...                    suggested_learning_rate=finder.suggestion())
    """
    import numpy as np

    lrs = np.asarray(learning_rates, dtype=float)
    raw = np.asarray(losses, dtype=float)
    smooth = np.asarray(smoothed_losses, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0 or raw.shape != lrs.shape or smooth.shape != lrs.shape:
        raise ArgumentError(
            "Arguments `learning_rates`, `losses` and `smoothed_losses` must be "
            "non-empty sequences of the same length. Received: lengths "
            f"{lrs.size}, {raw.size}, {smooth.size}"
        )
    marks = dict(marks or {})
    if suggested_learning_rate is not None:
        marks = {f"suggested {suggested_learning_rate:.3g}": suggested_learning_rate, **marks}
    values = np.concatenate([lrs, np.asarray(list(marks.values()), dtype=float)])
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ArgumentError(
            "Arguments `learning_rates`, `suggested_learning_rate` and `marks` must hold "
            f"finite learning rates > 0. Received: learning_rates={learning_rates!r}, "
            f"suggested_learning_rate={suggested_learning_rate!r}, marks={marks!r}"
        )
    raw[~np.isfinite(raw)] = np.nan
    smooth[~np.isfinite(smooth)] = np.nan
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(lrs, raw, "-", color="tab:blue", alpha=0.3, lw=0.8, label="batch loss")
    ax.plot(lrs, smooth, "-", color="tab:blue", lw=1.8, label="smoothed")
    colors = ("tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")
    for (label, lr), color in zip(marks.items(), colors * (len(marks) // len(colors) + 1)):
        ax.axvline(lr, color=color, ls="--", lw=1.2, label=label)
    ax.set_xscale("log")
    if np.any(np.isfinite(smooth)):
        low = float(np.nanmin(np.concatenate([raw, smooth])))
        high = float(np.nanmax(smooth[: max(1, len(smooth) // 10)]))
        if high > low:
            ax.set_ylim(low - 0.05 * (high - low), high + 0.25 * (high - low))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(fig, path)
