"""Tests for kerasrec.callbacks.snapshot (`SnapshotEnsemble`).

Hooks are called directly on a tiny model (the optimizer's `iterations` set
by hand), plus short real `fit()` runs: 16 examples in batches of 4, so 4
optimizer steps per epoch; the schedule has a 2-step warmup and 3 cycles of 4
steps, so the cycles end at optimizer steps 6, 10 and 14.
"""

import os
import warnings

import keras
import numpy as np
import pytest

from kerasrec import schedules
from kerasrec._checks import ArgumentError
from kerasrec.callbacks import SnapshotEnsemble

import tiny

CosineDecay = keras.optimizers.schedules.CosineDecay
CosineDecayRestarts = keras.optimizers.schedules.CosineDecayRestarts

NAMES = ["snapshot-001.keras", "snapshot-002.keras", "snapshot-003.keras"]
CYCLE_ENDS = [6, 10, 14]


def restarts(warmup_steps=2, cycle_steps=4, cycles=3):
    return schedules.get(
        "cosine_restarts",
        learning_rate=0.1,
        total_steps=warmup_steps + cycle_steps * cycles,
        warmup_steps=warmup_steps,
        cycles=cycles,
    )


def steps_of(optimizer):
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


class WeightsAt(keras.callbacks.Callback):
    """Records the model's weights at the batch ends, by optimizer step."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.weights[steps_of(self.model.optimizer)] = self.model.get_weights()


class CrashAt(keras.callbacks.Callback):
    """Raises at the end of the batch that brings the optimizer to `step`."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if steps_of(self.model.optimizer) == self.step:
            raise RuntimeError("simulated crash")


def files(directory):
    """Every entry of `directory`, hidden temporary files included."""
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def load(path):
    return keras.saving.load_model(path)


def record_saves(model):
    """Replaces `model.save` by a recorder of the optimizer step at each call."""
    steps = []

    def save(filepath, **kwargs):
        steps.append(steps_of(model.optimizer))
        with open(filepath, "wb") as f:
            f.write(b"stub")

    model.save = save
    return steps


def drive(callback, model, ends, begin=True):
    """Runs the batch hooks over executions that end at optimizer steps `ends`."""
    for batch, end in enumerate(ends):
        if begin:
            callback.on_train_batch_begin(batch)
        model.optimizer.iterations.assign(end)
        callback.on_train_batch_end(batch)


def snapshot_warnings(caught):
    return [str(w.message) for w in caught if str(w.message).startswith("SnapshotEnsemble")]


# ---------------------------------------------------------------------------
# Real fit(): where the snapshots are.


def test_fit_saves_snapshots_exactly_at_the_cycle_ends(tmp_path, capsys):
    x, y = tiny.tiny_data(16)
    model = tiny.tiny_model(restarts())
    directory = tmp_path / "new" / "snapshots"  # created by the callback
    callback = SnapshotEnsemble(directory, verbose=1)
    spy = WeightsAt()
    model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[callback, spy])

    assert steps_of(model.optimizer) == 16
    assert files(directory) == NAMES  # and no temporary file left
    assert callback.snapshots == [os.path.join(str(directory), name) for name in NAMES]
    for path, step in zip(callback.snapshots, CYCLE_ENDS):
        snapshot = load(path)  # a whole model, its kerasrec schedule included
        assert steps_of(snapshot.optimizer) == step
        weights = snapshot.get_weights()
        assert same_weights(weights, spy.weights[step])
        # One step earlier or later the weights differ: the step is exact.
        assert not same_weights(weights, spy.weights[step - 1])
        assert not same_weights(weights, spy.weights[step + 1])
    lines = [line for line in capsys.readouterr().out.splitlines() if "SnapshotEnsemble" in line]
    assert len(lines) == 3
    assert "cycle 2 (optimizer step 10)" in lines[1] and NAMES[1] in lines[1]


def test_fit_steps_per_execution_2_saves_at_the_cycle_ends(tmp_path):
    # Batch hooks run every 2 steps: at optimizer steps 2, 4, ..., 16.
    x, y = tiny.tiny_data(16)
    model = tiny.tiny_model(restarts(), steps_per_execution=2)
    callback = SnapshotEnsemble(tmp_path)
    spy = WeightsAt()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[callback, spy])
    assert sorted(spy.weights) == list(range(2, 17, 2))
    assert files(tmp_path) == NAMES
    for path, step in zip(callback.snapshots, CYCLE_ENDS):
        assert same_weights(load(path).get_weights(), spy.weights[step])
    assert snapshot_warnings(caught) == []  # all three exactly on time


def test_fit_steps_per_execution_2_with_odd_epochs_saves_late_and_warns(tmp_path):
    # 5 steps per epoch: the last execution of each epoch is 1 step, so the
    # hooks see steps 2, 4, 5, 7, 9, 10, 12, 14, 15; cycle 1 ends at 6.
    x, y = tiny.tiny_data(20)
    model = tiny.tiny_model(restarts(), steps_per_execution=2)
    callback = SnapshotEnsemble(tmp_path)
    spy = WeightsAt()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[callback, spy])
    assert sorted(spy.weights) == [2, 4, 5, 7, 9, 10, 12, 14, 15]
    assert files(tmp_path) == NAMES
    for path, step in zip(callback.snapshots, [7, 10, 14]):
        assert same_weights(load(path).get_weights(), spy.weights[step])
    messages = snapshot_warnings(caught)
    assert len(messages) == 1 and "cycle 1 ended at optimizer step 6" in messages[0]


def test_hooks_execution_that_crosses_a_cycle_end_saves_late_and_warns(tmp_path):
    # 3 steps per execution (ends 3, 6, ..., 15) with cycles ending at 6, 10,
    # 14: equality alone would only catch 6; the crossings catch all three.
    model = tiny.tiny_model(restarts())
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    saved = record_saves(model)
    callback.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(callback, model, [3, 6, 9, 12, 15])
    assert saved == [6, 12, 15]
    assert files(tmp_path) == NAMES
    messages = snapshot_warnings(caught)
    assert len(messages) == 2
    assert "cycle 2 ended at optimizer step 10" in messages[0] and "2 step(s) late" in messages[0]
    assert "cycle 3 ended at optimizer step 14" in messages[1] and "1 step(s) late" in messages[1]


def test_hooks_execution_that_crosses_two_cycle_ends_saves_the_last(tmp_path):
    model = tiny.tiny_model(restarts())
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    saved = record_saves(model)
    callback.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(callback, model, [10])  # past the ends of cycles 1 and 2
    assert saved == [10]
    assert files(tmp_path) == ["snapshot-002.keras"]
    messages = snapshot_warnings(caught)
    assert len(messages) == 1 and "cycles [1] and 2" in messages[0]


# ---------------------------------------------------------------------------
# Where the cycle length comes from.


@pytest.mark.parametrize(
    "learning_rate, kwargs, expected",
    [
        (restarts(warmup_steps=2, cycle_steps=4), {}, [6, 10, 14, 18]),
        (restarts(warmup_steps=0, cycle_steps=4), {}, [4, 8, 12, 16, 20]),
        (CosineDecayRestarts(0.1, 5, t_mul=1.0), {}, [5, 10, 15, 20]),
        (schedules.Warmup(CosineDecayRestarts(0.1, 3, t_mul=1.0), 5), {}, [8, 11, 14, 17, 20]),
        # An explicit warmup_steps overrides the Warmup wrapper's.
        (restarts(warmup_steps=2, cycle_steps=4), {"warmup_steps": 0}, [4, 8, 12, 16, 20]),
        # An explicit cycle_steps works with any learning rate.
        (0.1, {"cycle_steps": 7}, [7, 14]),
        (CosineDecay(0.1, 20), {"cycle_steps": 5, "warmup_steps": 3}, [8, 13, 18]),
        (schedules.Warmup(CosineDecay(0.1, 20), 2), {"cycle_steps": 6}, [8, 14, 20]),
        # An explicit cycle_steps overrides the schedule's.
        (restarts(warmup_steps=2, cycle_steps=4), {"cycle_steps": 8}, [10, 18]),
    ],
    ids=[
        "get_warmup",
        "get_no_warmup",
        "bare_restarts",
        "warmup_wrapper",
        "warmup_override",
        "float_explicit",
        "cosine_explicit",
        "warmup_cosine_explicit",
        "cycle_override",
    ],
)
def test_hooks_cycle_length_and_warmup(tmp_path, learning_rate, kwargs, expected):
    model = tiny.tiny_model(learning_rate)
    callback = SnapshotEnsemble(tmp_path, **kwargs)
    callback.set_model(model)
    saved = record_saves(model)
    callback.on_train_begin()
    drive(callback, model, range(1, 21))
    assert saved == expected
    assert files(tmp_path) == [f"snapshot-{k:03d}.keras" for k in range(1, len(expected) + 1)]


def test_hooks_read_the_schedule_inside_a_loss_scale_optimizer(tmp_path):
    model = tiny.tiny_model()
    model.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(restarts())),
        loss="mse",
    )
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    saved = record_saves(model)
    callback.on_train_begin()
    drive(callback, model, range(1, 15))
    assert saved == CYCLE_ENDS


def test_hooks_gradient_accumulation_counts_steps_as_the_schedule_does(tmp_path):
    # The schedule reads the count of batches; `iterations` counts updates.
    model = tiny.tiny_model()
    optimizer = keras.optimizers.SGD(restarts(warmup_steps=0), gradient_accumulation_steps=2)
    model.compile(optimizer=optimizer, loss="mse")
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    updates = []
    model.save = lambda filepath, **kwargs: updates.append(steps_of(optimizer))
    callback.on_train_begin()
    for batch in range(12):
        callback.on_train_batch_begin(batch)
        optimizer._iterations.assign(batch + 1)
        callback.on_train_batch_end(batch)
    assert updates == [2, 4, 6]  # after batches 4, 8, 12
    assert files(tmp_path) == NAMES


@pytest.mark.parametrize(
    "learning_rate",
    [
        0.1,
        CosineDecay(0.1, 12),
        schedules.get("cosine", learning_rate=0.1, total_steps=14, warmup_steps=2),
        CosineDecayRestarts(0.1, 4),  # Keras's default t_mul is 2.0
        CosineDecayRestarts(0.1, 4, t_mul=1.5),
        schedules.Warmup(CosineDecayRestarts(0.1, 4, t_mul=2.0), 2),
        schedules.Warmup(0.1, 2),
    ],
    ids=[
        "float",
        "cosine",
        "get_cosine",
        "default_t_mul",
        "t_mul_1_5",
        "warmup_t_mul_2",
        "warmup_float",
    ],
)
def test_hooks_non_cyclic_learning_rate_raises_at_train_begin(tmp_path, learning_rate):
    model = tiny.tiny_model(learning_rate)
    callback = SnapshotEnsemble(tmp_path / "snapshots")
    callback.set_model(model)
    with pytest.raises(ArgumentError, match="Argument `cycle_steps` must be given") as error:
        callback.on_train_begin()
    assert isinstance(error.value, ValueError)
    assert "CosineDecayRestarts" in str(error.value) and "t_mul=1" in str(error.value)
    assert not os.path.exists(tmp_path / "snapshots")


@pytest.mark.parametrize(
    "learning_rate, named",
    [(0.1, "a float learning rate (0.1)"), (CosineDecayRestarts(0.1, 4, t_mul=2.0), "t_mul=2.0")],
    ids=["float", "t_mul_2"],
)
def test_fit_non_cyclic_learning_rate_raises_before_any_step(tmp_path, learning_rate, named):
    x, y = tiny.tiny_data(16)
    model = tiny.tiny_model(learning_rate)
    before = model.get_weights()
    with pytest.raises(ValueError, match="cycle_steps") as error:
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[SnapshotEnsemble(tmp_path)])
    assert named in str(error.value)
    assert steps_of(model.optimizer) == 0
    assert same_weights(model.get_weights(), before)
    assert files(tmp_path) == []


# ---------------------------------------------------------------------------
# Resuming: no duplicate, no missing snapshot.


def test_fit_resumed_with_initial_epoch_adds_the_missing_snapshots(tmp_path):
    x, y = tiny.tiny_data(16)
    model = tiny.tiny_model(restarts())
    callback = SnapshotEnsemble(tmp_path)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[callback])
    assert files(tmp_path) == NAMES[:1]  # step 8: cycle 1 only
    assert callback.snapshots == [str(tmp_path / NAMES[0])]

    spy = WeightsAt()
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=4,
        initial_epoch=2,
        shuffle=False,
        verbose=0,
        callbacks=[callback, spy],
    )
    assert steps_of(model.optimizer) == 16
    assert files(tmp_path) == NAMES
    assert callback.snapshots == [str(tmp_path / name) for name in NAMES[1:]]
    assert same_weights(load(callback.snapshots[0]).get_weights(), spy.weights[10])


def test_fit_rerun_after_a_crash_with_backup_and_restore_rewrites_the_same_names(tmp_path):
    x, y = tiny.tiny_data(16)
    directory = tmp_path / "snapshots"
    backup = tmp_path / "backup"
    # Run 1 saves snapshots 1 (step 6) and 2 (step 10), backs up after epoch
    # 2 (step 8), and crashes at step 11.
    first = SnapshotEnsemble(directory)
    with pytest.raises(RuntimeError, match="simulated crash"):
        tiny.tiny_model(restarts()).fit(
            x,
            y,
            batch_size=4,
            epochs=4,
            shuffle=False,
            verbose=0,
            callbacks=[first, keras.callbacks.BackupAndRestore(backup), CrashAt(11)],
        )
    assert files(directory) == NAMES[:2]

    # Run 2: a fresh model and optimizer, restored to step 8 by
    # BackupAndRestore, which is placed after SnapshotEnsemble, so it
    # restores after SnapshotEnsemble's on_train_begin.
    model = tiny.tiny_model(restarts())
    second = SnapshotEnsemble(directory)
    spy = WeightsAt()
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=[second, keras.callbacks.BackupAndRestore(backup), spy],
    )
    assert min(spy.weights) == 9  # resumed, not restarted
    assert files(directory) == NAMES  # cycle 2 rewritten, no copy
    assert second.snapshots == [str(directory / name) for name in NAMES[1:]]
    snapshot = load(second.snapshots[0])
    assert steps_of(snapshot.optimizer) == 10
    assert same_weights(snapshot.get_weights(), spy.weights[10])


# ---------------------------------------------------------------------------
# Atomic writes.


def half_write_then_fail(self, filepath, *args, **kwargs):
    with open(filepath, "wb") as f:
        f.write(b"PK\x03\x04 half a zip")
    raise OSError("disk full")


def test_hooks_failed_save_leaves_no_snapshot_and_no_temporary_file(tmp_path, monkeypatch):
    model = tiny.tiny_model(restarts())
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    callback.on_train_begin()
    monkeypatch.setattr(keras.Model, "save", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        drive(callback, model, range(1, 7))
    assert files(tmp_path) == []
    assert callback.snapshots == []


def test_hooks_failed_rewrite_keeps_the_previous_snapshot(tmp_path, monkeypatch):
    model = tiny.tiny_model(restarts())
    callback = SnapshotEnsemble(tmp_path)
    callback.set_model(model)
    callback.on_train_begin()
    drive(callback, model, range(1, 7))
    saved = model.get_weights()
    assert files(tmp_path) == NAMES[:1]

    # A rerun of cycle 1 with other weights, whose save fails mid-write.
    model.set_weights([w + 1.0 for w in saved])
    model.optimizer.iterations.assign(0)
    callback.on_train_begin()
    monkeypatch.setattr(keras.Model, "save", half_write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        drive(callback, model, range(1, 7))
    monkeypatch.undo()
    assert files(tmp_path) == NAMES[:1]
    assert same_weights(load(str(tmp_path / NAMES[0])).get_weights(), saved)


# ---------------------------------------------------------------------------
# Arguments and config.


def test_config_round_trip(tmp_path):
    callback = SnapshotEnsemble(tmp_path, cycle_steps=np.int64(4), warmup_steps=2, verbose=1)
    config = callback.get_config()
    assert config == {"directory": str(tmp_path), "cycle_steps": 4, "warmup_steps": 2, "verbose": 1}
    assert type(config["directory"]) is str and type(config["cycle_steps"]) is int
    assert SnapshotEnsemble.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(callback)
    assert serialized["registered_name"] == "kerasrec>SnapshotEnsemble"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is SnapshotEnsemble and restored.get_config() == config
    assert SnapshotEnsemble("runs").get_config() == {
        "directory": "runs",
        "cycle_steps": None,
        "warmup_steps": None,
        "verbose": 0,
    }


@pytest.mark.parametrize(
    "args, kwargs, name",
    [
        (("",), {}, "directory"),
        ((None,), {}, "directory"),
        ((3,), {}, "directory"),
        ((b"runs",), {}, "directory"),
        (("runs",), {"cycle_steps": 0}, "cycle_steps"),
        (("runs",), {"cycle_steps": -4}, "cycle_steps"),
        (("runs",), {"cycle_steps": 4.0}, "cycle_steps"),
        (("runs",), {"cycle_steps": True}, "cycle_steps"),
        (("runs",), {"cycle_steps": "4"}, "cycle_steps"),
        (("runs",), {"warmup_steps": -1}, "warmup_steps"),
        (("runs",), {"warmup_steps": 1.5}, "warmup_steps"),
        (("runs",), {"warmup_steps": False}, "warmup_steps"),
        (("runs",), {"verbose": -1}, "verbose"),
        (("runs",), {"verbose": "1"}, "verbose"),
    ],
)
def test_bad_arguments_raise(args, kwargs, name):
    with pytest.raises(ArgumentError, match=f"Argument `{name}` must be .* Received: {name}="):
        SnapshotEnsemble(*args, **kwargs)


def test_arguments_after_directory_are_keyword_only():
    with pytest.raises(TypeError):
        SnapshotEnsemble("runs", 4)
