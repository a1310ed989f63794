"""The decays Keras lacks: step, linear, inverse square root, constant."""

import numbers

import keras
from keras import ops

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_range

__all__ = ["Constant", "InverseSqrtDecay", "LinearDecay", "StepDecay"]

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
