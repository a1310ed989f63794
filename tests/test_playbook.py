"""kerasrec.playbook: each step of the tuning procedure on its own."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import data, models, playbook, tuning


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
    assert isinstance(tuning.make_optimizer("sgd", 0.1), keras.optimizers.SGD)
    adamw = tuning.make_optimizer("adamw", 1e-3, 1e-4)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="sgd, adam, adamw"):
        tuning.make_optimizer("lion", 1e-3)
    with pytest.raises(ValueError, match="`weight_decay`"):
        tuning.make_optimizer("sgd", 0.1, -1.0)


def test_initial_loss_leaves_every_weight_unchanged():
    # Training mode updates BatchNorm's moving statistics: they must be put back.
    model = models.build_cnn((16, 16, 3), 4, width=4)
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).uniform(0, 255, (32, 16, 16, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(32) % 4)).batch(16)
    result = playbook.check_initial_loss(model, ds)
    assert result.ok, result.message
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# Steps 3-5 ------------------------------------------------------------------


def test_find_learning_rate_suggests_a_sane_sgd_rate(digits):
    train, _, info = digits
    result = playbook.find_learning_rate(mlp(info), train, num_steps=60)
    assert 1e-4 < result.suggested_learning_rate < 1.0
    assert len(result.losses) <= 60


def row(lr, wd, score, status="COMPLETED"):
    return {"status": status, "score": score,
            "hyperparameters": {"learning_rate": lr, "weight_decay": wd}}


def test_narrow_ranges_spans_the_best_trials_widened():
    table = [row(0.01, 1e-5, 0.5), row(0.1, 1e-4, 0.9), row(1.0, 1e-3, 0.8),
             row(0.001, 1e-3, 0.95, status="RUNNING"), row(0.1, 1e-3, 0.7)]
    ranges = playbook.narrow_ranges(table, top_k=2, widen=2.0)
    assert ranges["learning_rate"] == pytest.approx((0.05, 2.0))
    assert ranges["weight_decay"] == pytest.approx((5e-5, 2e-3))


@pytest.mark.parametrize(
    "kwargs, name",
    [({"table": []}, "table"), ({"table": [row(0.1, 0, 0.5)]}, "table"),
     ({"table": [row(0.1, 1e-4, 0.5)], "top_k": 0}, "top_k"),
     ({"table": [row(0.1, 1e-4, 0.5)], "widen": 0.5}, "widen")],
)
def test_narrow_ranges_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.narrow_ranges(**kwargs)


def test_coarse_then_refine_search_and_resume(digits, tmp_path):
    train, val, info = digits
    coarse = playbook.coarse_search(mlp(info), train, val, learning_rate=0.05,
                                    directory=str(tmp_path), grid_points=2, epochs=1,
                                    weight_decay=(1e-5, 1e-3))
    lrs = sorted({r["hyperparameters"]["learning_rate"] for r in coarse.table})
    assert lrs == pytest.approx([0.005, 0.5])
    assert len(coarse.table) == 4 and all(r["status"] == "COMPLETED" for r in coarse.table)
    assert coarse.best_score == max(r["score"] for r in coarse.table)
    assert (tmp_path / "coarse" / "trials.csv").exists()
    # Rerun in the same directory: the finished grid is reused, nothing retrains.
    again = playbook.coarse_search(mlp(info), train, val, learning_rate=0.05,
                                   directory=str(tmp_path), grid_points=2, epochs=1,
                                   weight_decay=(1e-5, 1e-3))
    assert [r["trial_id"] for r in again.table] == [r["trial_id"] for r in coarse.table]
    assert [r["seconds"] for r in again.table] == [r["seconds"] for r in coarse.table]
    ranges = playbook.narrow_ranges(coarse.table, top_k=2)
    refine = playbook.refine_search(mlp(info), train, val, directory=str(tmp_path),
                                    max_trials=2, epochs=2, warmup_epochs=1, **ranges)
    assert len(refine.table) == 2
    for r in refine.table:
        lo, hi = ranges["learning_rate"]
        assert lo <= r["hyperparameters"]["learning_rate"] <= hi
        assert r["epochs"] == 2 and len(r["history"]["val_accuracy"]) == 2
        # One epoch of warmup: the learning rate reaches the trial's value at
        # the end of epoch 1 and stays there.
        lr = r["hyperparameters"]["learning_rate"]
        assert r["history"]["learning_rate"] == pytest.approx([lr, lr], rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"learning_rate": 0}, "learning_rate"), ({"span": 1.0}, "span"),
     ({"weight_decay": (1e-3, 1e-5)}, "weight_decay"), ({"epochs": 0}, "epochs"),
     ({"epochs": 2, "warmup_epochs": 2}, "warmup_epochs"),
     ({"warmup_epochs": -0.5}, "warmup_epochs")],
)
def test_coarse_search_bad_arguments(digits, tmp_path, kwargs, name):
    train, val, info = digits
    args = {"learning_rate": 0.05, "directory": str(tmp_path), **kwargs}
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.coarse_search(mlp(info), train, val, **args)


def test_warmup_needs_a_dataset_of_known_length(digits, tmp_path):
    train, val, info = digits
    with pytest.raises(ValueError, match="Argument `train` must be a finite dataset"):
        playbook.coarse_search(mlp(info), train.repeat(), val, learning_rate=0.05,
                               directory=str(tmp_path), epochs=2, warmup_epochs=1)
    with pytest.raises(ValueError, match="Argument `train` must be a finite dataset"):
        playbook.train_final(mlp(info), train.repeat(), val, learning_rate=0.05, epochs=2)
    assert not list(tmp_path.iterdir())  # failed before any trial
