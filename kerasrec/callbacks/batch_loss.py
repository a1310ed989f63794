"""`BatchLoss`: the training loss of every batch, from Keras's running mean."""

import warnings

import keras

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_positive_int

__all__ = ["BatchLoss"]


def _loss_metric(model):
    """The running mean behind `logs["loss"]`: a `Mean` named "loss"."""
    for metric in getattr(model, "metrics", None) or ():
        if metric.name == "loss" and hasattr(metric, "total") and hasattr(metric, "count"):
            return metric
    return None


@keras.saving.register_keras_serializable(package="kerasrec")
class BatchLoss(keras.callbacks.Callback):
    """Records the training loss of every batch in `losses`.

    Keras logs, after each batch, the mean loss over the epoch so far: a
    `keras.metrics.Mean` named `"loss"` (in `model.metrics`) that adds
    `loss * batch_size` to its `total` and `batch_size` to its `count` at
    every batch, and is reset when an epoch begins. The callback reads both
    at every `on_train_batch_end`, so the batches since the last read had
    the loss:

    ```python
    losses[i] = (total_i - total_{i-1}) / (count_i - count_{i-1})
    ```

    Nothing about the data is assumed: an epoch may end in the middle of a
    pass over a `.repeat()`ed dataset (`steps_per_epoch` smaller than a
    pass, the next epoch going on from there), and batches may differ in
    size. With `steps_per_execution=k`, Keras calls the callbacks once per
    `k` batches, and no log holds the loss of a batch inside; `losses[i]`
    is then the mean loss of those `k` batches (weighted by their sizes),
    and `num_batches[i]` says how many batches it covers (`1` with
    `steps_per_execution=1`). A NaN or infinite loss leaves every later
    entry of its epoch non-finite. A callback that resets the model's
    metrics between batches (`LRFinder` does: its own `losses` are already
    per batch) must not run together with this one.

    `losses` and `num_batches` grow over every `fit()` the callback is
    given to.

    Args:
        batch_size: Deprecated and ignored; the sizes come from the running
            mean's own count. Defaults to `None`.
        num_examples: Deprecated and ignored, as `batch_size`. Defaults to
            `None`.

    Raises:
        ValueError: If `batch_size` or `num_examples` is given and is not a
            positive int; at `on_train_begin`, if the model has no running
            mean of the loss (it is not compiled with a loss).
        RuntimeError: At a batch end, if the running mean was reset since
            the previous batch by something other than `fit()`.

    Example:

    >>> recorder = kerasrec.callbacks.BatchLoss()
    >>> model.fit(train, epochs=1, callbacks=[recorder])
    >>> recorder.losses[:3]  # the loss of the first three batches
    """

    def __init__(self, batch_size=None, num_examples=None):
        super().__init__()
        self.batch_size = check_positive_int("batch_size", batch_size, allow_none=True)
        self.num_examples = check_positive_int("num_examples", num_examples, allow_none=True)
        if batch_size is not None or num_examples is not None:
            warnings.warn(
                "BatchLoss no longer needs `batch_size` or `num_examples`: it "
                "reads the number of examples from the loss's running mean. "
                "They are ignored; use `BatchLoss()`.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.losses = []
        self.num_batches = []
        self._metric = None
        self._last = (0.0, 0.0)
        self._begin = None

    def _read(self):
        total = float(keras.ops.convert_to_numpy(self._metric.total))
        count = float(keras.ops.convert_to_numpy(self._metric.count))
        return total, count

    def on_train_begin(self, logs=None):
        self._metric = _loss_metric(self.model)
        if self._metric is None:
            raise ArgumentError(
                "BatchLoss reads the running mean of the training loss, a "
                "`keras.metrics.Mean` named 'loss' in `model.metrics`, which "
                "`compile(loss=...)` creates; this model has none. Received: "
                f"metrics={[m.name for m in getattr(self.model, 'metrics', [])]}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        # fit() has just reset the metrics: this reads (0, 0).
        self._last = self._read()

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_train_batch_end(self, batch, logs=None):
        total, count = self._read()
        last_total, last_count = self._last
        if count <= last_count:
            raise RuntimeError(
                "BatchLoss found the running mean of the loss reset between "
                f"two batches (count {last_count:g}, then {count:g}): some "
                "other callback resets the model's metrics (LRFinder does); "
                "do not use both in one fit()."
            )
        self.losses.append((total - last_total) / (count - last_count))
        begin = batch if self._begin is None else self._begin
        self.num_batches.append(batch - begin + 1)
        self._last, self._begin = (total, count), None

    def get_config(self):
        return {"batch_size": self.batch_size, "num_examples": self.num_examples}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
