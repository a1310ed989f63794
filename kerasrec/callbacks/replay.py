"""Replaying a stopping callback on a recorded run: `EpochWeights` and `replay`.

Comparing stopping rules on one training run, instead of one run per rule:
train the whole budget once with `EpochWeights` (a copy of every epoch's
weights), then `replay()` each rule, the real callback, on the recorded
history and weights, and read where it would have stopped and which epoch's
weights it would have left in the model.
"""

import collections

import keras
import numpy as np

from kerasrec._checks import ArgumentError

__all__ = ["EpochWeights", "ReplayResult", "replay"]


@keras.saving.register_keras_serializable(package="kerasrec")
class EpochWeights(keras.callbacks.Callback):
    """Keeps a copy of the model's weights at every epoch end, in memory.

    After training, `weights[epoch]` is `model.get_weights()` at the end of
    `epoch` (0-based): the trainable weights and the others (BatchNorm's
    moving statistics, for instance), not the optimizer's state. It costs
    one copy of the weights per epoch: about 30 MB for 100 epochs of a model
    with 80k float32 parameters. `replay()` takes them.

    Example:

    >>> keep = EpochWeights()
    >>> history = model.fit(x, y, validation_data=val, epochs=100,
    ...                     callbacks=[keep])
    >>> model.set_weights(keep.weights[41])  # the model after epoch 42
    """

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


ReplayResult = collections.namedtuple("ReplayResult", ["stopped_epoch", "restored_epoch"])
ReplayResult.__doc__ = """What `replay()` found: `(stopped_epoch, restored_epoch)`.

Attributes:
    stopped_epoch: The 0-based epoch after which the callback stopped
        training (set `model.stop_training`), or `None` if it never did.
    restored_epoch: The 0-based epoch whose weights the model holds after
        the callback's `on_train_end` (the best epoch's, for a callback that
        restores them; the last epoch run's otherwise), or `None` without
        `weights` or if the model holds none of them.
"""


def _history_dict(history):
    if isinstance(history, keras.callbacks.History):
        history = history.history
    lengths = set()
    if isinstance(history, dict):
        lengths = {len(v) if isinstance(v, (list, tuple)) else -1 for v in history.values()}
    if len(lengths) != 1 or min(lengths) <= 0:
        raise ArgumentError(
            "Argument `history` must be a `keras.callbacks.History` or a dict "
            "of lists of one value per epoch, all of the same non-zero length. "
            f"Received: history of type {type(history).__name__}"
            + (f" with list lengths {sorted(lengths)}" if lengths else "")
        )
    return history, lengths.pop()


def _holds(model, epoch_weights):
    current = model.get_weights()
    return len(current) == len(epoch_weights) and all(
        np.array_equal(a, b) for a, b in zip(current, epoch_weights)
    )


def replay(callback, history, *, model=None, weights=None):
    """Runs a callback on a recorded run, as `fit()` would have, to see where it stops.

    A stopping callback (`keras.callbacks.EarlyStopping`,
    `kerasrec.callbacks.PrecheltStopping`, ...) decides only from the logs
    and weights it is shown, and training does not depend on it until it
    stops. So calling its hooks on a run recorded without it tells where a
    live run with it would have stopped, and which weights it would have
    restored. `replay` calls, as `fit()` does:

    ```python
    callback.set_model(model); callback.on_train_begin()
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)        # model: previous epoch's weights
        model.set_weights(weights[epoch])
        callback.on_epoch_end(epoch, {key: history[key][epoch] for key in history})
        if model.stop_training: break
    callback.on_train_end()                   # may restore the best weights
    ```

    The model is left with the weights the callback ends with, and
    `model.stop_training` with `False`. Batch hooks are not called (the
    history has no batches), so a callback that decides per batch cannot be
    replayed. Without `weights`, nothing is set and `restored_epoch` is
    `None`; without `model`, an empty `keras.Sequential()` stands in (for a
    callback that reads only the logs).

    Args:
        callback: A `keras.callbacks.Callback`, fresh or reusable across
            `fit()` calls (its `on_train_begin` resets it).
        history: A `keras.callbacks.History` or its `.history` dict: lists of
            one value per epoch, as `fit()` logged them.
        model: The trained model the weights belong to, or `None`. Defaults
            to `None`.
        weights: A list of `model.get_weights()`, one per epoch of `history`
            (`EpochWeights.weights`), or `None`. Defaults to `None`.

    Returns:
        A `ReplayResult` `(stopped_epoch, restored_epoch)`, 0-based epochs:
        where the callback stopped training (`None` if it never did), and
        whose weights the model holds at the end (the latest such epoch if
        several epochs have equal weights).

    Raises:
        ValueError: If `history` is not a history of at least one epoch,
            `weights` does not hold one entry per epoch, or `weights` is
            given without `model`.

    Example:

    >>> keep = kerasrec.callbacks.EpochWeights()
    >>> history = model.fit(x, y, validation_data=val, epochs=100,
    ...                     callbacks=[keep])
    >>> stopper = keras.callbacks.EarlyStopping(patience=5,
    ...                                         restore_best_weights=True)
    >>> stopped, restored = replay(stopper, history, model=model,
    ...                            weights=keep.weights)
    """
    history, epochs = _history_dict(history)
    if weights is not None:
        if model is None:
            raise ArgumentError(
                "Argument `model` must be given with `weights`: the weights "
                "are set in it. Received: model=None"
            )
        if len(weights) != epochs:
            raise ArgumentError(
                "Argument `weights` must hold one entry per epoch of "
                f"`history`. Received: len(weights)={len(weights)}, "
                f"epochs in history={epochs}"
            )
    if model is None:
        model = keras.Sequential()
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    stopped = None
    last = epochs - 1
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        if weights is not None:
            model.set_weights(weights[epoch])
        callback.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
        if model.stop_training:
            stopped = last = epoch
            break
    callback.on_train_end()
    model.stop_training = False
    restored = None
    if weights is not None:
        restored = next(
            (epoch for epoch in range(last, -1, -1) if _holds(model, weights[epoch])),
            None,
        )
    return ReplayResult(stopped, restored)
