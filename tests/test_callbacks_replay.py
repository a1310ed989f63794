"""Tests for kerasrec.callbacks.replay (`EpochWeights`, `replay`).

`replay` must stop where a live `fit()` with the same callback stops, and
leave the weights that callback would have restored: checked against live
runs of Keras's `EarlyStopping` and of `PrecheltStopping`.
"""

import keras
import numpy as np
import pytest

from kerasrec.callbacks import EpochWeights, PrecheltStopping, ReplayResult, replay


def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def noise_data():
    # Random labels: the model memorizes the training set and the validation
    # loss soon rises, so every stopping rule below stops within the budget.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)).astype("float32"), rng.integers(0, 3, 96)
    return (x[:64], y[:64]), (x[64:], y[64:])


def fit_args(epochs=12):
    (x, y), val = noise_data()
    return dict(x=x, y=y, validation_data=val, epochs=epochs, batch_size=32, shuffle=False,
                verbose=0)


@pytest.fixture(scope="module")
def recorded():
    """One run of the whole budget: its model, history and every epoch's weights."""
    model, keep = tiny_model(), EpochWeights()
    history = model.fit(**fit_args(), callbacks=[keep]).history
    return model, history, keep.weights


def test_epoch_weights_keeps_a_copy_per_epoch(recorded):
    model, history, weights = recorded
    assert len(weights) == len(history["loss"]) == 12
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    keep = EpochWeights()
    keep.set_model(model)
    keep.on_train_begin()
    keep.on_epoch_end(0)
    model.set_weights(weights[3])
    assert all(np.array_equal(a, b) for a, b in zip(keep.weights[0], model.get_weights())) is False
    assert EpochWeights.from_config(keep.get_config()).get_config() == {}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(keep))
    assert type(restored) is EpochWeights


@pytest.mark.parametrize(
    "make_stopper",
    [
        lambda: keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3,
                                              restore_best_weights=True),
        lambda: keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
        lambda: PrecheltStopping("GL", alpha=5.0),
        lambda: PrecheltStopping("UP", strips=1, strip_length=2),
        lambda: PrecheltStopping("GL", alpha=5.0, monitor="val_accuracy"),
    ],
    ids=["EarlyStopping_restore", "EarlyStopping_no_restore", "GL", "UP", "GL_accuracy"],
)
def test_replay_stops_and_restores_like_a_live_fit(recorded, make_stopper):
    model, history, weights = recorded
    live_model, live = tiny_model(), make_stopper()
    live_history = live_model.fit(**fit_args(), callbacks=[live]).history
    live_epochs = len(live_history["loss"])
    assert live_epochs < 12, "the set-up must make the rule stop"

    result = replay(make_stopper(), history, model=model, weights=weights)

    assert isinstance(result, ReplayResult)
    assert result.stopped_epoch == live_epochs - 1
    for key in live_history:  # the same run up to the stop
        np.testing.assert_allclose(history[key][:live_epochs], live_history[key], rtol=1e-5)
    for ours, theirs in zip(model.get_weights(), live_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # The restored epoch is the one whose weights the model now holds.
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                    weights[result.restored_epoch]))
    if getattr(live, "restore_best_weights", False):
        assert result.restored_epoch == live.best_epoch
    else:
        assert result.restored_epoch == result.stopped_epoch
    assert model.stop_training is False


def test_replay_of_a_rule_that_never_stops(recorded):
    model, history, weights = recorded
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=100,
                                            restore_best_weights=True)
    stopped, restored = replay(stopper, history, model=model, weights=weights)
    assert stopped is None
    assert restored == int(np.argmin(history["val_loss"])) == stopper.best_epoch


def test_replay_without_weights_reads_only_the_logs():
    history = {"val_loss": [1.0, 0.8, 0.9, 0.95, 0.97], "loss": [1.0] * 5}
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    assert replay(stopper, history) == (3, None)
    assert stopper.best_epoch == 1
    # The same callback replayed again starts afresh (its on_train_begin).
    assert replay(stopper, history).stopped_epoch == 3


def test_replay_calls_the_hooks_in_fit_order():
    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_begin(self, logs=None):
            self.calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            self.calls.append(("epoch_begin", epoch, float(self.model.get_weights()[0][0, 0])))

        def on_epoch_end(self, epoch, logs=None):
            self.calls.append(("epoch_end", epoch, float(self.model.get_weights()[0][0, 0]),
                               dict(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            self.calls.append("train_end")

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    weights = [[np.full((1, 1), e, "float32"), np.zeros(1, "float32")] for e in (10, 11, 12)]
    model.set_weights([np.zeros((1, 1)), np.zeros(1)])
    recorder = Recorder()
    result = replay(recorder, {"loss": [3.0, 2.0, 1.0]}, model=model, weights=weights)
    assert recorder.calls == [
        "train_begin",
        ("epoch_begin", 0, 0.0), ("epoch_end", 0, 10.0, {"loss": 3.0}),
        ("epoch_begin", 1, 10.0), ("epoch_end", 1, 11.0, {"loss": 2.0}),
        "train_end",
    ]
    assert result == (1, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"history": {}}, "Argument `history` must be"),
        ({"history": {"loss": [1.0], "val_loss": [1.0, 2.0]}}, "Argument `history` must be"),
        ({"history": {"loss": 1.0}}, "Argument `history` must be"),
        ({"history": [1.0, 2.0]}, "Argument `history` must be"),
        ({"history": {"loss": [1.0, 2.0]}, "weights": [[], []]}, "Argument `model` must be given"),
        ({"history": {"loss": [1.0, 2.0]}, "weights": [[]], "model": keras.Sequential()},
         r"Argument `weights` must hold one entry per epoch.*len\(weights\)=1"),
    ],
)
def test_replay_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        replay(keras.callbacks.EarlyStopping(), **kwargs)
