"""Tiny regression models and data that several test modules train on."""

import keras
import numpy as np


def tiny_model(learning_rate=0.1, momentum=0.0, *, hidden=None, batch_norm=False, **compile_kwargs):
    """`Dense(1)` on 2 inputs (after `Dense(hidden)` and BatchNorm if asked), SGD, MSE."""
    layers = [keras.Input((2,))]
    if hidden:
        layers.append(keras.layers.Dense(hidden))
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
        loss="mse",
        **compile_kwargs,
    )
    return model


def tiny_data(n=32, seed=0, bias=0.0):
    """`(x, y)` with `y = x1 - 2 x2 + bias`, `x` standard normal."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0]]) + bias).astype("float32")
    return x, y
