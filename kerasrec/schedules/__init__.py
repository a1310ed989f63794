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

from kerasrec.schedules.decays import Constant, InverseSqrtDecay, LinearDecay, StepDecay
from kerasrec.schedules.factory import NAMES, check_settable_learning_rate, epochs_to_steps, get
from kerasrec.schedules.warmup import Warmup

__all__ = [
    "NAMES",
    "Constant",
    "InverseSqrtDecay",
    "LinearDecay",
    "StepDecay",
    "Warmup",
    "check_settable_learning_rate",
    "epochs_to_steps",
    "get",
]
