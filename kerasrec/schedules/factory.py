"""`get`: schedules by name with an optional warmup; epochs to steps; the settable-LR check."""

import math

import keras

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_range
from kerasrec.schedules.decays import (
    Constant,
    InverseSqrtDecay,
    LinearDecay,
    StepDecay,
    _check_list,
    _is_number,
)
from kerasrec.schedules.warmup import Warmup

__all__ = ["NAMES", "check_settable_learning_rate", "epochs_to_steps", "get"]

_OPTIONS = {
    "constant": (),
    "step": ("milestones", "factor"),
    "cosine": ("alpha",),
    "linear": ("end_learning_rate",),
    "inverse_sqrt": ("timescale",),
    "cosine_restarts": ("cycles", "alpha"),
}


def get(name, *, learning_rate, total_steps, warmup_steps=0, **options):
    """Builds a learning-rate schedule by name, with an optional warmup.

    The decay spans the `total_steps - warmup_steps` steps after the warmup.
    With `warmup_steps > 0` the result is `Warmup(decay, warmup_steps)`, which
    rises linearly from 0 to `learning_rate`; otherwise it is the bare decay.
    The names and their options:

    ```python
    span = total_steps - warmup_steps
    "constant":        Constant(learning_rate)
    "step":            StepDecay(learning_rate,
                                 [round(m * span) for m in milestones], factor)
    "cosine":          CosineDecay(learning_rate, span, alpha=alpha)
    "linear":          LinearDecay(learning_rate, span, end_learning_rate)
    "inverse_sqrt":    InverseSqrtDecay(learning_rate, timescale)
    "cosine_restarts": CosineDecayRestarts(learning_rate, span // cycles,
                                           t_mul=1.0, m_mul=1.0, alpha=alpha)
    ```

    Past `total_steps`, "cosine" and "linear" hold their last value, "step"
    and "inverse_sqrt" go on with their formula and "cosine_restarts" goes on
    cycling (`cycles` must divide `span`, so its last cycle ends at
    `total_steps`).

    The result is a schedule, so the optimizer's learning rate is not
    settable: Keras raises `TypeError` ("not settable") at
    `optimizer.learning_rate = x`, and so do
    `keras.callbacks.LearningRateScheduler` and
    `keras.callbacks.ReduceLROnPlateau`. Do not combine them; see
    `check_settable_learning_rate()`.

    Args:
        name: One of `"constant"`, `"step"`, `"cosine"`, `"linear"`,
            `"inverse_sqrt"`, `"cosine_restarts"`.
        learning_rate: Python float > 0. The peak learning rate: at the end of
            the warmup, or at step 0 without one.
        total_steps: Python int > 0. The length of training in optimizer
            steps, warmup included.
        warmup_steps: Python int >= 0, < `total_steps`. The number of linear
            warmup steps. Defaults to `0`.
        **options: Options of the named schedule. `"step"`: `milestones`, a
            strictly increasing list of fractions of the decay span in (0, 1),
            defaults to `[0.3, 0.6, 0.9]`, and `factor`, defaults to `0.1`.
            `"cosine"`: `alpha`, the final learning rate as a fraction of
            `learning_rate`, defaults to `0.0`. `"linear"`:
            `end_learning_rate`, defaults to `0.0`. `"inverse_sqrt"`:
            `timescale`, defaults to `warmup_steps`, or `1` without warmup.
            `"cosine_restarts"`: `cycles`, the number of equal cycles over the
            decay span (it must divide the span), defaults to `4`, and
            `alpha`, defaults to `0.0`.

    Returns:
        A `keras.optimizers.schedules.LearningRateSchedule`.

    Raises:
        ValueError: If `name` is unknown (the message lists the valid names),
            an option does not belong to `name` (the message lists the
            allowed ones) or an argument is out of range.

    Example:

    >>> schedule = get("cosine", learning_rate=0.1, total_steps=10_000,
    ...                warmup_steps=500)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """
    if name not in _OPTIONS:
        raise ArgumentError(
            f"Argument `name` must be one of {sorted(_OPTIONS)}. "
            f"Received: name={name!r}"
        )
    unknown = sorted(set(options) - set(_OPTIONS[name]))
    if unknown:
        raise ArgumentError(
            f"Unknown option(s) {unknown} for schedule {name!r}. Allowed "
            f"options for {name!r}: {list(_OPTIONS[name])}. "
            f"Received: {unknown[0]}={options[unknown[0]]!r}"
        )
    learning_rate = check_greater("learning_rate", learning_rate, 0)
    total_steps = check_int("total_steps", total_steps, 1)
    warmup_steps = check_int("warmup_steps", warmup_steps, 0)
    if warmup_steps >= total_steps:
        raise ArgumentError(
            "Argument `warmup_steps` must be < `total_steps`. "
            f"Received: warmup_steps={warmup_steps}, total_steps={total_steps}"
        )
    span = total_steps - warmup_steps

    if name == "constant":
        decay = Constant(learning_rate)
    elif name == "step":
        milestones = options.get("milestones", [0.3, 0.6, 0.9])
        milestones = _check_list(
            "milestones",
            milestones,
            lambda m: _is_number(m) and 0 < m < 1,
            "fractions in (0, 1)",
        )
        boundaries = [max(1, int(round(m * span))) for m in milestones]
        if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
            raise ArgumentError(
                "Argument `milestones` must be strictly increasing and far "
                "enough apart to give distinct steps over the decay span. "
                f"Received: milestones={milestones!r}, decay span={span} "
                f"(boundaries {boundaries})"
            )
        decay = StepDecay(
            learning_rate, boundaries, factor=options.get("factor", 0.1)
        )
    elif name == "cosine":
        decay = keras.optimizers.schedules.CosineDecay(
            learning_rate, span, alpha=_alpha(options)
        )
    elif name == "linear":
        decay = LinearDecay(
            learning_rate,
            span,
            end_learning_rate=options.get("end_learning_rate", 0.0),
        )
    elif name == "inverse_sqrt":
        timescale = options.get("timescale", warmup_steps or 1)
        decay = InverseSqrtDecay(learning_rate, timescale)
    else:  # "cosine_restarts"
        cycles = check_int("cycles", options.get("cycles", 4), 1)
        if cycles > span:
            raise ArgumentError(
                "Argument `cycles` must be <= the decay span "
                "`total_steps - warmup_steps`. "
                f"Received: cycles={cycles}, total_steps={total_steps}, "
                f"warmup_steps={warmup_steps}"
            )
        if span % cycles:
            raise ArgumentError(
                "Argument `cycles` must divide the decay span `total_steps - warmup_steps` "
                "(a last, partial cycle would end training at a high learning rate). "
                f"Received: cycles={cycles}, total_steps={total_steps}, "
                f"warmup_steps={warmup_steps} (decay span {span})"
            )
        decay = keras.optimizers.schedules.CosineDecayRestarts(
            learning_rate,
            span // cycles,
            t_mul=1.0,
            m_mul=1.0,
            alpha=_alpha(options),
        )
    if warmup_steps > 0:
        return Warmup(decay, warmup_steps)
    return decay


def _alpha(options):
    alpha = options.get("alpha", 0.0)
    return check_range("alpha", alpha, 0, 1, low_open=False, high_open=False)


def epochs_to_steps(epochs, steps_per_epoch):
    """Converts a number of epochs to a number of optimizer steps.

    Schedules count optimizer updates; recipes think in epochs. The result is
    computed as:

    ```python
    steps = round(epochs * steps_per_epoch)  # halves round up
    steps = max(steps, 1) if epochs > 0 else 0
    ```

    Args:
        epochs: Python int or float >= 0. A fraction of an epoch is allowed
            (`0.5` for half an epoch); `0` gives `0` (no warmup, say).
        steps_per_epoch: Python int > 0. Optimizer steps per epoch, for
            instance `math.ceil(num_examples / batch_size)`.

    Returns:
        A Python int: the number of steps, at least 1 when `epochs > 0`.

    Raises:
        ValueError: If `epochs` is negative or not a number, or
            `steps_per_epoch` is not an int > 0.

    Example:

    >>> epochs_to_steps(5, steps_per_epoch=390)
    1950
    >>> epochs_to_steps(0.5, steps_per_epoch=3)
    2
    """
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
    epochs = check_range("epochs", epochs, 0, low_open=False)
    if epochs == 0:
        return 0
    return max(1, int(math.floor(epochs * steps_per_epoch + 0.5)))


def check_settable_learning_rate(optimizer, user):
    """Checks that code can assign `optimizer.learning_rate`.

    Keras 3 lets callers assign `optimizer.learning_rate = x` only when the
    optimizer was built with a float learning rate (held in a variable). With
    a `LearningRateSchedule` it raises `TypeError` ("not settable"), which is
    what `keras.callbacks.ReduceLROnPlateau` (at the first plateau) and
    `keras.callbacks.LearningRateScheduler` (at the first epoch) run into.
    Call this before training to fail at once, with the culprit named. A
    `LossScaleOptimizer` is checked through its inner optimizer.

    Args:
        optimizer: A `keras.optimizers.Optimizer`.
        user: String. What wants to set the learning rate, named in the
            message, for instance `"ReduceLROnPlateau"`.

    Raises:
        ValueError: If the optimizer's learning rate is a schedule (or any
            other callable) and therefore not settable.

    Example:

    >>> optimizer = keras.optimizers.SGD(learning_rate=0.1)
    >>> check_settable_learning_rate(optimizer, "ReduceLROnPlateau")  # passes
    """
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:
        optimizer = inner
    held = getattr(optimizer, "_learning_rate", None)
    if held is None or isinstance(held, keras.Variable):
        return
    raise ArgumentError(
        f"{user} sets the optimizer's learning rate, but optimizer "
        f"{getattr(optimizer, 'name', optimizer)!r} holds the schedule "
        f"{type(held).__name__}, so its learning rate is not settable (Keras "
        "raises TypeError 'not settable'). Either drop the schedule and "
        f"give the optimizer a float `learning_rate`, or drop {user}."
    )

# The names `get` knows, in its documented order.
NAMES = tuple(_OPTIONS)
