"""Plots for recipes and procedures (never imported by training pieces).

Matplotlib with the non-interactive Agg backend, so plotting works on a
machine with no display; every function writes a PNG and returns its path.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
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
        raise ValueError(
            f"Argument `total_steps` must be a positive integer. Received: total_steps={total_steps!r}"
        )
    if not isinstance(schedules, dict) or not schedules:
        raise ValueError(
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
        raise ValueError(
            "Argument `histories` must be a non-empty dict {label: history}. "
            f"Received: histories={histories!r}"
        )
    keys = list(keys)
    if not keys:
        raise ValueError(
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
