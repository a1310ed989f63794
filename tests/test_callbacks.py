"""Tests for kerasrec.callbacks.

Hooks are called directly on a tiny model with hand-made logs, plus one short
real `fit()` per callback.
"""

import csv
import inspect
import math
import os

import keras
import numpy as np
import pytest

import tensorflow as tf

from kerasrec import callbacks
from kerasrec.callbacks import LearningRateLogger
from kerasrec.callbacks import PrecheltStopping
from kerasrec.callbacks import prechelt_stop_epochs
from kerasrec.schedules import StepDecay
from kerasrec.schedules import Warmup

CosineDecay = keras.optimizers.schedules.CosineDecay


def tiny_model(learning_rate=0.1, jit_compile="auto"):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mse",
        jit_compile=jit_compile,
    )
    return model


def tiny_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0]])).astype("float32")
    return x, y


# ---------------------------------------------------------------------------
# LearningRateLogger.


def test_learning_rate_logger_hook_reads_current_iterations():
    model = tiny_model(StepDecay(0.1, [3], factor=0.5))
    model.optimizer.build(model.trainable_variables)
    logger = LearningRateLogger()
    logger.set_model(model)

    model.optimizer.iterations.assign(2)
    logs = {"loss": 1.0}
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": 1.0, "learning_rate": pytest.approx(0.1)}
    assert type(logs["learning_rate"]) is float

    model.optimizer.iterations.assign(3)  # schedule(iterations): next update
    logs = {}
    logger.on_epoch_end(1, logs)
    assert logs["learning_rate"] == pytest.approx(0.05)


def test_learning_rate_logger_hook_float_and_existing_entry():
    model = tiny_model(0.05)
    logger = LearningRateLogger()
    logger.set_model(model)
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs["learning_rate"] == pytest.approx(0.05)
    # An entry written by ReduceLROnPlateau / LearningRateScheduler stays.
    logs = {"learning_rate": 0.5}
    logger.on_epoch_end(0, logs)
    assert logs["learning_rate"] == 0.5


def test_plain_fit_does_not_log_learning_rate():
    # Pins the Keras behaviour that makes LearningRateLogger necessary.
    x, y = tiny_data(16)
    history = tiny_model().fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert "learning_rate" not in history.history


@pytest.mark.parametrize(
    "learning_rate, expected",
    [
        (0.05, [0.05, 0.05, 0.05]),
        # 4 steps per epoch: logged at iterations 4, 8, 12.
        (StepDecay(0.1, [4, 10], factor=0.5), [0.05, 0.05, 0.025]),
        (
            Warmup(CosineDecay(0.1, 8), warmup_steps=6),
            [
                0.1 * 4 / 6,  # warming up
                0.1 * 0.5 * (1 + math.cos(math.pi * 2 / 8)),
                0.1 * 0.5 * (1 + math.cos(math.pi * 6 / 8)),
            ],
        ),
    ],
    ids=["float", "step_decay", "warmup_cosine"],
)
def test_learning_rate_logger_fit(tmp_path, learning_rate, expected):
    x, y = tiny_data(32)
    model = tiny_model(learning_rate, jit_compile=True)
    log_file = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[
            LearningRateLogger(),
            keras.callbacks.CSVLogger(str(log_file)),
        ],
    )
    assert int(model.optimizer.iterations.numpy()) == 12
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-6)
    with open(log_file) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx(
        expected, rel=1e-6
    )


def test_learning_rate_logger_keeps_reduce_lr_on_plateau_value():
    # ReduceLROnPlateau logs the learning rate of the epoch and then reduces
    # it; a logger placed after it must not log the reduced value.
    x, y = tiny_data(16)
    model = tiny_model(0.1)
    reduce = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=1e9
    )
    history = model.fit(
        x, y, batch_size=8, epochs=3, verbose=0,
        callbacks=[reduce, LearningRateLogger()],
    )
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.025)


# ---------------------------------------------------------------------------
# Prechelt's criteria on a hand-computed synthetic curve (strips of 5).
#
# E_opt = 0.7 from epoch 3 on.
#   GL(5) = 100 * (0.73 / 0.7 - 1) = 4.29, GL(6) = 5.71 -> GL_5 stops at 6.
#   GL(14) = 17.1 -> GL_20 never stops.
#   Strip ends 4, 9, 14:
#     P(4) = 1000 * (6.6 / (5 * 0.9) - 1) = 466.7, PQ(4) = 2.857 / 466.7
#     P(9) = 1000 * (4.15 / 4.05 - 1) = 24.69,   PQ(9) = 10.0 / 24.69 = 0.405
#     P(14) = 1000 * (4.015 / 4.005 - 1) = 2.497, PQ(14) = 17.14 / 2.497 = 6.86
#     -> PQ_0.5 stops at 14.
#     E_va(9) = 0.77 > E_va(4) = 0.72 -> UP = 1 -> UP_1 stops at 9;
#     E_va(14) = 0.82 > 0.77 -> UP = 2 -> UP_2 stops at 14.
VAL = [1.0, 0.9, 0.8, 0.7, 0.72,
       0.73, 0.74, 0.75, 0.76, 0.77,
       0.78, 0.79, 0.80, 0.81, 0.82]
TRAIN = [2.0, 1.5, 1.2, 1.0, 0.9,
         0.85, 0.84, 0.83, 0.82, 0.81,
         0.805, 0.804, 0.803, 0.802, 0.801]

STOP_CASES = [
    ({"criterion": "GL", "alpha": 5.0}, 6),
    ({"criterion": "GL", "alpha": 20.0}, None),
    ({"criterion": "PQ", "alpha": 0.5}, 14),
    ({"criterion": "pq", "alpha": 10.0}, None),
    ({"criterion": "UP", "strips": 1}, 9),
    ({"criterion": "UP", "strips": 2}, 14),
]


def drive(callback, val=VAL, train=TRAIN):
    """Runs the hooks as fit() would; epoch e leaves all weights equal to e."""
    model = tiny_model()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, (v, t) in enumerate(zip(val, train)):
        kernel, bias = model.get_weights()
        model.set_weights(
            [np.full_like(kernel, epoch), np.full_like(bias, epoch)]
        )
        callback.on_epoch_end(epoch, {"loss": t, "val_loss": v})
        if model.stop_training:
            break
    callback.on_train_end()
    return model


@pytest.mark.parametrize("kwargs, expected", STOP_CASES)
def test_prechelt_stopping_stops_where_computed(kwargs, expected):
    callback = PrecheltStopping(**kwargs)
    model = drive(callback)
    assert callback.stopped_epoch == expected
    epochs_run = len(VAL) if expected is None else expected + 1
    assert len(callback.trace) == epochs_run
    assert model.stop_training == (expected is not None)
    stops = [e["stop"] for e in callback.trace]
    assert stops.count(True) == (expected is not None)
    assert callback.best_epoch == 3
    # The best weights (kernel filled with 3) are restored.
    assert np.all(model.get_weights()[0] == 3)


def test_prechelt_trace_holds_hand_computed_values():
    callback = PrecheltStopping("UP", strips=2)
    drive(callback)
    trace = callback.trace
    assert [e["epoch"] for e in trace] == list(range(15))
    assert trace[6]["GL"] == pytest.approx(100 * (0.74 / 0.7 - 1))
    assert trace[4]["P"] == pytest.approx(1000 * (6.6 / 4.5 - 1))
    assert trace[9]["P"] == pytest.approx(1000 * (4.15 / 4.05 - 1))
    assert trace[9]["PQ"] == pytest.approx(10.0 / (1000 * (4.15 / 4.05 - 1)))
    assert trace[14]["PQ"] == pytest.approx(
        100 * (0.82 / 0.7 - 1) / (1000 * (4.015 / 4.005 - 1))
    )
    no_progress = [(i + 1) % 5 != 0 for i in range(15)]
    assert [e["P"] is None for e in trace] == no_progress
    assert [trace[i]["UP"] for i in (4, 9, 14)] == [0, 1, 2]
    assert [e["strip_end"] for e in trace].count(True) == 3
    assert trace[14]["E_opt"] == 0.7 and trace[14]["E_va"] == 0.82


def test_prechelt_stop_epochs_agrees_with_callback():
    stops = prechelt_stop_epochs(
        VAL, TRAIN, alpha_gl=5.0, alpha_pq=0.5, strips_up=1
    )
    assert stops == {"GL": 6, "PQ": 14, "UP": 9}
    for kwargs, expected in STOP_CASES:
        criterion = kwargs["criterion"].upper()
        stops = prechelt_stop_epochs(
            VAL,
            TRAIN,
            alpha_gl=kwargs.get("alpha", 5.0),
            alpha_pq=kwargs.get("alpha", 3.0),
            strips_up=kwargs.get("strips", 3),
        )
        callback = PrecheltStopping(**kwargs)
        drive(callback)
        assert stops[criterion] == callback.stopped_epoch == expected, kwargs


def test_prechelt_edge_cases():
    # The UP count resets when the error falls at a strip end.
    # Strip ends 1, 3, 5, 7, 9: up, down (reset), up, up -> stops at 9, not 7.
    val = [1.0, 1.1, 1.2, 1.3, 1.2, 1.25, 1.3, 1.35, 1.4, 1.5]
    assert prechelt_stop_epochs(val, strips_up=2, strip_length=2)["UP"] == 9
    # A NaN validation loss counts as infinitely bad.
    assert prechelt_stop_epochs([1.0, float("nan")])["GL"] == 1
    # No training progress at all with some generalization loss: PQ = inf.
    stops = prechelt_stop_epochs([1.0, 1.01], [0.5, 0.5], strip_length=2)
    assert stops["PQ"] == 1
    # Without a training curve PQ never stops.
    assert prechelt_stop_epochs([1.0, 2.0], None, strip_length=2)["PQ"] is None


def test_prechelt_stopping_saves_best_model_atomically(tmp_path, monkeypatch):
    path = tmp_path / "best.keras"
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((str(src), str(dst)))
        assert os.path.exists(src)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    callback = PrecheltStopping("GL", alpha=5.0, filepath=str(path))
    drive(callback)
    # One save per improvement (epochs 0-3), each a rename from the same folder.
    assert len(replaced) == 4
    for src, dst in replaced:
        assert dst == str(path)
        assert os.path.dirname(src) == str(tmp_path) and src != dst
    assert os.listdir(tmp_path) == ["best.keras"]  # no temporary file left
    loaded = keras.saving.load_model(path)
    assert np.all(loaded.get_weights()[0] == 3)


def test_prechelt_stopping_failed_save_keeps_previous_file(tmp_path):
    path = tmp_path / "best.weights.h5"
    callback = PrecheltStopping("GL", filepath=str(path))
    model = tiny_model()
    callback.set_model(model)
    callback.on_train_begin()
    model.set_weights([np.full((2, 1), 7.0), np.zeros(1)])
    callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})

    def broken_save(filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"half written")
        raise OSError("disk full")

    model.save_weights = broken_save
    model.set_weights([np.full((2, 1), 8.0), np.zeros(1)])
    with pytest.raises(OSError, match="disk full"):
        callback.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.5})
    assert os.listdir(tmp_path) == ["best.weights.h5"]
    fresh = tiny_model()
    fresh.load_weights(path)
    assert np.all(fresh.get_weights()[0] == 7.0)


def test_prechelt_stopping_fit():
    # Validation targets of the opposite sign: the better the model fits the
    # training data, the worse the validation loss, so GL stops early.
    keras.utils.set_random_seed(0)
    x, y = tiny_data(32)
    model = tiny_model(0.05)
    callback = PrecheltStopping("GL", alpha=5.0)
    history = model.fit(
        x, y, batch_size=8, epochs=20, verbose=0,
        validation_data=(x, -y), callbacks=[callback],
    )
    val, train = history.history["val_loss"], history.history["loss"]
    assert callback.stopped_epoch is not None and callback.stopped_epoch < 19
    assert len(val) == callback.stopped_epoch + 1
    assert callback.stopped_epoch == prechelt_stop_epochs(val, train)["GL"]
    assert callback.best_epoch == int(np.argmin(val)) < callback.stopped_epoch
    restored = model.evaluate(x, -y, verbose=0)
    assert restored == pytest.approx(val[callback.best_epoch], rel=1e-4)
    assert restored < val[-1]


# ---------------------------------------------------------------------------
# Configs and bad input.


@pytest.mark.parametrize(
    "callback",
    [
        LearningRateLogger(),
        PrecheltStopping(),
        PrecheltStopping("UP", strip_length=4, strips=2, monitor="val_mae",
                         train_monitor="mae", restore_best_weights=False,
                         filepath="m.keras", verbose=1),
    ],
    ids=["logger", "prechelt_default", "prechelt_up"],
)
def test_callback_config_round_trip(callback):
    config = callback.get_config()
    params = inspect.signature(type(callback).__init__).parameters
    assert set(config) == set(params) - {"self"}
    assert type(callback).from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(callback)
    )
    assert type(restored) is type(callback)
    assert restored.get_config() == config


BAD_INPUTS = [
    (lambda: PrecheltStopping("XY"), "`criterion`"),
    (lambda: PrecheltStopping(None), "`criterion`"),
    (lambda: PrecheltStopping("GL", alpha=0.0), "`alpha`"),
    (lambda: PrecheltStopping("PQ", alpha=-1.0), "`alpha`"),
    (lambda: PrecheltStopping("UP", alpha=2.0), "`alpha`"),
    (lambda: PrecheltStopping("GL", strips=2), "`strips`"),
    (lambda: PrecheltStopping("UP", strips=0), "`strips`"),
    (lambda: PrecheltStopping(strip_length=0), "`strip_length`"),
    (lambda: PrecheltStopping(strip_length=2.5), "`strip_length`"),
    (lambda: PrecheltStopping(filepath="best.h5"), "`filepath`"),
    (lambda: prechelt_stop_epochs([1.0, 2.0], [1.0]), "`train_losses`"),
    (lambda: prechelt_stop_epochs([1.0], alpha_gl=0.0), "`alpha_gl`"),
    (lambda: prechelt_stop_epochs([1.0], alpha_pq=-1.0), "`alpha_pq`"),
    (lambda: prechelt_stop_epochs([1.0], strips_up=0), "`strips_up`"),
    (lambda: prechelt_stop_epochs([1.0], strip_length=0), "`strip_length`"),
]


@pytest.mark.parametrize("make, message", BAD_INPUTS)
def test_bad_input_raises_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_missing_monitor_warns_and_does_nothing():
    callback = PrecheltStopping()
    callback.set_model(tiny_model())
    callback.on_train_begin()
    with pytest.warns(UserWarning, match="val_loss"):
        callback.on_epoch_end(0, {"loss": 1.0})
    assert callback.trace == [] and callback.best_epoch is None


def test_batch_loss_recovers_each_batch_loss_from_the_running_mean():
    rng = np.random.default_rng(0)
    x = rng.random((1000, 8), dtype=np.float32)
    y = rng.integers(0, 3, 1000)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)  # last batch: 40
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    # A zero learning rate keeps the weights, so every batch can be evaluated after.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    recorder = callbacks.BatchLoss(batch_size=64, num_examples=1000)
    model.fit(batches.repeat(), epochs=1, steps_per_epoch=40, shuffle=False, verbose=0,
              callbacks=[recorder])
    per_batch = [float(model.evaluate(xb, yb, verbose=0)) for xb, yb in batches]
    expected = (per_batch * 3)[:40]  # 16 batches per pass, wrapped around
    np.testing.assert_allclose(recorder.losses, expected, rtol=1e-4)


def test_batch_loss_validates_and_round_trips():
    with pytest.raises(ValueError, match="`batch_size`"):
        callbacks.BatchLoss(0, 10)
    with pytest.raises(ValueError, match="`num_examples`"):
        callbacks.BatchLoss(8, -1)
    recorder = callbacks.BatchLoss(8, 100)
    assert callbacks.BatchLoss.from_config(recorder.get_config()).get_config() == {"batch_size": 8, "num_examples": 100}
