"""`LearningRateLogger`: the optimizer's learning rate in the epoch logs."""

import keras

__all__ = ["LearningRateLogger"]


@keras.saving.register_keras_serializable(package="kerasrec")
class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's learning rate to the logs at every epoch end.

    The value is a Python float read from `optimizer.learning_rate`: for a
    float learning rate, the learning rate of the epoch; for a schedule, the
    learning rate the next update will use, `schedule(optimizer.iterations)`
    where `optimizer.iterations` counts the updates done so far (one step past
    the last update of the epoch). That is the value Keras's own
    `TensorBoard`, `ReduceLROnPlateau` and `LearningRateScheduler` report, so
    all of them agree. It costs one scalar read per epoch.

    Keras 3 already adds `learning_rate` to the logs when
    `ReduceLROnPlateau` or `LearningRateScheduler` is in the callbacks (and
    `TensorBoard` writes it to its own summaries but not to the logs); a plain
    `fit()` does not. An existing `learning_rate` entry is left as it is, so
    that placing this callback after `ReduceLROnPlateau` still logs the
    learning rate of the epoch, not the reduced one. Place it before
    `CSVLogger`, which fixes its columns at the first epoch. With an optimizer
    that has several sub-optimizers (an `optimizers` attribute), the keys are
    `learning_rate_{name}`, as in Keras.

    Example:

    >>> history = model.fit(x, y, epochs=10,
    ...                     callbacks=[LearningRateLogger()])
    >>> history.history["learning_rate"]  # one float per epoch
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        optimizer = self.model.optimizer
        if hasattr(optimizer, "optimizers"):
            for opt in optimizer.optimizers:
                key = f"learning_rate_{opt.name}"
                if key not in logs:
                    logs[key] = read_learning_rate(opt)
        elif "learning_rate" not in logs:
            logs["learning_rate"] = read_learning_rate(optimizer)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def read_learning_rate(optimizer):
    """The learning rate the optimizer's next update uses, as a Python float."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
