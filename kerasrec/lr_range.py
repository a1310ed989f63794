"""The learning-rate range test as one call: `lr_range_test()`.

Step 3 of the lecture's procedure ("find an LR that makes the loss drop
significantly within ~100 iterations, on all the data"): run
`kerasrec.callbacks.LRFinder` over a short `fit()` of the caller's compiled
model, put the weights back, and return the curve and the suggested learning
rate as an `LRRangeResult`, optionally with its plot.

`smooth(values, beta, bias_correction)` is the exponential moving average
the test smooths its losses with (defined with `LRFinder`, in
`kerasrec/callbacks/lr_finder.py`), for any other curve, such as the batch
losses of `kerasrec.callbacks.BatchLoss`.
"""

import dataclasses
import os

import keras

from kerasrec._checks import ArgumentError
from kerasrec.callbacks.lr_finder import _SUGGESTION_METHODS
from kerasrec.callbacks.lr_finder import LRFinder
from kerasrec.callbacks.lr_finder import smooth
from kerasrec.schedules import check_settable_learning_rate

__all__ = ["LRRangeResult", "lr_range_test", "smooth"]


@dataclasses.dataclass(frozen=True)
class LRRangeResult:
    """What a learning-rate range test found.

    Attributes:
        suggested_learning_rate: The learning rate the test suggests (float).
        learning_rates: The learning rate of every batch run (tuple of
            floats, growing exponentially).
        losses: The loss of every batch (tuple of floats).
        smoothed_losses: The bias-corrected moving average of `losses`.
        stopped_early: Whether the loss diverged (or became non-finite)
            before the last step.
        method: How the suggestion was read off the curve: `"valley"`,
            `"steepest"` or `"minimum"` (see `LRFinder.suggestion`).
        stop_reason: Why the test stopped: `"diverged"`, `"non_finite"`,
            `"num_steps"` or `"fit_ended"`.
    """

    suggested_learning_rate: float
    learning_rates: tuple
    losses: tuple
    smoothed_losses: tuple
    stopped_early: bool
    method: str
    stop_reason: str = None

    def to_dict(self):
        """The result as a dict of plain Python values (lists for tuples)."""
        return {
            field.name: (
                list(value) if isinstance(value, tuple) else value
            )
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }


def lr_range_test(
    model,
    dataset,
    *,
    min_learning_rate=1e-6,
    max_learning_rate=10.0,
    num_steps=100,
    smoothing=0.98,
    divergence_factor=4.0,
    method="valley",
    plot_path=None,
):
    """Runs the learning-rate range test on a compiled model.

    Trains `model` on `dataset` (repeated as often as needed) for up to
    `num_steps` batches while `kerasrec.callbacks.LRFinder` raises the
    learning rate exponentially from `min_learning_rate` to
    `max_learning_rate`, stopping once the smoothed loss diverges. Then it
    restores the model's weights and optimizer state (the learning rate
    included), so the model trains afterwards as if the test never ran, and
    reads the suggested learning rate off the curve with `method` (see
    `LRFinder.suggestion`). Run it on all the training data, with the
    optimizer, batch size and regularization you will train with: the
    suggestion holds for those.

    Args:
        model: A built `keras.Model`, compiled with a loss and an optimizer
            whose learning rate is a float (not a schedule).
        dataset: A batched `tf.data.Dataset` of training batches; it is
            repeated, so one pass may be shorter than `num_steps`.
        min_learning_rate: Float > 0. Defaults to `1e-6`.
        max_learning_rate: Float > `min_learning_rate`. Defaults to `10.0`.
        num_steps: Int >= 2. The most batches to run. Defaults to `100`.
        smoothing: Float in [0, 1), of the loss's moving average. Defaults
            to `0.98`.
        divergence_factor: Float > 1. Stop once the smoothed loss exceeds
            this multiple of its minimum. Defaults to `4.0`.
        method: `"valley"`, `"steepest"` or `"minimum"`. Defaults to
            `"valley"`.
        plot_path: Where to write the curve as a PNG (loss against learning
            rate, log scale, suggestion marked), or `None`. Defaults to
            `None`.

    Returns:
        An `LRRangeResult`.

    Raises:
        ValueError: If an argument is out of range, the model is not
            compiled or not built, its optimizer holds a learning-rate
            schedule, `dataset` is not a `tf.data.Dataset`, or the test
            recorded too few points to suggest a learning rate (the curve is
            still plotted).

    Example:

    >>> model = kerasrec.models.build_cnn((32, 32, 3), 10)
    >>> model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
    ...               loss="sparse_categorical_crossentropy")
    >>> result = lr_range_test(model, train, min_learning_rate=1e-5,
    ...                        plot_path="lr_range_test.png")
    >>> model.optimizer.learning_rate = result.suggested_learning_rate
    >>> model.fit(train, epochs=10)
    """
    import tensorflow as tf

    if method not in _SUGGESTION_METHODS:
        raise ArgumentError(
            f"Argument `method` must be one of {list(_SUGGESTION_METHODS)}. "
            f"Received: method={method!r}"
        )
    # Validates the numeric arguments before anything runs.
    finder = LRFinder(
        min_learning_rate=min_learning_rate,
        max_learning_rate=max_learning_rate,
        num_steps=num_steps,
        smoothing=smoothing,
        divergence_factor=divergence_factor,
        restore_weights=True,
    )
    if not isinstance(model, keras.Model):
        raise ArgumentError(
            f"Argument `model` must be a keras.Model. Received: model={model!r}"
        )
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ArgumentError(
            "Argument `model` must be compiled with a loss and an optimizer "
            "with a float learning rate before the range test. Received: an "
            f"uncompiled model {model.name!r}"
        )
    check_settable_learning_rate(model.optimizer, "lr_range_test")
    if not isinstance(dataset, tf.data.Dataset):
        raise ArgumentError(
            "Argument `dataset` must be a batched tf.data.Dataset. "
            f"Received: dataset={type(dataset).__name__}"
        )
    if plot_path is not None:
        plot_path = os.fspath(plot_path)
    model.fit(
        dataset.repeat(),
        epochs=1,
        steps_per_epoch=num_steps,
        callbacks=[finder],
        verbose=0,
    )
    try:
        suggested = finder.suggestion(method)
    except ValueError:
        if plot_path is not None:
            _plot(finder, plot_path, None, method)
        raise
    result = LRRangeResult(
        suggested_learning_rate=suggested,
        learning_rates=tuple(finder.learning_rates),
        losses=tuple(finder.losses),
        smoothed_losses=tuple(finder.smoothed_losses),
        stopped_early=finder.stopped_early,
        method=method,
        stop_reason=finder.stop_reason,
    )
    if plot_path is not None:
        _plot(finder, plot_path, suggested, method)
    return result


def _plot(finder, path, suggested, method):
    from kerasrec import plots

    plots.plot_lr_range_test(
        finder.learning_rates,
        finder.losses,
        finder.smoothed_losses,
        path,
        suggested_learning_rate=suggested,
        title=f"LR range test (suggestion: {method})",
    )
