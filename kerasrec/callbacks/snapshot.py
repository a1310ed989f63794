"""`SnapshotEnsemble`: save the model at the end of every learning-rate cycle.

Huang et al. (2017), "Snapshot Ensembles: Train 1, get M for free": train
once with a cyclic cosine schedule (Keras's `CosineDecayRestarts` with
`t_mul=1`, for instance `kerasrec.schedules.get("cosine_restarts", ...)`),
save the model at the end of every cycle, where the learning rate is at its
minimum and the model sits in a local minimum, then average the predictions
of the snapshots (`kerasrec.ensembles.load_snapshots` reads them back).
"""

import numbers
import os
import warnings

import keras

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_int
from kerasrec._io import replacing
from kerasrec.schedules import Warmup

__all__ = ["SnapshotEnsemble"]

# Fixed: `kerasrec.ensembles.load_snapshots` reads these names.
SNAPSHOT_FILENAME = "snapshot-{cycle:03d}.keras"

_CosineDecayRestarts = keras.optimizers.schedules.CosineDecayRestarts


def _base_optimizer(optimizer):
    """The optimizer that holds the schedule (inside a `LossScaleOptimizer`)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return optimizer if inner is None else inner


def _schedule_step(optimizer):
    """The step the learning-rate schedule is evaluated at, as a Python int.

    It is `optimizer.iterations`, the number of optimizer steps done. With
    `gradient_accumulation_steps`, Keras's `iterations` counts the weight
    updates but the schedule reads the count of batches (`_iterations`), so
    the cycles are counted in batches there too.
    """
    optimizer = _base_optimizer(optimizer)
    steps = optimizer.iterations
    if getattr(optimizer, "gradient_accumulation_steps", None):
        steps = optimizer._iterations
    return int(keras.ops.convert_to_numpy(steps))


def _read_cycle(schedule):
    """`(cycle_steps, warmup_steps)` of a cyclic cosine schedule.

    `cycle_steps` is `None` when `schedule`, once unwrapped of its `Warmup`
    wrappers (whose `warmup_steps` add up), is not a `CosineDecayRestarts`
    with `t_mul == 1` and a whole number of `first_decay_steps`.
    """
    warmup_steps = 0
    while isinstance(schedule, Warmup):
        warmup_steps += schedule.warmup_steps
        schedule = schedule.schedule
    if not isinstance(schedule, _CosineDecayRestarts):
        return None, warmup_steps
    t_mul = schedule.get_config()["t_mul"]
    first = schedule.first_decay_steps
    if (
        not isinstance(t_mul, numbers.Real)
        or float(t_mul) != 1.0
        or not isinstance(first, numbers.Real)
        or float(first) != int(first)
    ):
        return None, warmup_steps
    return int(first), warmup_steps


def _describe(held):
    if isinstance(held, keras.Variable):
        value = float(keras.ops.convert_to_numpy(held))
        return f"a float learning rate ({value:g})"
    if isinstance(held, keras.optimizers.schedules.LearningRateSchedule):
        config = held.get_config()
        if isinstance(held, Warmup):
            return f"Warmup({_describe(held.schedule)}, warmup_steps={held.warmup_steps})"
        if isinstance(held, _CosineDecayRestarts):
            return (
                f"CosineDecayRestarts(first_decay_steps={config['first_decay_steps']!r}, "
                f"t_mul={config['t_mul']!r})"
            )
        return type(held).__name__
    if isinstance(held, numbers.Real):  # Inside a Warmup.
        return f"a float learning rate ({float(held):g})"
    return f"a callable ({type(held).__name__})"


@keras.saving.register_keras_serializable(package="kerasrec")
class SnapshotEnsemble(keras.callbacks.Callback):
    """Saves the whole model at the end of every cycle of a cyclic schedule.

    Snapshot ensembles (Huang et al. 2017, "Snapshot Ensembles: Train 1, get
    M for free"): with a cosine schedule that restarts every `cycle_steps`
    optimizer steps after `warmup_steps` of warmup, the learning rate is at
    its lowest at the end of every cycle, so the model there is a different
    local minimum each time. This callback saves it, as a `.keras` file, and
    the ensemble averages the snapshots' predictions. Cycle `k` (1-based)
    ends once the optimizer has done

    ```python
    steps = warmup_steps + k * cycle_steps
    ```

    steps, and its snapshot is `directory/snapshot-{k:03d}.keras`
    (`snapshot-001.keras`, `snapshot-002.keras`, ...; `kerasrec.ensembles.
    load_snapshots` reads these names).

    The step count is read from the optimizer (`optimizer.iterations`), at
    every `on_train_batch_begin` and `on_train_batch_end`: a snapshot is
    written after the batch (the execution, with `steps_per_execution > 1`)
    during which the count reached a cycle end. So the snapshots are right
    after a resume that restores the optimizer (`keras.callbacks.
    BackupAndRestore`, in any order in the callbacks, or a second `fit()`
    with the same optimizer), and with `steps_per_execution > 1`. Then a
    snapshot is at the exact cycle end when every cycle end falls at the end
    of an execution, i.e. when `warmup_steps`, `cycle_steps` and the steps
    per epoch are multiples of `steps_per_execution`; otherwise it is taken
    up to `steps_per_execution - 1` steps after the cycle end (a
    `UserWarning` says so), and if one execution crosses several cycle ends,
    only the last of them gets a snapshot (with a warning naming the others).
    For instance with 5 batches per epoch and `steps_per_execution=2`, the
    last execution of every epoch is a single step, so the batch hooks see
    steps 2, 4, 5, 7, 9, 10, ... (Keras still passes `batch=5`, the index
    the execution would have ended at: the count, not `batch`, is what
    matters). With `gradient_accumulation_steps`, steps are counted as the
    schedule counts them, in batches. With the JAX backend, reading
    `self.model` in a batch hook syncs the model's state (Keras's
    `Callback.model` does), so this callback costs one sync per batch.

    The name comes from the cycle number, so a rerun of the same cycles
    rewrites the same files, never a second copy. Every file is written to a
    temporary name beside it and then renamed, so a crash mid-write leaves
    the previous file (or none), never a half-written one. Each snapshot is
    `model.save()`: the architecture, the weights and the optimizer's state
    (its step count included). `snapshots` lists the paths written during
    the latest `fit()`, in order. Every process
    writes its snapshots: in a multi-worker run, give each worker its own
    `directory`. With `use_ema=True` the snapshot holds the raw weights
    unless `keras.callbacks.SwapEMAWeights` swaps them in.

    Args:
        directory: String or path-like. The folder of the snapshots, created
            if missing.
        cycle_steps: Int > 0, or `None`. Optimizer steps per cycle. `None`
            reads it from the optimizer's learning-rate schedule at the start
            of training: the `first_decay_steps` of a `keras.optimizers.
            schedules.CosineDecayRestarts` with `t_mul=1`, also inside
            `kerasrec.schedules.Warmup` (as `kerasrec.schedules.get(
            "cosine_restarts", ...)` builds it). Keras's `t_mul` defaults to
            `2.0` (each cycle twice as long as the one before): pass
            `t_mul=1.0`. Given, it works with any learning rate. Defaults
            to `None`.
        warmup_steps: Int >= 0, or `None`. Optimizer steps before the first
            cycle starts. `None` reads it from the schedule: the
            `warmup_steps` of the `kerasrec.schedules.Warmup` that wraps it,
            or `0`. Defaults to `None`.
        verbose: Int (or bool). `0` is silent, `1` prints a line for every
            snapshot written. Defaults to `0`.

    Raises:
        ValueError: If an argument is out of range; at `on_train_begin`
            (before any training step), if `cycle_steps=None` and the
            optimizer's learning rate is not a `CosineDecayRestarts` with
            `t_mul=1` (a float, `CosineDecay`, `t_mul=2`, ...).

    Example:

    >>> schedule = kerasrec.schedules.get(
    ...     "cosine_restarts", learning_rate=0.1, total_steps=40 * 100,
    ...     warmup_steps=0, cycles=4)
    >>> model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    >>> snapshots = SnapshotEnsemble("runs/snapshots")
    >>> model.fit(train, epochs=40, callbacks=[snapshots])  # 100 steps/epoch
    >>> snapshots.snapshots  # [".../snapshot-001.keras", ..., "...-004.keras"]
    """

    def __init__(self, directory, *, cycle_steps=None, warmup_steps=None, verbose=0):
        super().__init__()
        if isinstance(directory, os.PathLike):
            directory = os.fspath(directory)
        if not isinstance(directory, str) or not directory:
            raise ArgumentError(
                "Argument `directory` must be a non-empty string or path-like. "
                f"Received: directory={directory!r}"
            )
        if not isinstance(verbose, numbers.Integral) or verbose < 0:
            raise ArgumentError(
                "Argument `verbose` must be an int >= 0 (or a bool). "
                f"Received: verbose={verbose!r}"
            )
        self.directory = directory
        self.cycle_steps = check_int("cycle_steps", cycle_steps, 1, allow_none=True)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0, allow_none=True)
        self.verbose = verbose
        self.snapshots = []
        self._cycle_steps = self.cycle_steps
        self._warmup_steps = self.warmup_steps
        self._steps_before = None
        self._started = False

    def snapshot_path(self, cycle):
        """The path of the snapshot of `cycle` (1-based)."""
        return os.path.join(self.directory, SNAPSHOT_FILENAME.format(cycle=cycle))

    def _cycles_done(self, steps):
        """How many cycles have ended once the optimizer has done `steps`."""
        if steps < self._warmup_steps:
            return 0
        return (steps - self._warmup_steps) // self._cycle_steps

    def on_train_begin(self, logs=None):
        self.snapshots = []
        self._started = False
        optimizer = _base_optimizer(self.model.optimizer)
        held = getattr(optimizer, "_learning_rate", None)
        read_cycle, read_warmup = _read_cycle(held)
        if self.cycle_steps is None and read_cycle is None:
            raise ArgumentError(
                "Argument `cycle_steps` must be given (an int > 0, the "
                "optimizer steps per cycle) unless the optimizer's learning "
                "rate is a `keras.optimizers.schedules.CosineDecayRestarts` "
                "with `t_mul=1` (optionally inside `kerasrec.schedules."
                "Warmup`, as `kerasrec.schedules.get('cosine_restarts', ...)` "
                "builds it), to read the cycle length from. Received: "
                f"cycle_steps=None, with optimizer "
                f"{getattr(optimizer, 'name', optimizer)!r} holding "
                f"{_describe(held)}"
            )
        self._cycle_steps = read_cycle if self.cycle_steps is None else self.cycle_steps
        self._warmup_steps = read_warmup if self.warmup_steps is None else self.warmup_steps
        os.makedirs(self.directory, exist_ok=True)
        self._steps_before = _schedule_step(self.model.optimizer)
        self._started = True

    def on_train_batch_begin(self, batch, logs=None):
        if not self._started:
            return
        # Read again here: a callback after this one may have restored the
        # optimizer in its `on_train_begin` (BackupAndRestore does).
        self._steps_before = _schedule_step(self.model.optimizer)

    def on_train_batch_end(self, batch, logs=None):
        if not self._started:  # No `on_train_begin` yet: nothing to count.
            return
        before = self._steps_before
        after = _schedule_step(self.model.optimizer)
        self._steps_before = after
        done_before, done_after = self._cycles_done(before), self._cycles_done(after)
        if done_after <= done_before:
            return
        cycle = done_after
        end = self._warmup_steps + cycle * self._cycle_steps
        if done_after - done_before > 1:
            skipped = list(range(done_before + 1, done_after))
            warnings.warn(
                f"SnapshotEnsemble: the optimizer went from step {before} to "
                f"{after} in one batch, past the ends of cycles {skipped} and "
                f"{cycle}; only cycle {cycle} gets a snapshot. Use "
                "`steps_per_execution` <= `cycle_steps` (a divisor of it).",
                stacklevel=2,
            )
        if after != end:
            warnings.warn(
                f"SnapshotEnsemble: cycle {cycle} ended at optimizer step "
                f"{end}, but the batch ended at step {after}: its snapshot is "
                f"{after - end} step(s) late. Make `warmup_steps`, "
                "`cycle_steps` and the steps per epoch multiples of "
                "`steps_per_execution`.",
                stacklevel=2,
            )
        self._save(cycle, after)

    def _save(self, cycle, steps):
        path = self.snapshot_path(cycle)
        with replacing(path, suffix=".keras") as tmp:
            self.model.save(tmp)
        if path not in self.snapshots:
            self.snapshots.append(path)
        if self.verbose:
            print(
                f"SnapshotEnsemble: saved the snapshot of cycle {cycle} "
                f"(optimizer step {steps}) to {path}"
            )

    def get_config(self):
        return {
            "directory": self.directory,
            "cycle_steps": self.cycle_steps,
            "warmup_steps": self.warmup_steps,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
