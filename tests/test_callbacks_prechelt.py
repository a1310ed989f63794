"""Tests for kerasrec.callbacks.prechelt (`PrecheltStopping`, `prechelt_stop_epochs`).

Hooks are called directly on a tiny model with hand-made logs, plus short
real `fit()` runs.
"""

import inspect
import os
import warnings

import keras
import numpy as np
import pytest

from kerasrec.callbacks import PrecheltStopping
from kerasrec.callbacks import prechelt_stop_epochs
from kerasrec.callbacks.prechelt import _resolve_mode

import tiny


def tiny_model(learning_rate=0.1, jit_compile="auto"):
    return tiny.tiny_model(learning_rate, jit_compile=jit_compile)


tiny_data = tiny.tiny_data

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




def test_best_weights_come_from_keras_early_stopping():
    # The best weights are kept by a keras.callbacks.EarlyStopping inside,
    # which never stops training by itself.
    callback = PrecheltStopping("GL", alpha=20.0)
    drive(callback)
    assert isinstance(callback._keeper, keras.callbacks.EarlyStopping)
    assert callback._keeper.best_epoch == callback.best_epoch == 3
    assert np.all(callback.best_weights[0] == 3)
    assert callback.stopped_epoch is None and callback._keeper.stopped_epoch == 0


def test_restore_best_weights_false_keeps_the_last_weights():
    callback = PrecheltStopping("UP", strips=2, restore_best_weights=False)
    model = drive(callback)
    assert callback.stopped_epoch == 14 and callback.best_epoch == 3
    assert callback.best_weights is None
    assert np.all(model.get_weights()[0] == 14)


def test_a_nan_first_epoch_is_never_the_best():
    callback = PrecheltStopping("GL", alpha=50.0)
    model = drive(callback, val=[float("nan"), 0.9, 0.8, 0.85], train=[1.0] * 4)
    assert [e["improved"] for e in callback.trace] == [False, True, True, False]
    assert callback.best_epoch == 2
    assert np.all(model.get_weights()[0] == 2)


# ---------------------------------------------------------------------------
# Monitors to maximize: `mode`.

# A steadily improving validation accuracy (and a falling training loss).
RISING_ACCURACY = [0.50, 0.60, 0.68, 0.74, 0.79, 0.83, 0.86, 0.88, 0.90, 0.91]
FALLING_LOSS = [2.0, 1.6, 1.3, 1.1, 0.95, 0.85, 0.78, 0.72, 0.68, 0.65]
# Peaks at epoch 5, then falls: 1 - accuracy is the classification error.
PEAKED_ACCURACY = [0.50, 0.70, 0.80, 0.85, 0.88, 0.90, 0.89, 0.87, 0.86, 0.84,
                   0.83, 0.82, 0.81, 0.80, 0.79]


def drive_accuracy(callback, accuracy, loss=None, model=None):
    loss = loss or [1.0 / (i + 1) for i in range(len(accuracy))]
    model = model or tiny_model()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, (a, t) in enumerate(zip(accuracy, loss)):
        kernel, bias = model.get_weights()
        model.set_weights([np.full_like(kernel, epoch), np.full_like(bias, epoch)])
        callback.on_epoch_end(epoch, {"loss": t, "val_accuracy": a,
                                      "val_error": 1.0 - a})
        if model.stop_training:
            break
    callback.on_train_end()
    return model


@pytest.mark.parametrize(
    "kwargs",
    [{"criterion": "GL"}, {"criterion": "PQ", "strip_length": 2},
     {"criterion": "UP", "strips": 1, "strip_length": 2}],
    ids=["GL", "PQ", "UP"],
)
def test_regression_no_stop_on_a_rising_accuracy(kwargs):
    # Regression: PrecheltStopping had no `mode` and took every monitor for
    # an error, so on a steadily improving val_accuracy GL stopped at epoch
    # 1 (accuracy 0.6 read as a 20% "generalization loss" over 0.5).
    callback = PrecheltStopping(monitor="val_accuracy", **kwargs)
    model = drive_accuracy(callback, RISING_ACCURACY, FALLING_LOSS)
    assert callback.resolved_mode == "max"
    assert callback.stopped_epoch is None
    assert len(callback.trace) == len(RISING_ACCURACY)
    assert all(e["improved"] for e in callback.trace)
    assert callback.best_epoch == len(RISING_ACCURACY) - 1
    assert np.all(model.get_weights()[0] == len(RISING_ACCURACY) - 1)
    assert prechelt_stop_epochs(RISING_ACCURACY, FALLING_LOSS, mode="max",
                                strip_length=2, strips_up=1) == {
        "GL": None, "PQ": None, "UP": None}


def test_mode_min_on_an_accuracy_is_the_old_defect():
    # What the defect did: read as an error, the rising accuracy "gets worse".
    callback = PrecheltStopping("GL", monitor="val_accuracy", mode="min")
    drive_accuracy(callback, RISING_ACCURACY, FALLING_LOSS)
    assert callback.stopped_epoch == 1 and callback.best_epoch == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"criterion": "GL", "alpha": 5.0}, {"criterion": "GL", "alpha": 50.0},
     {"criterion": "PQ", "alpha": 0.1}, {"criterion": "UP", "strips": 2}],
)
def test_max_monitor_stops_where_its_error_rate_does(kwargs):
    # mode="max" runs the criteria on E = 1 - value: monitoring val_accuracy
    # is monitoring the classification error val_error = 1 - val_accuracy.
    on_accuracy = PrecheltStopping(monitor="val_accuracy", **kwargs)
    on_error = PrecheltStopping(monitor="val_error", **kwargs)
    drive_accuracy(on_accuracy, PEAKED_ACCURACY)
    drive_accuracy(on_error, PEAKED_ACCURACY)
    assert on_accuracy.resolved_mode == "max" and on_error.resolved_mode == "min"
    assert on_accuracy.stopped_epoch == on_error.stopped_epoch
    assert on_accuracy.best_epoch == on_error.best_epoch == 5
    assert [e["E_va"] for e in on_accuracy.trace] == pytest.approx(
        [1.0 - a for a in PEAKED_ACCURACY[: len(on_accuracy.trace)]], rel=1e-12)
    offline = prechelt_stop_epochs(
        PEAKED_ACCURACY, [1.0 / (i + 1) for i in range(len(PEAKED_ACCURACY))],
        alpha_gl=kwargs.get("alpha", 5.0), alpha_pq=kwargs.get("alpha", 3.0),
        strips_up=kwargs.get("strips", 3), mode="max")
    assert offline[kwargs["criterion"]] == on_accuracy.stopped_epoch


def test_gl_on_accuracy_hand_computed():
    # E_opt = 1 - 0.90 = 0.10 at epoch 5; epoch 6: E = 0.11, GL = 10% > 5.
    callback = PrecheltStopping("GL", alpha=5.0, monitor="val_accuracy")
    drive_accuracy(callback, PEAKED_ACCURACY)
    assert callback.stopped_epoch == 6
    assert callback.trace[6]["GL"] == pytest.approx(100 * (0.11 / 0.10 - 1))


def test_pq_training_monitor_to_maximize_uses_its_error_rate():
    callback = PrecheltStopping("PQ", strip_length=2, monitor="val_loss",
                                train_monitor="accuracy")
    model = tiny_model()
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0, {"val_loss": 1.0, "accuracy": 0.6})
    callback.on_epoch_end(1, {"val_loss": 1.1, "accuracy": 0.8})
    assert [e["E_tr"] for e in callback.trace] == pytest.approx([0.4, 0.2])
    assert callback.trace[1]["P"] == pytest.approx(1000 * (0.6 / (2 * 0.2) - 1))


def compiled(metrics):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse", metrics=metrics)
    x = np.zeros((4, 2), "float32")
    model.evaluate(x, np.zeros((4, 3), "float32"), verbose=0)  # builds the metrics
    return model


def test_resolve_mode_follows_keras_then_the_name():
    model = compiled([keras.metrics.MeanSquaredError(name="acc_mse"),
                      keras.metrics.AUC(name="auc")])
    # Keras's own rule first: a loss goes down, a metric its declared way.
    assert _resolve_mode("val_loss", "auto", model) == "min"
    assert _resolve_mode("val_auc", "auto", model) == "max"
    assert _resolve_mode("val_acc_mse", "auto", model) == "min"  # not by name
    # Where Keras cannot tell, the name: "acc" or "auc" up, else an error.
    assert _resolve_mode("val_acc_mse", "auto") == "max"
    assert _resolve_mode("val_accuracy", "auto") == "max"
    assert _resolve_mode("val_error", "auto", model) == "min"
    assert _resolve_mode("val_error", "max", model) == "max"
    with pytest.raises(ValueError, match="Argument `mode` must be one of"):
        _resolve_mode("val_loss", "up")


def test_max_monitor_outside_unit_interval_warns():
    callback = PrecheltStopping(monitor="val_psnr", mode="max")
    callback.set_model(tiny_model())
    callback.on_train_begin()
    with pytest.warns(UserWarning, match=r"1 - val_psnr.*\[0, 1\]"):
        callback.on_epoch_end(0, {"loss": 1.0, "val_psnr": 25.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per fit() only
        callback.on_epoch_end(1, {"loss": 1.0, "val_psnr": 26.0})
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        prechelt_stop_epochs([25.0, 26.0], mode="max")


def test_prechelt_stopping_fit_on_val_accuracy():
    # A real fit with `accuracy` compiled: mode="auto" reads Keras's rule.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callback = PrecheltStopping("UP", strips=1, strip_length=2, monitor="val_accuracy")
    history = model.fit(x[:32], y[:32], batch_size=8, epochs=8, verbose=0,
                        validation_data=(x[32:], y[32:]), callbacks=[callback]).history
    accuracy = history["val_accuracy"]
    assert callback.resolved_mode == "max"
    assert callback.stopped_epoch == prechelt_stop_epochs(
        accuracy, history["loss"], strips_up=1, strip_length=2, mode="max")["UP"]
    best = int(np.argmax(accuracy))  # the first of the highest
    assert callback.best_epoch == best
    restored = model.evaluate(x[32:], y[32:], verbose=0)[1]
    assert restored == pytest.approx(accuracy[best])


# ---------------------------------------------------------------------------
# Configs and bad input.


@pytest.mark.parametrize(
    "callback",
    [
        PrecheltStopping(),
        PrecheltStopping("UP", strip_length=4, strips=2, monitor="val_mae",
                         train_monitor="mae", restore_best_weights=False,
                         filepath="m.keras", verbose=1, mode="min"),
    ],
    ids=["prechelt_default", "prechelt_up"],
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
    (lambda: PrecheltStopping(mode="up"), "Argument `mode` must be one of"),
    (lambda: prechelt_stop_epochs([1.0, 2.0], [1.0]), "`train_losses`"),
    (lambda: prechelt_stop_epochs([1.0], alpha_gl=0.0), "`alpha_gl`"),
    (lambda: prechelt_stop_epochs([1.0], alpha_pq=-1.0), "`alpha_pq`"),
    (lambda: prechelt_stop_epochs([1.0], strips_up=0), "`strips_up`"),
    (lambda: prechelt_stop_epochs([1.0], strip_length=0), "`strip_length`"),
    (lambda: prechelt_stop_epochs([1.0], mode="auto"), "Argument `mode` must be one of"),
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
