"""The detectors of the lecture's learning-curve patterns, one function each.

Each takes the checked curves and the thresholds of `diagnose()` and returns
a `Finding` or `None`, or raises `_Skip` when the history lacks what it reads.
"""

import math
from collections.abc import Mapping

import keras
import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec.diagnosis.findings import _ADVICE, Finding

# The history keys that diagnose() reads; any other key is ignored.
_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate")

# After an LR drop, the loss must fall at most this fraction as fast per
# epoch as it did before the drop to count as "flat" (decayed_too_early).
_SLOWDOWN = 0.25


class _Skip(Exception):
    """A check that cannot run on this history; the message says why."""


def _curves(history):
    """The `_KEYS` curves of `history` as float arrays, checked."""
    if isinstance(history, keras.callbacks.History):
        data = history.history
    elif isinstance(history, Mapping):
        data = history
    else:
        raise ArgumentError(
            "Argument `history` must be a `keras.callbacks.History` or its "
            "`.history` dict of per-epoch lists. "
            f"Received: history={history!r}"
        )
    keys = sorted(str(k) for k in data)
    if "loss" not in data:
        raise ArgumentError(
            "Argument `history` must have the key 'loss' (the training loss "
            "per epoch), which every check needs. "
            f"Received: history with keys {keys}"
        )
    curves = {}
    for key in _KEYS:
        if key not in data:
            continue
        try:
            values = np.asarray(data[key], dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is None or values.ndim != 1:
            raise ArgumentError(
                f"Argument `history` must map {key!r} to a list of numbers, "
                f"one per epoch. Received: history[{key!r}]={data[key]!r}"
            )
        curves[key] = values
    lengths = {key: len(values) for key, values in curves.items()}
    if len(set(lengths.values())) > 1:
        raise ArgumentError(
            "Argument `history` must have one value per epoch in every "
            f"curve, the same number in each. Received lengths: {lengths}"
        )
    if lengths["loss"] == 0:
        raise ArgumentError(
            "Argument `history` must have at least one epoch. "
            f"Received: history with 0 epochs (keys {keys})"
        )
    return curves


# ---------------------------------------------------------------------------
# Curve helpers.


def _smooth(values):
    """Running median of 3 (of 2 at the ends): removes single-epoch spikes."""
    n = len(values)
    return np.array(
        [np.median(values[max(0, i - 1) : i + 2]) for i in range(n)]
    )


def _end(values):
    """The level at the end of a curve: the median of its last 3 values."""
    return float(np.median(values[-3:]))


def _trend(values):
    """Least-squares slope per epoch and its standard error."""
    w = len(values)
    x = np.arange(w, dtype=float)
    x -= x.mean()
    slope = float(np.dot(x, values - values.mean()) / np.dot(x, x))
    if w < 3:
        return slope, 0.0
    residuals = values - values.mean() - slope * x
    se = math.sqrt(float(np.dot(residuals, residuals)) / (w - 2) / np.dot(x, x))
    return slope, se


def _improving(values, tolerance):
    """Whether a lower-is-better curve is clearly still falling.

    The fitted line falls by at least `tolerance` of the curve's mean level
    across the window, and its slope is at least twice its standard error.
    """
    level = float(np.mean(values))
    if level <= 0:
        return False
    slope, se = _trend(values)
    drop = -slope * (len(values) - 1)
    return drop >= tolerance * level and -slope >= 2 * se


def _lr_drops(lr, factor):
    """Indices `d` where `lr[d] <= lr[d - 1] / factor`."""
    return [
        d
        for d in range(1, len(lr))
        if lr[d - 1] > 0 and lr[d] * factor <= lr[d - 1]
    ]


def _g(value):
    return f"{value:.3g}"


# ---------------------------------------------------------------------------
# The detectors. Each gets the curves (cut before any divergence) and the
# thresholds, and returns a Finding, None (pattern absent) or raises _Skip.


def _positive_loss(c):
    loss = c["loss"]
    if not loss[0] > 0:
        raise _Skip(f"needs a positive initial loss (got {_g(loss[0])})")
    return loss, float(loss[0])


def _bad_initialization(c, p):
    loss, initial = _positive_loss(c)
    n = len(loss)
    if n < p["flat_epochs"] + 1:
        raise _Skip(f"needs at least flat_epochs + 1 = {p['flat_epochs'] + 1} epochs")
    tol = p["flat_tolerance"] * initial
    flat = 0
    while flat < n and abs(loss[flat] - initial) <= tol:
        flat += 1
    if flat < p["flat_epochs"] or flat == n:
        return None
    after = loss[flat:]
    lowest = float(after.min())
    if lowest > (1 - p["drop"]) * initial:
        return None
    low_epoch = flat + int(after.argmin()) + 1
    evidence = (
        f"the loss stayed within {p['flat_tolerance']:.0%} of its initial "
        f"{_g(initial)} for the first {flat} epochs, then dropped: "
        f"{_g(loss[flat])} at epoch {flat + 1}, {_g(lowest)} at epoch "
        f"{low_epoch}"
    )
    data = {
        "initial_loss": initial,
        "flat_epochs": flat,
        "drop_epoch": flat + 1,
        "loss_at_drop": float(loss[flat]),
        "lowest_loss": lowest,
        "lowest_loss_epoch": low_epoch,
    }
    return Finding("bad_initialization", evidence, _ADVICE["bad_initialization"], data)


def _lr_too_high(c, p):
    loss, initial = _positive_loss(c)
    n = len(loss)
    if n < p["flat_epochs"] + 2:
        raise _Skip(f"needs at least flat_epochs + 2 = {p['flat_epochs'] + 2} epochs")
    tol = p["flat_tolerance"] * initial
    level = _end(loss)
    if initial - level <= tol:
        return None  # The loss never fell: not this pattern.
    reached = np.flatnonzero(_smooth(loss) - level <= tol)
    if not len(reached):
        return None
    plateau = int(reached[0])
    if plateau > (n - 1) / 2 or n - plateau < p["flat_epochs"]:
        return None  # Still improving in the second half: no early plateau.
    if _improving(loss[plateau:], p["flat_tolerance"]):
        return None  # Slowly but clearly still falling: not a plateau.
    if "learning_rate" in c and any(
        d <= plateau + 1 for d in _lr_drops(c["learning_rate"], p["lr_drop_factor"])
    ):
        return None  # The plateau follows a decay: see decayed_too_early.
    data = {
        "initial_loss": initial,
        "plateau_epoch": plateau + 1,
        "plateau_loss": level,
        "plateau_to_initial": level / initial,
    }
    if "accuracy" in c:
        accuracy = _end(c["accuracy"])
        low = p["target_accuracy"] - p["accuracy_shortfall"]
        if accuracy >= low:
            return None
        data["train_accuracy"] = accuracy
        why = (
            f"training accuracy {_g(accuracy)}, below {_g(low)} "
            f"(target_accuracy {_g(p['target_accuracy'])} - accuracy_shortfall "
            f"{_g(p['accuracy_shortfall'])})"
        )
    else:
        if level < p["high_loss"] * initial:
            return None
        why = (
            f"{level / initial:.0%} of the initial loss (high_loss "
            f"{p['high_loss']:.0%})"
        )
    evidence = (
        f"the loss fell from {_g(initial)} but stopped improving by epoch "
        f"{plateau + 1} of {n}, at {_g(level)}: {why}"
    )
    return Finding("lr_too_high", evidence, _ADVICE["lr_too_high"], data)


def _decayed_too_early(c, p):
    if "learning_rate" not in c:
        raise _Skip(
            "needs 'learning_rate' in the history: add "
            "kerasrec.callbacks.LearningRateLogger"
        )
    loss, _ = _positive_loss(c)
    lr = c["learning_rate"]
    n = len(loss)
    factor = p["lr_drop_factor"]
    min_tail = max(p["flat_epochs"], math.ceil(n / 4))
    for d in _lr_drops(lr, factor):
        if d < 2:
            continue  # Needs two epochs before the drop to see the trend.
        # The LR stays low until it changes again by `factor` either way.
        end = next(
            (
                j
                for j in range(d + 1, n)
                if lr[j] * factor <= lr[j - 1] or lr[j] >= lr[j - 1] * factor
            ),
            n,
        )
        before = d - 1
        start = max(0, before - p["flat_epochs"] + 1)
        rate_before = (loss[start] - loss[before]) / (before - start)
        if rate_before < p["flat_tolerance"] * loss[before]:
            continue  # Had already flattened at the high LR: a good time.
        # With LearningRateLogger the logged LR is the one of the next
        # update, so the step can show one epoch later.
        candidates = range(d, min(d + 2, end))
        stepped = min(candidates, key=lambda i: loss[i])
        step = loss[before] - loss[stepped]
        if step < p["flat_tolerance"] * loss[before]:
            continue
        tail = loss[stepped:end]
        if len(tail) < min_tail:
            continue
        rate_after = max(0.0, (tail[0] - _end(tail)) / (len(tail) - 1))
        if rate_after > _SLOWDOWN * rate_before:
            continue
        data = {
            "decay_epoch": d + 1,
            "lr_before": float(lr[d - 1]),
            "lr_after": float(lr[d]),
            "loss_before": float(loss[before]),
            "loss_after": float(loss[stepped]),
            "loss_end": _end(tail),
            "loss_rate_before": float(rate_before),
            "loss_rate_after": float(rate_after),
            "flat_epochs": len(tail),
        }
        evidence = (
            f"the learning rate fell {_g(lr[d - 1])} -> {_g(lr[d])} between "
            f"epochs {d} and {d + 1} while the loss was still falling "
            f"{_g(rate_before)} per epoch; the loss stepped down "
            f"{_g(loss[before])} -> {_g(loss[stepped])} (epoch {stepped + 1}), "
            f"then fell only {_g(rate_after)} per epoch over the last "
            f"{len(tail)} epochs with the learning rate low (to "
            f"{_g(_end(tail))})"
        )
        return Finding("decayed_too_early", evidence, _ADVICE["decayed_too_early"], data)
    return None


def _train_longer(c, p):
    n = len(c["loss"])
    if "accuracy" in c and "val_accuracy" in c:
        kind, train, val = "accuracy", c["accuracy"], c["val_accuracy"]
    elif "val_loss" in c:
        kind, train, val = "loss", c["loss"], c["val_loss"]
    else:
        raise _Skip("needs 'val_accuracy' and 'accuracy', or 'val_loss'")
    window = p["window"] or max(3, n // 4)
    if n < window:
        raise _Skip(f"needs at least window = {window} epochs")
    # Accuracy is judged as the error rate, 1 - accuracy: lower is better.
    error = (lambda v: 1.0 - v) if kind == "accuracy" else (lambda v: v)
    tol = p["flat_tolerance"]
    if not (
        _improving(error(train[-window:]), tol)
        and _improving(error(val[-window:]), tol)
    ):
        return None
    first = n - window
    data = {"window": window, "metric": kind}
    text = []
    for prefix, values in (("", train), ("val_", val)):
        data[f"{prefix}{kind}_start"] = float(values[first])
        data[f"{prefix}{kind}_end"] = float(values[-1])
        name = ("val " if prefix else "train ") + kind
        text.append(f"{name} {_g(values[first])} -> {_g(values[-1])}")
    if kind == "accuracy":
        gap = _end(train) - _end(val)
        if gap >= p["gap"]:
            return None  # A big gap: that is overfitting, not this.
        data["gap"] = gap
        text.append(f"gap {_g(gap)}")
    evidence = (
        f"still improving over the last {window} epochs ({first + 1}-{n}): "
        + ", ".join(text)
    )
    return Finding("train_longer", evidence, _ADVICE["train_longer"], data)


def _overfitting(c, p):
    has_accuracy = "accuracy" in c and "val_accuracy" in c
    has_val_loss = "val_loss" in c
    if not (has_accuracy or has_val_loss):
        raise _Skip("needs 'val_accuracy' and 'accuracy', or 'val_loss'")
    n = len(c["loss"])
    data, reasons = {}, []
    if has_accuracy:
        train, val = _end(c["accuracy"]), _end(c["val_accuracy"])
        best = int(np.argmax(c["val_accuracy"]))
        data.update(
            train_accuracy=train,
            val_accuracy=val,
            gap=train - val,
            best_val_epoch=best + 1,
            best_val_accuracy=float(c["val_accuracy"][best]),
        )
        if train - val >= p["gap"]:
            reasons.append(
                f"train accuracy {_g(train)} vs val accuracy {_g(val)} at the "
                f"end: a gap of {_g(train - val)} (>= gap {_g(p['gap'])})"
            )
    if has_val_loss and n >= 3:
        val_loss = c["val_loss"]
        lowest = int(np.argmin(val_loss))
        end = _end(val_loss)
        data.update(
            min_val_loss=float(val_loss[lowest]),
            min_val_loss_epoch=lowest + 1,
            val_loss_end=end,
        )
        if val_loss[lowest] > 0 and lowest < n - 1:
            rise = end / val_loss[lowest] - 1
            data["val_loss_rise"] = rise
            train_loss = c["loss"]
            if rise >= p["val_loss_rise"] and _end(train_loss) < train_loss[lowest]:
                reasons.append(
                    f"val loss rose {rise:.0%} from its minimum "
                    f"{_g(val_loss[lowest])} at epoch {lowest + 1} to "
                    f"{_g(end)} while the train loss fell "
                    f"{_g(train_loss[lowest])} -> {_g(_end(train_loss))}"
                )
    if not reasons:
        return None
    data.setdefault("best_val_epoch", data.get("min_val_loss_epoch"))
    peak = f"validation peaked at epoch {data['best_val_epoch']}"
    details = []
    if has_accuracy:
        details.append(f"val accuracy {_g(data['best_val_accuracy'])}")
    if "min_val_loss" in data:
        details.append(
            f"val loss lowest at epoch {data['min_val_loss_epoch']}: "
            f"{_g(data['min_val_loss'])}"
        )
    if details:
        peak += " (" + "; ".join(details) + ")"
    evidence = "; ".join(reasons) + f"; {peak}"
    advice = _ADVICE["overfitting"] + f" Here {peak}."
    return Finding("overfitting", evidence, advice, data)


def _underfitting(c, p):
    loss = c["loss"]
    n = len(loss)
    if "accuracy" in c:
        train = _end(c["accuracy"])
        low = p["target_accuracy"] - p["accuracy_shortfall"]
        if train >= low:
            return None
        data = {"train_accuracy": train, "low_accuracy": low}
        evidence = (
            f"training accuracy {_g(train)} is low: below {_g(low)} "
            f"(target_accuracy {_g(p['target_accuracy'])} - "
            f"accuracy_shortfall {_g(p['accuracy_shortfall'])})"
        )
        if "val_accuracy" in c:
            val = _end(c["val_accuracy"])
            if train - val >= p["gap"]:
                return None  # A big gap: overfitting, not "no gap".
            data.update(val_accuracy=val, gap=train - val)
            evidence += f", with val accuracy {_g(val)} close to it (gap {_g(train - val)})"
        return Finding("underfitting", evidence, _ADVICE["underfitting"], data)
    # Without accuracy, only a loss that never left its initial value shows it.
    initial = float(loss[0])
    if n < p["flat_epochs"] or not initial > 0:
        return None
    if np.all(np.abs(loss - initial) <= p["flat_tolerance"] * initial):
        evidence = (
            f"the loss never left its initial value {_g(initial)} "
            f"(within {p['flat_tolerance']:.0%}) in {n} epochs"
        )
        advice = (
            _ADVICE["underfitting"] + " A loss that never moves usually means "
            "a learning rate or initialization problem: check that a small "
            "sample can be overfit (lecture step 2)."
        )
        return Finding(
            "underfitting", evidence, advice, {"initial_loss": initial, "epochs": n}
        )
    return None


def _diverged(c, p):
    """Finds the first epoch of divergence in the whole history, or None."""
    loss = c["loss"]
    events = []
    for key in ("loss", "val_loss"):
        if key in c:
            bad = np.flatnonzero(~np.isfinite(c[key]))
            if len(bad):
                events.append((int(bad[0]), key, "not finite"))
    if math.isfinite(loss[0]) and loss[0] > 0:
        factor = p["explode_factor"]
        for i in range(1, len(loss)):
            if not math.isfinite(loss[i]):
                break
            if loss[i] > factor * loss[0]:
                events.append(
                    (i, "loss", f"more than {_g(factor)}x the initial loss {_g(loss[0])}")
                )
                break
            if loss[i] > loss[0] and loss[:i].min() * factor < loss[0]:
                events.append(
                    (
                        i,
                        "loss",
                        f"back above the initial loss {_g(loss[0])} after "
                        f"falling to {_g(loss[:i].min())}",
                    )
                )
                break
    if not events:
        return None
    index, key, why = min(events, key=lambda e: (e[0], e[1] != "loss"))
    value = float(c[key][index])
    if math.isfinite(value):
        evidence = f"{key} {_g(value)} at epoch {index + 1}: {why}"
    else:
        evidence = (
            f"{key} became {value} at epoch {index + 1} (initial loss "
            f"{_g(loss[0])})"
        )
    data = {"epoch": index + 1, "key": key, "value": value, "initial_loss": float(loss[0])}
    advice = _ADVICE["diverged"] + f" It diverged at epoch {index + 1}."
    return Finding("diverged", evidence, advice, data)


_CHECKS = (
    ("bad_initialization", _bad_initialization),
    ("lr_too_high", _lr_too_high),
    ("decayed_too_early", _decayed_too_early),
    ("train_longer", _train_longer),
    ("overfitting", _overfitting),
    ("underfitting", _underfitting),
)
