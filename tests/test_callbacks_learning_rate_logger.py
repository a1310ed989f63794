"""Tests for kerasrec.callbacks.learning_rate_logger (`LearningRateLogger`).

Hooks are called directly on a tiny model, plus short real `fit()` runs.
"""

import csv
import math

import keras
import pytest

from kerasrec.callbacks import LearningRateLogger
from kerasrec.schedules import StepDecay
from kerasrec.schedules import Warmup

import tiny

CosineDecay = keras.optimizers.schedules.CosineDecay


def tiny_model(learning_rate=0.1, jit_compile="auto"):
    return tiny.tiny_model(learning_rate, jit_compile=jit_compile)


tiny_data = tiny.tiny_data

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


def test_learning_rate_logger_config_round_trip():
    logger = LearningRateLogger()
    assert logger.get_config() == {}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(logger)
    )
    assert type(restored) is LearningRateLogger
