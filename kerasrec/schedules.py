"""Learning-rate schedules: step, linear, inverse square root, constant, warmup.

Every schedule is a `keras.optimizers.schedules.LearningRateSchedule`: pass it
as the `learning_rate` of any Keras optimizer. `step` is the number of
optimizer updates done so far (`optimizer.iterations`), not the epoch; use
`epochs_to_steps()` to convert. Cosine decay, with or without restarts, is
Keras's own `keras.optimizers.schedules.CosineDecay` and `CosineDecayRestarts`;
`get()` builds any of them by name, with an optional linear warmup
(`Warmup`), the way timm's `create_scheduler_v2` does.

The schedules only use `keras.ops`, so they run eagerly, under
`jit_compile=True` and under `tf.distribute`; every class is registered with
`keras.saving`, so a model compiled with one saves to `.keras` and loads in a
fresh process without `custom_objects` (once `kerasrec.schedules` is
imported).

A schedule and a settable learning rate exclude each other. With a schedule in
the optimizer, Keras 3 refuses `optimizer.learning_rate = x` with
`TypeError: This optimizer was created with a LearningRateSchedule object ...
hence its learning rate is not settable`, so the callbacks that set the
learning rate, `keras.callbacks.LearningRateScheduler` (at the first epoch)
and `keras.callbacks.ReduceLROnPlateau` (only at the first plateau, possibly
hours into training), fail with that `TypeError`. Call
`check_settable_learning_rate(optimizer, "ReduceLROnPlateau")` before training
to fail at once with a clear message, or use a float learning rate with those
callbacks.
"""

import math
import numbers

import keras
from keras import ops

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_range

__all__ = [
    "Constant",
    "InverseSqrtDecay",
    "LinearDecay",
    "StepDecay",
    "Warmup",
    "check_settable_learning_rate",
    "epochs_to_steps",
    "get",
]

_PACKAGE = "kerasrec"
_LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


# ---------------------------------------------------------------------------
# Argument checks (the Keras message template).


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_list(name, value, is_valid, what):
    """`value` as a non-empty list whose items all pass `is_valid`."""
    items = None
    if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__"):
        items = list(value)
    if not items or not all(is_valid(v) for v in items):
        raise ArgumentError(
            f"Argument `{name}` must be a non-empty list of {what}. "
            f"Received: {name}={value!r}"
        )
    return items


# ---------------------------------------------------------------------------
# Schedules.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Multiplies the learning rate by `factor` at each boundary step.

    The ResNet schedule (x0.1 at epochs 30, 60 and 90) with the boundaries in
    optimizer steps. The schedule is computed as:

    ```python
    def decayed_learning_rate(step):
        passed = sum(1 for b in boundaries if b <= step)
        return initial_learning_rate * factor**passed
    ```

    Args:
        initial_learning_rate: Python float > 0. The learning rate before the
            first boundary.
        boundaries: List of strictly increasing Python ints > 0. The steps at
            which the learning rate is multiplied by `factor`.
        factor: Python float in (0, 1]. The multiplier applied at every
            boundary. Defaults to `0.1`.

    Returns:
        A 1-arg callable that takes the optimizer step and returns the
        learning rate, a scalar float tensor.

    Raises:
        ValueError: If an argument is out of range or `boundaries` is not
            strictly increasing.

    Example:

    >>> schedule = StepDecay(0.1, boundaries=[300, 600, 900], factor=0.1)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """

    def __init__(self, initial_learning_rate, boundaries, factor=0.1):
        super().__init__()
        self.initial_learning_rate = check_greater(
            "initial_learning_rate", initial_learning_rate, 0
        )
        boundaries = _check_list(
            "boundaries", boundaries, lambda b: _is_int(b) and b > 0, "ints > 0"
        )
        if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
            raise ArgumentError(
                "Argument `boundaries` must be strictly increasing (sorted, "
                f"no duplicates). Received: boundaries={boundaries!r}"
            )
        self.boundaries = [int(b) for b in boundaries]
        self.factor = check_range("factor", factor, 0, 1, high_open=False)

    def __call__(self, step):
        initial_learning_rate = ops.convert_to_tensor(
            self.initial_learning_rate
        )
        dtype = initial_learning_rate.dtype
        step = ops.convert_to_tensor(step)
        # Compare in the step's own dtype: exact for int steps of any size.
        boundaries = ops.convert_to_tensor(self.boundaries, dtype=step.dtype)
        passed = ops.sum(ops.cast(ops.greater_equal(step, boundaries), dtype))
        return initial_learning_rate * ops.power(
            ops.cast(self.factor, dtype), passed
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": list(self.boundaries),
            "factor": self.factor,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LinearDecay(keras.optimizers.schedules.PolynomialDecay):
    """Decays the learning rate along a straight line, then holds it.

    Common in large-scale NLP: `lr_t = lr_0 * (1 - t / T)` when
    `end_learning_rate` is 0. It is Keras's `PolynomialDecay` with `power=1.0`
    and `cycle=False`, under the short signature that `get()` needs. The
    schedule is computed as:

    ```python
    def decayed_learning_rate(step):
        step = min(step, decay_steps)
        fraction = step / decay_steps
        return initial_learning_rate + (
            end_learning_rate - initial_learning_rate
        ) * fraction
    ```

    Args:
        initial_learning_rate: Python float > 0. The learning rate at step 0.
        decay_steps: Python int > 0. The step at which `end_learning_rate` is
            reached.
        end_learning_rate: Python float >= 0. The learning rate from
            `decay_steps` on. Defaults to `0.0`.

    Returns:
        A 1-arg callable that takes the optimizer step and returns the
        learning rate, a scalar float tensor.

    Raises:
        ValueError: If an argument is out of range.

    Example:

    >>> schedule = LinearDecay(1e-3, decay_steps=10_000)
    >>> optimizer = keras.optimizers.AdamW(learning_rate=schedule)
    """

    def __init__(
        self, initial_learning_rate, decay_steps, end_learning_rate=0.0
    ):
        initial_learning_rate = check_greater(
            "initial_learning_rate", initial_learning_rate, 0
        )
        decay_steps = check_int("decay_steps", decay_steps, 1)
        end_learning_rate = check_range(
            "end_learning_rate", end_learning_rate, 0, low_open=False
        )
        super().__init__(
            initial_learning_rate,
            decay_steps,
            end_learning_rate=end_learning_rate,
            power=1.0,
            cycle=False,
            name="LinearDecay",
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class InverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Decays the learning rate with the inverse square root of the step.

    The Transformer schedule. It starts at `initial_learning_rate` and falls
    as `1 / sqrt(step)` once `step` is large against `timescale`; behind a
    `Warmup` of `timescale` steps it is exactly `lr_0 * sqrt(timescale / step)`
    after the warmup. The schedule is computed as:

    ```python
    def decayed_learning_rate(step):
        return initial_learning_rate * sqrt(timescale / (step + timescale))
    ```

    Args:
        initial_learning_rate: Python float > 0. The learning rate at step 0.
        timescale: Python int > 0. The number of steps after which the
            learning rate has fallen by `sqrt(2)`.

    Returns:
        A 1-arg callable that takes the optimizer step and returns the
        learning rate, a scalar float tensor.

    Raises:
        ValueError: If an argument is out of range.

    Example:

    >>> schedule = Warmup(InverseSqrtDecay(1e-3, timescale=4000), 4000)
    >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    def __init__(self, initial_learning_rate, timescale):
        super().__init__()
        self.initial_learning_rate = check_greater(
            "initial_learning_rate", initial_learning_rate, 0
        )
        self.timescale = check_int("timescale", timescale, 1)

    def __call__(self, step):
        initial_learning_rate = ops.convert_to_tensor(
            self.initial_learning_rate
        )
        dtype = initial_learning_rate.dtype
        step = ops.cast(step, dtype)
        timescale = ops.cast(self.timescale, dtype)
        return initial_learning_rate * ops.sqrt(
            timescale / (step + timescale)
        )

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "timescale": self.timescale,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Constant(keras.optimizers.schedules.LearningRateSchedule):
    """Keeps the learning rate constant.

    Works surprisingly often with adaptive optimizers (RMSProp, Adam). Useful
    as a schedule object where one is expected, for instance behind `Warmup`
    or from `get("constant", ...)`. The schedule is computed as:

    ```python
    def decayed_learning_rate(step):
        return learning_rate
    ```

    Args:
        learning_rate: Python float > 0. The learning rate at every step.

    Returns:
        A 1-arg callable that takes the optimizer step and returns the
        learning rate, a scalar float tensor.

    Raises:
        ValueError: If `learning_rate` is not > 0.

    Example:

    >>> schedule = Warmup(Constant(0.1), warmup_steps=500)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    def __init__(self, learning_rate):
        super().__init__()
        self.learning_rate = check_greater("learning_rate", learning_rate, 0)

    def __call__(self, step):
        del step  # Unused: the value does not depend on it.
        return ops.convert_to_tensor(self.learning_rate)

    def get_config(self):
        return {"learning_rate": self.learning_rate}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    """Prepends a linear warmup to any schedule.

    The learning rate rises linearly from `start_learning_rate` to the value
    the wrapped schedule has at its step 0, over `warmup_steps` steps; then the
    wrapped schedule runs, shifted by `warmup_steps` so that it starts where
    the warmup ends (Goyal et al. 2017, "gradual warmup"). The schedule is
    computed as:

    ```python
    def warmed_up_learning_rate(step):
        if step < warmup_steps:
            peak = schedule(0)
            fraction = step / warmup_steps
            return start_learning_rate + (peak - start_learning_rate) * fraction
        return schedule(step - warmup_steps)
    ```

    `Warmup(CosineDecay(lr, decay_steps), warmup_steps, start)` equals Keras's
    `CosineDecay(start, decay_steps, warmup_target=lr,
    warmup_steps=warmup_steps)`; `Warmup` works for any schedule.

    Args:
        schedule: A `keras.optimizers.schedules.LearningRateSchedule` (Keras's
            or kerasrec's) or a Python float > 0 (a constant learning rate).
        warmup_steps: Python int > 0. The number of warmup steps.
        start_learning_rate: Python float >= 0. The learning rate at step 0.
            Defaults to `0.0`.

    Returns:
        A 1-arg callable that takes the optimizer step and returns the
        learning rate, a scalar float tensor.

    Raises:
        ValueError: If `schedule` is neither a schedule nor a number, or an
            argument is out of range.

    Example:

    >>> cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=9000)
    >>> schedule = Warmup(cosine, warmup_steps=1000)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    """

    def __init__(self, schedule, warmup_steps, start_learning_rate=0.0):
        super().__init__()
        if isinstance(schedule, _LearningRateSchedule):
            self.schedule = schedule
        elif _is_number(schedule):
            self.schedule = check_greater("schedule", schedule, 0)
        else:
            raise ArgumentError(
                "Argument `schedule` must be a "
                "`keras.optimizers.schedules.LearningRateSchedule` or a "
                f"float > 0. Received: schedule={schedule!r} "
                f"(of type {type(schedule).__name__})"
            )
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 1)
        self.start_learning_rate = check_range(
            "start_learning_rate", start_learning_rate, 0, low_open=False
        )

    def _inner(self, step):
        if isinstance(self.schedule, float):
            return ops.convert_to_tensor(self.schedule)
        return ops.convert_to_tensor(self.schedule(step))

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        warmup_steps = ops.cast(self.warmup_steps, step.dtype)
        # The wrapped schedule sees its own step count, from 0 at the end of
        # the warmup; clipped at 0 so that it is never asked for step < 0.
        after = self._inner(
            ops.maximum(step - warmup_steps, ops.zeros_like(step))
        )
        dtype = after.dtype
        peak = ops.cast(self._inner(ops.zeros_like(step)), dtype)
        start = ops.cast(self.start_learning_rate, dtype)
        fraction = ops.cast(step, dtype) / ops.cast(self.warmup_steps, dtype)
        during = start + (peak - start) * fraction
        return ops.where(step < warmup_steps, during, after)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "warmup_steps": self.warmup_steps,
            "start_learning_rate": self.start_learning_rate,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(
                config["schedule"]
            )
        return cls(**config)


# ---------------------------------------------------------------------------
# Factory and helpers.

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
