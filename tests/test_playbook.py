"""kerasrec.playbook: each step of the tuning procedure on its own."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import data, models, playbook


@pytest.fixture(scope="module")
def digits():
    train, val, test, info = data.load("digits", batch_size=32, seed=0)
    return train, val, info


def mlp(info, **kwargs):
    return lambda: models.build_mlp(info.input_shape, info.num_classes, **kwargs)


# Step 1 ---------------------------------------------------------------------


def test_initial_loss_of_an_untrained_classifier_is_ln_c(digits):
    train, _, info = digits
    result = playbook.check_initial_loss(mlp(info)(), train)
    assert result.expected == pytest.approx(math.log(10))
    assert result.ok, result.message
    assert abs(result.loss - math.log(10)) < 0.25 * math.log(10)


def test_initial_loss_flags_a_confidently_wrong_model(digits):
    train, _, info = digits
    model = mlp(info)()
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 100.0, bias])  # huge last-layer weights: confident at init
    result = playbook.check_initial_loss(model, train)
    assert not result.ok
    assert result.loss > 2 * math.log(10)
    assert "too large" in result.message


def test_initial_loss_flags_labels_leaking_into_inputs():
    # The label is written into the input: a one-hot input and an identity
    # "model" that already predicts it.
    y = np.arange(64) % 4
    x = np.eye(4, dtype="float32")[y] * 0.97 + 0.01
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Activation("linear")(inputs))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = playbook.check_initial_loss(model, ds)
    assert not result.ok and result.loss < 0.1
    assert "leak" in result.message


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_batches": 0}, "num_batches"), ({"tolerance": -1}, "tolerance"),
     ({"num_classes": 1}, "num_classes")],
)
def test_initial_loss_bad_arguments(digits, kwargs, name):
    train, _, info = digits
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.check_initial_loss(mlp(info)(), train, **kwargs)


def test_initial_loss_empty_dataset(digits):
    train, _, info = digits
    with pytest.raises(ValueError, match="`dataset`"):
        playbook.check_initial_loss(mlp(info)(), train.take(0))


# Step 2 ---------------------------------------------------------------------


def test_overfit_small_sample_memorizes_five_batches(digits):
    train, _, info = digits
    result = playbook.overfit_small_sample(mlp(info), train, num_batches=5, max_epochs=100,
                                           learning_rate=3e-3)
    assert result.reached, result.message
    assert result.examples == 160 and result.accuracy >= 0.99
    assert result.epochs < 100 and len(result.history["loss"]) == result.epochs


def test_overfit_small_sample_reports_failure_with_suggestions(digits):
    train, _, info = digits
    # A far too low learning rate cannot memorize anything in 5 epochs.
    result = playbook.overfit_small_sample(mlp(info), train, max_epochs=5, learning_rate=1e-7)
    assert not result.reached
    assert result.epochs == 5
    assert "raise the learning rate" in result.message


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_batches": 0}, "num_batches"), ({"max_epochs": -2}, "max_epochs"),
     ({"target_accuracy": 1.5}, "target_accuracy"), ({"learning_rate": 0}, "learning_rate"),
     ({"optimizer": "rmsprop"}, "name")],
)
def test_overfit_bad_arguments(digits, kwargs, name):
    train, _, info = digits
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.overfit_small_sample(mlp(info), train, **kwargs)


# Step 7 ---------------------------------------------------------------------


def test_train_final_cosine_decays_to_zero_and_keeps_the_best_epoch(digits):
    train, val, info = digits
    result = playbook.train_final(mlp(info), train, val, learning_rate=3e-3,
                                  weight_decay=1e-4, epochs=6, patience=6)
    lrs = result.history["learning_rate"]
    assert lrs[0] < 3e-3 and lrs[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # cosine only decays
    best = int(np.argmax(result.history["val_accuracy"])) + 1
    assert result.best_epoch == best and result.epochs == 6
    _, accuracy = result.model.evaluate(val, verbose=0)  # the best weights were restored
    assert accuracy == pytest.approx(max(result.history["val_accuracy"]), abs=1e-6)


def test_train_final_stops_early(digits):
    train, val, info = digits
    # With lr 1e-7 nothing improves: EarlyStopping stops after `patience`.
    result = playbook.train_final(mlp(info), train, val, learning_rate=1e-7, epochs=30,
                                  patience=2)
    assert result.epochs < 30


def test_make_optimizer_names():
    assert isinstance(playbook.make_optimizer("sgd", 0.1), keras.optimizers.SGD)
    adamw = playbook.make_optimizer("adamw", 1e-3, 1e-4)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="sgd, adam, adamw"):
        playbook.make_optimizer("lion", 1e-3)
    with pytest.raises(ValueError, match="`weight_decay`"):
        playbook.make_optimizer("sgd", 0.1, -1.0)
