"""EMA (Polyak) weights from Keras's `use_ema=True`: access, validation, stopping, checkpoints."""

from pathlib import Path

import keras
import numpy as np
import pytest

from kerasrec import ema
from kerasrec._checks import ArgumentError
from kerasrec.batchnorm import recompute_batchnorm

from fresh_process import run_python

REPO_ROOT = Path(__file__).resolve().parents[1]
MOMENTUM = 0.8


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, size=(n, 3)).astype("float32")
    y = (x @ np.array([1.0, -1.0, 0.5]) > 0.5).astype("float32")[:, None]
    return x, y


X, Y = _data()
VAL = _data(16, seed=1)


def _model(batch_norm=False, dropout=False, use_ema=True, learning_rate=0.5, **optimizer_kwargs):
    keras.utils.set_random_seed(1)
    layers = [keras.Input((3,)), keras.layers.Dense(4, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(momentum=0.5))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers)
    optimizer = keras.optimizers.SGD(
        learning_rate, use_ema=use_ema, ema_momentum=MOMENTUM, **optimizer_kwargs
    )
    model.compile(optimizer, "binary_crossentropy", metrics=["accuracy"], jit_compile=False)
    return model


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def _raw(model):
    return _values(model.optimizer._trainable_variables)


def _slots(model):
    return _values(model.optimizer._model_variables_moving_average)


def _bn(model):
    return _values(ema._batchnorm_statistics(model))


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))


def _differ(a, b):
    return not _same(a, b)


class Spy(keras.callbacks.Callback):
    """Records, at every epoch end, what the model and the optimizer hold."""

    def __init__(self, validation=None):
        super().__init__()
        self.validation = validation
        self.raw, self.slots, self.nontrainable, self.bn, self.used_bn = [], [], [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.raw.append(_raw(self.model))
        self.slots.append(_slots(self.model))
        self.nontrainable.append(_values(self.model.non_trainable_variables))
        self.bn.append(_bn(self.model))
        if self.validation is not None:
            self.used_bn.append([v.copy() for v in self.validation.batchnorm_statistics or []])


class Script(keras.callbacks.Callback):
    """Overwrites a log key with scripted values, to fix the best epoch."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def _evaluate_with(model, trainable, statistics=None):
    """Evaluates on VAL with the given trainable values (and BN statistics), swapped by hand."""
    variables = list(model.optimizer._trainable_variables)
    if statistics is not None:
        variables += ema._batchnorm_statistics(model)
        trainable = list(trainable) + list(statistics)
    saved = _values(variables)
    for v, value in zip(variables, trainable):
        v.assign(value)
    try:
        return model.evaluate(*VAL, verbose=0, return_dict=True)
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)


def _fit(model, callbacks, epochs=2, validation=True, batch_size=16):
    keras.utils.set_random_seed(2)
    return model.fit(
        X,
        Y,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        shuffle=False,
        validation_data=VAL if validation else None,
        callbacks=callbacks,
    ).history


# --- What Keras does, pinned: the module's design rests on it. ----------------


def test_keras_fit_ends_by_copying_the_averages_into_the_model():
    model = _model()
    spy = Spy()
    _fit(model, [spy])
    assert _differ(spy.raw[-1], spy.slots[-1])
    assert _same(_raw(model), spy.slots[-1])  # finalize_variable_values


def test_keras_swap_rounds_the_raw_run_and_predict_leaves_it_swapped():
    runs = []
    for callbacks in ([], [keras.callbacks.SwapEMAWeights()]):
        spy = Spy()
        _fit(_model(), callbacks + [spy], epochs=3)
        runs.append(spy.raw[-1])
    assert _differ(*runs)  # the add/subtract swap is not exact
    np.testing.assert_allclose(
        np.concatenate([r.ravel() for r in runs[0]]),
        np.concatenate([r.ravel() for r in runs[1]]),
        atol=1e-5,
    )
    model = _trained_model()
    raw = _raw(model)
    model.predict(VAL[0], verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    assert _same(_slots(model), raw)  # the optimizer now holds the raw weights


def test_keras_auto_mode_cannot_read_an_ema_monitor_but_ours_can():
    model = _model()
    keras_stopper = keras.callbacks.EarlyStopping(monitor="ema_val_accuracy")
    keras_stopper.set_model(model)
    with pytest.raises(ValueError, match="automatically determine"):
        keras_stopper._set_monitor_op()
    validation = ema.EMAValidation(VAL)
    validation.set_model(model)
    validation.on_train_begin()
    for name, op in (("ema_val_accuracy", keras.ops.greater), ("ema_val_loss", keras.ops.less)):
        for stopper in (
            ema.EMAEarlyStopping(monitor=name),
            ema.EMACheckpoint("m.keras", monitor=name),
        ):
            stopper.set_model(model)
            model.evaluate(*VAL, verbose=0)  # builds the compiled metrics
            stopper._set_monitor_op()
            assert stopper.monitor_op is op and stopper.monitor == name
    validation.on_train_end()


# --- ema_weights / assign_ema_weights ----------------------------------------


def _trained_model():
    model = _model()
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)  # leaves raw == EMA
    for v in model.optimizer._trainable_variables:
        v.assign(keras.ops.add(v, 0.25))  # a raw state distinct from the average
    return model


def test_ema_weights_copies_in_for_the_block_and_restores_bit_for_bit():
    model = _trained_model()
    raw, slots = _raw(model), _slots(model)
    expected = _evaluate_with(model, slots)
    with ema.ema_weights(model) as held:
        assert held is model
        assert _same(_raw(model), slots)
        logs = model.evaluate(*VAL, verbose=0, return_dict=True)
        model.predict(VAL[0], verbose=0)
    assert logs == expected
    assert _same(_raw(model), raw) and _same(_slots(model), slots)


def test_ema_weights_restores_when_the_block_raises():
    model = _trained_model()
    raw, slots = _raw(model), _slots(model)
    with pytest.raises(RuntimeError, match="boom"):
        with ema.ema_weights(model):
            raise RuntimeError("boom")
    assert _same(_raw(model), raw) and _same(_slots(model), slots)


def test_assign_ema_weights_copies_for_good():
    model = _trained_model()
    slots = _slots(model)
    assert ema.assign_ema_weights(model) == len(slots)
    assert _same(_raw(model), slots) and _same(_slots(model), slots)


# --- EMAValidation ------------------------------------------------------------


def test_validation_logs_raw_and_ema_side_by_side():
    model = _model()
    validation = ema.EMAValidation(VAL)
    spy = Spy()
    history = _fit(model, [validation, spy], epochs=3)
    assert {"val_loss", "val_accuracy", "ema_val_loss", "ema_val_accuracy"} <= set(history)
    for epoch in range(3):
        raw = _evaluate_with(model, spy.raw[epoch])
        averaged = _evaluate_with(model, spy.slots[epoch])
        assert history["val_loss"][epoch] == pytest.approx(raw["loss"], rel=1e-6)
        assert history["val_accuracy"][epoch] == pytest.approx(raw["accuracy"], rel=1e-6)
        assert history["ema_val_loss"][epoch] == pytest.approx(averaged["loss"], rel=1e-6)
        assert history["ema_val_accuracy"][epoch] == pytest.approx(averaged["accuracy"], rel=1e-6)
    assert history["val_loss"] != history["ema_val_loss"]


def test_validation_leaves_the_raw_run_bit_identical():
    watchers = [
        ema.EMAValidation(VAL, prefix="none_"),
        ema.EMAValidation(VAL, prefix="recompute_", batchnorm="recompute", batchnorm_data=X),
        ema.EMAValidation(VAL, prefix="average_", batchnorm="average"),
    ]
    runs = []
    for callbacks in ([], watchers):  # a model with Dropout: its seed state must come back too
        spy = Spy()
        history = _fit(_model(batch_norm=True, dropout=True), callbacks + [spy], validation=False)
        runs.append(spy)
    assert {"none_val_loss", "recompute_val_loss", "average_val_loss"} <= set(history)
    plain, watched = runs
    for epoch in range(2):  # trainable, averages, BN statistics and seed state
        assert _same(plain.raw[epoch], watched.raw[epoch])
        assert _same(plain.slots[epoch], watched.slots[epoch])
        assert _same(plain.nontrainable[epoch], watched.nontrainable[epoch])


def test_batchnorm_average_is_the_ema_of_the_statistics_over_steps():
    class Steps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.statistics = []

        def on_train_batch_end(self, batch, logs=None):
            self.statistics.append(_bn(self.model))

    model = _model(batch_norm=True)
    validation = ema.EMAValidation(VAL, batchnorm="average")
    steps, spy = Steps(), Spy(validation)
    history = _fit(model, [steps, validation, spy], epochs=2, batch_size=12)  # 4 steps per epoch
    assert len(steps.statistics) == 8
    average = steps.statistics[0]  # the first step copies, as Keras's EMA
    for epoch in range(2):
        for statistics in steps.statistics[max(1, 4 * epoch) : 4 * (epoch + 1)]:
            average = [
                np.float32(MOMENTUM) * a + np.float32(1 - MOMENTUM) * s
                for a, s in zip(average, statistics)
            ]
        np.testing.assert_allclose(
            np.concatenate(spy.used_bn[epoch]), np.concatenate(average), rtol=1e-6
        )
        assert _differ(spy.used_bn[epoch], spy.bn[epoch])  # not the raw statistics
        expected = _evaluate_with(model, spy.slots[epoch], spy.used_bn[epoch])
        assert history["ema_val_loss"][epoch] == pytest.approx(expected["loss"], rel=1e-6)
        assert history["val_loss"][epoch] == pytest.approx(
            _evaluate_with(model, spy.raw[epoch], spy.bn[epoch])["loss"], rel=1e-6
        )
    # final_weights="ema": the averages and the statistics they were validated with.
    assert _same(_raw(model), spy.slots[-1]) and _same(_bn(model), spy.used_bn[-1])


def test_batchnorm_average_under_steps_per_execution_counts_momentum_per_step():
    model = _model(batch_norm=True)
    model.compile(model.optimizer, "binary_crossentropy", steps_per_execution=2, jit_compile=False)
    validation = ema.EMAValidation(VAL, batchnorm="average")
    statistics = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: statistics.append(_bn(model))
    )
    _fit(model, [record, validation], epochs=1, batch_size=12)  # 4 steps, 2 calls
    assert len(statistics) == 2
    m = np.float32(MOMENTUM**2)
    expected = [m * a + (1 - m) * s for a, s in zip(statistics[0], statistics[1])]
    np.testing.assert_allclose(
        np.concatenate(validation.batchnorm_statistics), np.concatenate(expected), rtol=1e-6
    )


def test_batchnorm_recompute_uses_recompute_batchnorm_for_the_ema_weights():
    model = _model(batch_norm=True)
    validation = ema.EMAValidation(
        VAL, batchnorm="recompute", batchnorm_data=X, batchnorm_steps=2, batch_size=16
    )
    spy = Spy(validation)
    history = _fit(model, [validation, spy], epochs=2)
    for epoch in range(2):
        check = _model(batch_norm=True)
        check.set_weights(model.get_weights())
        for v, value in zip(check.trainable_variables, spy.slots[epoch]):
            v.assign(value)
        assert recompute_batchnorm(check, X, num_batches=2, batch_size=16) == 2
        assert _same(_bn(check), spy.used_bn[epoch])
        expected = check.evaluate(*VAL, verbose=0, return_dict=True)
        assert history["ema_val_loss"][epoch] == pytest.approx(expected["loss"], rel=1e-6)
        assert _differ(spy.bn[epoch], spy.used_bn[epoch])  # the raw run's statistics were not used


def test_final_weights_raw_undoes_kerass_final_copy():
    model = _model(batch_norm=True)
    validation = ema.EMAValidation(VAL, batchnorm="average", final_weights="raw")
    spy = Spy()
    _fit(model, [validation, spy])
    assert _same(_raw(model), spy.raw[-1]) and _same(_bn(model), spy.bn[-1])
    assert _same(_slots(model), spy.slots[-1])


def test_validation_config_round_trip():
    validation = ema.EMAValidation(
        VAL, prefix="avg_", batchnorm="average", final_weights="raw", steps=2
    )
    config = validation.get_config()
    assert config == {
        "batch_size": None,
        "steps": 2,
        "prefix": "avg_",
        "batchnorm": "average",
        "batchnorm_steps": None,
        "final_weights": "raw",
    }
    assert ema.EMAValidation.from_config({**config, "validation_data": VAL}).get_config() == config


# --- EMAEarlyStopping ---------------------------------------------------------


def test_early_stopping_on_ema_restores_the_best_epochs_ema_weights_and_statistics():
    model = _model(batch_norm=True)
    validation = ema.EMAValidation(VAL, batchnorm="average")
    stopper = ema.EMAEarlyStopping(monitor="ema_val_loss", patience=2, restore_best_weights=True)
    spy = Spy(validation)
    _fit(
        model,
        [validation, spy, Script("ema_val_loss", [0.5, 0.2, 0.4, 0.45, 0.1]), stopper],
        epochs=5,
    )
    assert len(spy.raw) == 4 and stopper.best_epoch == 1
    assert _same(_raw(model), spy.slots[1]) and _same(_bn(model), spy.used_bn[1])
    assert _differ(spy.slots[1], spy.slots[-1]) and _differ(spy.slots[1], spy.raw[1])


def test_early_stopping_on_raw_behaves_like_keras():
    model = _model()
    stopper = ema.EMAEarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    spy = Spy()
    _fit(
        model,
        [ema.EMAValidation(VAL), spy, Script("val_loss", [0.5, 0.2, 0.4, 0.1]), stopper],
        epochs=4,
    )
    assert stopper.best_epoch == 1 and len(spy.raw) == 3
    assert _same(_raw(model), spy.raw[1])


def test_early_stopping_config_round_trip():
    config = ema.EMAEarlyStopping(
        monitor="ema_val_accuracy", patience=3, min_delta=0.1
    ).get_config()
    assert (
        config["monitor"] == "ema_val_accuracy"
        and config["patience"] == 3
        and config["min_delta"] == 0.1
    )
    assert ema.EMAEarlyStopping.from_config(config).get_config() == config


# --- EMACheckpoint ------------------------------------------------------------


@pytest.mark.parametrize("weights", ["ema", "raw"])
def test_checkpoint_holds_the_weights_asked_for(tmp_path, weights):
    model = _model(batch_norm=True)
    path = str(tmp_path / ("{epoch}.weights.h5"))
    validation = ema.EMAValidation(VAL, batchnorm="average")
    before, after, used = Spy(), Spy(), Spy(validation)
    # The checkpoint before EMAValidation: the order does not matter for the weights.
    checkpoint = ema.EMACheckpoint(path, weights=weights, save_weights_only=True)
    _fit(model, [before, checkpoint, after, validation, used])
    for epoch in range(2):
        loaded = _model(batch_norm=True)
        loaded.load_weights(path.format(epoch=epoch + 1))
        if weights == "ema":
            want, want_bn = before.slots[epoch], used.used_bn[epoch]
        else:
            want, want_bn = before.raw[epoch], before.bn[epoch]
        assert _same(_values(loaded.trainable_variables), want) and _same(_bn(loaded), want_bn)
        assert _same(after.raw[epoch], before.raw[epoch]) and _same(
            after.slots[epoch], before.slots[epoch]
        )
        assert _same(after.bn[epoch], before.bn[epoch])


def test_checkpoint_best_ema_model_file(tmp_path):
    model = _model()
    path = str(tmp_path / "best.keras")
    spy = Spy()
    # A custom prefix, mode="auto" (Keras alone cannot tell the direction of "avg_val_accuracy").
    keep = ema.EMACheckpoint(path, monitor="avg_val_accuracy", save_best_only=True)
    validation = ema.EMAValidation(VAL, prefix="avg_")
    _fit(model, [validation, spy, Script("avg_val_accuracy", [0.5, 0.9, 0.7]), keep], epochs=3)
    loaded = keras.saving.load_model(path)
    assert _same(_values(loaded.trainable_variables), spy.slots[1])
    assert _same(_values(loaded.optimizer._model_variables_moving_average), spy.slots[1])
    assert ema.EMACheckpoint.from_config(keep.get_config()).get_config() == keep.get_config()


# --- Bad arguments: ValueErrors naming the argument, before any step. ---------


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: ema.EMAValidation(None), "validation_data"),
        (lambda: ema.EMAValidation((VAL[0],)), "validation_data"),
        (lambda: ema.EMAValidation(VAL, prefix=""), "prefix"),
        (lambda: ema.EMAValidation(VAL, prefix=3), "prefix"),
        (lambda: ema.EMAValidation(VAL, batchnorm="ema"), "batchnorm"),
        (lambda: ema.EMAValidation(VAL, batchnorm="recompute"), "batchnorm_data"),
        (lambda: ema.EMAValidation(VAL, batchnorm_data=X), "batchnorm_data"),
        (lambda: ema.EMAValidation(VAL, final_weights="best"), "final_weights"),
        (lambda: ema.EMAValidation(VAL, steps=0), "steps"),
        (lambda: ema.EMACheckpoint("m.keras", weights="both"), "weights"),
        (lambda: ema.EMAEarlyStopping(monitor=""), "monitor"),
        (lambda: ema.check_optimizer(keras.optimizers.SGD()), "use_ema"),
        (lambda: ema.check_optimizer("sgd"), "optimizer"),
        (
            lambda: ema.ema_weights(
                keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            ).__enter__(),
            "model",
        ),
        (lambda: ema.ema_weights(_model()).__enter__(), "model"),  # optimizer not built
        (lambda: ema.assign_ema_weights(_model(use_ema=False)), "use_ema"),
    ],
)
def test_bad_arguments_raise_naming_them(make, name):
    with pytest.raises(ArgumentError, match=f"`{name}`"):
        make()


def test_ema_momentum_of_one_is_refused():
    optimizer = keras.optimizers.SGD(use_ema=True, ema_momentum=1.0)  # Keras lets it through
    with pytest.raises(ValueError, match="`ema_momentum`"):
        ema.check_optimizer(optimizer)
    optimizer.ema_momentum = -0.5  # set after the constructor's check
    with pytest.raises(ValueError, match="`ema_momentum`"):
        ema.check_optimizer(optimizer)


@pytest.mark.parametrize(
    "model_kwargs, callbacks, name",
    [
        ({"use_ema": False}, lambda: [ema.EMAValidation(VAL)], "use_ema"),
        ({"use_ema": False}, lambda: [ema.EMACheckpoint("m.keras")], "use_ema"),
        ({"ema_momentum": 1.0}, lambda: [ema.EMAValidation(VAL)], "ema_momentum"),
        ({}, lambda: [ema.EMAEarlyStopping(monitor="ema_val_loss")], "monitor"),
        (
            {},
            lambda: [ema.EMAEarlyStopping(monitor="ema_val_loss"), ema.EMAValidation(VAL)],
            "monitor",
        ),
        (
            {},
            lambda: [ema.EMACheckpoint("m.keras", monitor="ema_val_loss", save_best_only=True)],
            "monitor",
        ),
    ],
)
def test_bad_set_ups_raise_before_any_training_step(model_kwargs, callbacks, name):
    if "ema_momentum" in model_kwargs:
        model = _model()
        model.optimizer.ema_momentum = model_kwargs["ema_momentum"]
    else:
        model = _model(**model_kwargs)
    with pytest.raises(ArgumentError, match=f"`{name}`"):
        _fit(model, callbacks())
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


def test_a_monitor_missing_from_the_logs_raises_naming_it():
    model = _model()
    stopper = ema.EMAEarlyStopping(monitor="ema_val_auc")
    with pytest.raises(ArgumentError, match="`monitor`.*ema_val_auc.*ema_val_loss"):
        _fit(model, [ema.EMAValidation(VAL), stopper])


# --- tf.distribute: 2 logical CPUs, in a subprocess. -------------------------

_MIRRORED_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})
import tensorflow as tf
# Logical devices must be configured before TF initializes: hence a subprocess.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from kerasrec import ema
from kerasrec._checks import ArgumentError

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 3)).astype("float32")
y = (x.sum(1, keepdims=True) > 0).astype("float32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
val = tf.data.Dataset.from_tensor_slices((x[:16], y[:16])).batch(8)

def build(**kwargs):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(keras.optimizers.SGD(0.5, use_ema=True, ema_momentum=0.8, **kwargs),
                      "binary_crossentropy", metrics=["accuracy"])
    return model

def read(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]

def same(a, b):
    return len(a) == len(b) and all(np.array_equal(p, q) for p, q in zip(a, b))

def replicas(variables):
    return [[r.numpy() for r in v.value.values] for v in variables]

class Spy(keras.callbacks.Callback):
    raw, slots = [], []
    def on_epoch_end(self, epoch, logs=None):
        self.raw.append(read(self.model.optimizer._trainable_variables))
        self.slots.append(read(self.model.optimizer._model_variables_moving_average))

def evaluate_with(model, values):
    variables = model.optimizer._trainable_variables
    saved = read(variables)
    with strategy.scope():
        for v, value in zip(variables, values):
            v.assign(value)
    result = model.evaluate(val, verbose=0, return_dict=True)
    with strategy.scope():
        for v, value in zip(variables, saved):
            v.assign(value)
    return result

model = build()
spy = Spy()
path = {folder!r} + "/{{epoch}}.weights.h5"
history = model.fit(data, validation_data=val, epochs=2, verbose=0, callbacks=[
    ema.EMAValidation(val), spy, ema.EMACheckpoint(path, save_weights_only=True)]).history
out = {{"replicas": strategy.num_replicas_in_sync, "history": history,
       "manual_ema": [evaluate_with(model, s)["loss"] for s in spy.slots],
       "manual_raw": [evaluate_with(model, r)["loss"] for r in spy.raw]}}
loaded = build()
loaded.load_weights(path.format(epoch=2))
out["checkpoint_is_ema"] = same(read(loaded.trainable_variables), spy.slots[-1])
out["checkpoint_is_raw"] = same(read(loaded.trainable_variables), spy.raw[-1])
# A raw state distinct from the averages, then ema_weights on every replica.
variables = model.optimizer._trainable_variables
with strategy.scope():
    for v, value in zip(variables, spy.raw[-1]):
        v.assign(value)
with ema.ema_weights(model):
    inside = replicas(variables)
    out["inside_loss"] = model.evaluate(val, verbose=0, return_dict=True)["loss"]
out["inside_is_ema"] = all(same([rs[i] for rs in inside], spy.slots[-1]) for i in range(2))
after = replicas(variables)
out["after_is_raw"] = all(same([rs[i] for rs in after], spy.raw[-1]) for i in range(2))
out["slots_intact"] = same(read(model.optimizer._model_variables_moving_average), spy.slots[-1])
frequent = build(ema_overwrite_frequency=2)
try:
    frequent.fit(data, epochs=1, verbose=0, callbacks=[ema.EMAValidation(val)])
    out["overwrite_error"] = None
except ArgumentError as error:
    out["overwrite_error"] = str(error)
out["overwrite_iterations"] = int(keras.ops.convert_to_numpy(frequent.optimizer.iterations))
print(json.dumps(out))
"""




def test_mirrored_strategy_validation_weights_and_checkpoint(tmp_path):
    out = run_python(
        _MIRRORED_SCRIPT.format(repo=str(REPO_ROOT), folder=str(tmp_path)), cwd=tmp_path
    )
    assert out["replicas"] == 2
    history = out["history"]
    assert history["ema_val_loss"] == pytest.approx(out["manual_ema"], rel=1e-6)
    assert history["val_loss"] == pytest.approx(out["manual_raw"], rel=1e-6)
    assert history["ema_val_loss"] != history["val_loss"]
    assert out["checkpoint_is_ema"] and not out["checkpoint_is_raw"]
    assert out["inside_is_ema"] and out["after_is_raw"] and out["slots_intact"]
    assert out["inside_loss"] == pytest.approx(history["ema_val_loss"][-1], rel=1e-6)
    assert (
        "`ema_overwrite_frequency`" in out["overwrite_error"] and out["overwrite_iterations"] == 0
    )
