"""Recomputing BatchNorm statistics for the weights a model holds."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import batchnorm


def _model():
    inputs = keras.Input((3,))
    inner = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(3), keras.layers.BatchNormalization()]
    )
    x = keras.layers.BatchNormalization(momentum=0.9)(inputs)
    outputs = keras.layers.Dense(2)(inner(x))
    return keras.Model(inputs, outputs)


def _batches(n=40, batch_size=8, seed=0):
    x = np.random.default_rng(seed).normal(3.0, 2.0, size=(n, 3)).astype("float32")
    return x, [x[i : i + batch_size] for i in range(0, n, batch_size)]


def test_statistics_become_the_average_of_the_batch_statistics():
    model = _model()
    first = model.layers[1]
    x, batches = _batches()
    used = batchnorm.recompute_batchnorm(model, tf.data.Dataset.from_tensor_slices((x, x)).batch(8))
    assert used == 5
    np.testing.assert_allclose(
        first.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5
    )
    np.testing.assert_allclose(
        first.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4
    )
    assert first.momentum == 0.9  # put back
    assert len(batchnorm.batchnorm_layers(model)) == 2  # the nested model's too


def test_only_statistics_change_and_frozen_layers_keep_theirs():
    model = _model()
    model.layers[2].trainable = False  # the nested model: its BatchNorm is frozen
    nested_bn = batchnorm.batchnorm_layers(model)[1]
    before = [w.numpy().copy() for w in model.trainable_weights]
    frozen = nested_bn.moving_mean.numpy().copy()
    x, batches = _batches()
    assert batchnorm.recompute_batchnorm(model, x, batch_size=8, num_batches=2) == 2
    for a, b in zip(before, model.trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())
    np.testing.assert_array_equal(nested_bn.moving_mean.numpy(), frozen)
    np.testing.assert_allclose(
        model.layers[1].moving_mean.numpy(), np.mean([b.mean(0) for b in batches[:2]], 0), rtol=1e-5
    )


def test_bad_input():
    model = _model()
    with pytest.raises(ValueError, match="`data` must hold at least one batch"):
        batchnorm.recompute_batchnorm(
            model, tf.data.Dataset.from_tensor_slices(np.zeros((0, 3), "float32")).batch(4)
        )
    with pytest.raises(ValueError, match="`num_batches`"):
        batchnorm.recompute_batchnorm(model, np.zeros((4, 3)), num_batches=0)
    with pytest.raises(ValueError, match="`model` must be a `keras.Model`"):
        batchnorm.batchnorm_layers("model")
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert batchnorm.recompute_batchnorm(plain, np.zeros((4, 3))) == 0
