"""`Warmup`: a linear warmup in front of any schedule (Goyal et al. 2017)."""

import keras
from keras import ops

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_range
from kerasrec.schedules.decays import _PACKAGE, _LearningRateSchedule, _is_number

__all__ = ["Warmup"]


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
