"""BatchNorm statistics that belong to a model's current weights.

BatchNormalization's moving mean and variance are not weights the optimizer
trains: they follow the trajectory of the raw weights during `fit`. A model
whose trainable weights were replaced (averaged checkpoints, as in SWA; the
optimizer's EMA weights from `use_ema=True`) still carries the statistics of
the raw run. `recompute_batchnorm` measures them again for the weights the
model holds, as SWA's `update_bn` does: a forward pass in training mode over
some data, with each layer's momentum set so that the moving statistics end
as the plain average of the batches' statistics.
"""

import keras
import numpy as np
import tensorflow as tf

from kerasrec._checks import ArgumentError, check_positive_int

__all__ = ["batchnorm_layers", "recompute_batchnorm"]


def batchnorm_layers(model):
    """The model's `keras.layers.BatchNormalization` layers, nested models included."""
    if not isinstance(model, keras.Model):
        raise ArgumentError(f"Argument `model` must be a `keras.Model`. Received: model={model!r}")
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def _inputs(data, batch_size):
    if isinstance(data, tf.data.Dataset):
        for element in data:
            yield element[0] if isinstance(element, (tuple, list)) else element
        return
    if isinstance(data, (tuple, list)) and data and not np.isscalar(data[0]):
        data = data[0]  # (x, y): the inputs
    x = np.asarray(data)
    if x.ndim == 0 or len(x) == 0:
        raise ArgumentError(
            "Argument `data` must be a batched `tf.data.Dataset`, an array of inputs "
            f"or an `(x, y)` pair with at least one example. Received: data of shape {x.shape}"
        )
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size]


def recompute_batchnorm(model, data, *, num_batches=None, batch_size=32):
    """Re-measures every trainable BatchNorm layer's statistics on `data`.

    Each layer's moving mean and variance become the average, over the
    batches, of the batch statistics that the model's current weights
    produce: at the `i`-th batch (1-based) the layer runs in training mode
    with `momentum = (i - 1) / i`, so

    ```python
    moving_mean = sum(batch_means) / num_batches
    moving_variance = sum(batch_variances) / num_batches
    ```

    Only the statistics change: no weight is trained, and each layer's
    momentum is put back afterwards. A layer with `trainable=False` (a
    frozen backbone's) runs in inference mode in Keras 3 and keeps its
    statistics. Other layers run in training mode too (dropout included),
    as during `fit`, where the statistics were first gathered.

    Args:
        model: a built `keras.Model`.
        data: a batched `tf.data.Dataset` of inputs or `(inputs, targets, ...)`
            tuples, an array of inputs, or an `(x, y)` pair of arrays.
        num_batches: int > 0. Use only the first `num_batches` batches.
            Defaults to `None`: all of them.
        batch_size: int > 0. The batch size for array `data`. Defaults to `32`.

    Returns:
        The number of batches used (0 if the model has no BatchNorm layer
        to update).

    Raises:
        ValueError: if `data` holds no batch.

    Example:

    >>> averaged = kerasrec.ensembles.average_weights(snapshots)
    >>> kerasrec.batchnorm.recompute_batchnorm(averaged, train, num_batches=50)
    50
    """
    check_positive_int("num_batches", num_batches, allow_none=True)
    check_positive_int("batch_size", batch_size)
    layers = [layer for layer in batchnorm_layers(model) if layer.trainable]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for batch in _inputs(data, batch_size):
            if num_batches is not None and count >= num_batches:
                break
            count += 1
            for layer in layers:
                layer.momentum = (count - 1) / count
            model(batch, training=True)  # eager: each call reads the momentum
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    if count == 0:
        raise ArgumentError("Argument `data` must hold at least one batch. Received: no batches")
    return count
