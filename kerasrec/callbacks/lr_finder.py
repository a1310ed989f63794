"""`LRFinder`, the learning-rate range test, and `smooth`, its moving average.

`LRFinder` runs the learning-rate range test: an exponential sweep of the
learning rate over one short `fit()`, with the smoothed loss of every batch,
a stop when the loss diverges, and a suggested learning rate.
`kerasrec.lr_range.lr_range_test()` runs it in one call. `smooth()` is the
exponential moving average it smooths the losses with, for any curve (it is
also `kerasrec.lr_range.smooth`).
"""

import math

import keras
import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_number
from kerasrec.callbacks.learning_rate_logger import read_learning_rate
from kerasrec.schedules import check_settable_learning_rate

__all__ = ["LRFinder", "smooth"]


# ---------------------------------------------------------------------------
# Smoothing.


class _MovingAverage:
    """An exponential moving average fed one value at a time."""

    def __init__(self, beta, bias_correction=True):
        self.beta = float(beta)
        self.bias_correction = bias_correction
        self.average = 0.0
        self.count = 0

    def update(self, value):
        """Adds `value` and returns the smoothed value up to it."""
        self.count += 1
        self.average = self.beta * self.average + (1.0 - self.beta) * float(value)
        if self.bias_correction:
            return self.average / (1.0 - self.beta**self.count)
        return self.average


def smooth(values, beta=0.98, bias_correction=True):
    """Returns the exponential moving average of `values`, as a list.

    With `average` starting at 0, for every value in turn:

    ```python
    average = beta * average + (1 - beta) * values[i]
    smoothed[i] = average / (1 - beta ** (i + 1))  # bias_correction=True
    smoothed[i] = average                          # bias_correction=False
    ```

    The bias correction (as in Adam) divides out the weight the average
    still gives its zero start, so `smoothed[0] == values[0]` and a constant
    curve stays constant; without it, the first `~1 / (1 - beta)` values are
    pulled towards 0. The smoothed curve lags the values by about
    `beta / (1 - beta)` steps (49 at `0.98`). Once a value is NaN or
    infinite, every later smoothed value is too. It is what `LRFinder`
    smooths its losses with (`LRFinder(smoothing=beta)`).

    Args:
        values: Iterable of numbers, e.g. the loss of every batch.
        beta: Float in [0, 1). Weight of the past; `0` returns the values
            unchanged. Defaults to `0.98`.
        bias_correction: Whether to divide by `1 - beta ** (i + 1)`.
            Defaults to `True`.

    Returns:
        A list of Python floats, one per value.

    Raises:
        ValueError: If `beta` is not in [0, 1) or `bias_correction` is not a
            bool.

    Example:

    >>> smooth([1.0, 1.0, 1.0], beta=0.5)
    [1.0, 1.0, 1.0]
    >>> smooth([1.0, 0.0], beta=0.5, bias_correction=False)
    [0.5, 0.25]
    """
    check_number("beta", beta, 0, 1)
    if not isinstance(bias_correction, bool):
        raise ArgumentError(
            "Argument `bias_correction` must be a bool. "
            f"Received: bias_correction={bias_correction!r}"
        )
    average = _MovingAverage(beta, bias_correction)
    return [average.update(value) for value in values]


# ---------------------------------------------------------------------------
# The learning-rate range test.

_SUGGESTION_METHODS = ("steepest", "minimum", "valley")
_MIN_SUGGESTION_POINTS = 5


def _valley_index(losses):
    """fast.ai's `valley`: the index half-way down the longest falling run.

    `lengths[i]` is the length of the longest strictly decreasing
    subsequence of `losses` that ends at `i`; the valley ends at the first
    `i` with the greatest length and starts that many points earlier.
    """
    losses = np.asarray(losses, dtype=float)
    lengths = np.ones(len(losses), dtype=int)
    for i in range(1, len(losses)):
        earlier = lengths[:i][losses[:i] > losses[i]]
        if earlier.size:
            lengths[i] = earlier.max() + 1
    end = int(np.argmax(lengths))
    start = end - int(lengths[end])
    third = (end - start) / 3
    return int(min(max(start + int(third) + int(third / 2), 0), len(losses) - 1))


@keras.saving.register_keras_serializable(package="kerasrec")
class LRFinder(keras.callbacks.Callback):
    """The learning-rate range test: an exponential sweep of the learning rate.

    Smith (2017, "Cyclical learning rates for training neural networks") and
    fast.ai's `lr_find`: train for up to `num_steps` batches while the
    learning rate grows exponentially from `min_learning_rate` to
    `max_learning_rate`, record the loss of every batch, and read a good
    learning rate off the curve (step 3 of the lecture's procedure: an LR
    that makes the loss drop fast). Before batch `i` (counted from the start
    of `fit()`, across epochs):

    ```python
    learning_rate[i] = min_learning_rate * (
        max_learning_rate / min_learning_rate) ** (i / (num_steps - 1))
    ```

    After the batch, its loss is smoothed with a bias-corrected exponential
    moving average (as in Adam; `smooth(losses, beta=smoothing)`), with
    `beta = smoothing`:

    ```python
    average = beta * average + (1 - beta) * loss[i]     # average starts at 0
    smoothed_loss[i] = average / (1 - beta ** (i + 1))
    ```

    Training stops (`model.stop_training = True`) after batch `i` when the
    loss is not finite, when `smoothed_loss[i] > divergence_factor *
    min(smoothed_loss[:i + 1])` (the loss diverged), or when `num_steps`
    batches are done. The smoothed curve lags the raw losses by about
    `smoothing / (1 - smoothing)` batches (49 at `0.98`), so keep `num_steps`
    well above that. With BatchNorm a too-high learning rate may leave the
    loss hovering near chance instead of exploding; the test then runs all
    `num_steps`, and `suggestion()` still ignores what follows the lowest
    smoothed loss.

    Keras logs the running mean of the loss over the epoch, not the loss of
    each batch. To read each batch's own loss, the callback resets the
    model's metrics (`model.reset_metrics()`) before every batch: while it
    runs, every metric in the batch and epoch logs is that of the latest
    batch. The learning rate must be a float (a variable), not a schedule;
    `steps_per_execution` must be 1 (the learning rate changes every batch).
    Give `fit()` at least `num_steps` batches, for instance
    `fit(dataset.repeat(), epochs=1, steps_per_epoch=num_steps)`, and no
    validation data (it would be evaluated with the test's weights).

    With `restore_weights=True`, `on_train_end` puts back the model's weights
    (trainable and not, e.g. BatchNorm statistics) and every optimizer
    variable (iterations, momentum or moment slots, the learning rate) as
    they were at `on_train_begin`, so the model can then be trained as if
    the test never ran. The optimizer is built at `on_train_begin` if it is
    not yet, which needs a built model. Whatever `restore_weights`, the
    optimizer's original learning rate is put back.

    After training: `learning_rates`, `losses` and `smoothed_losses` (lists of
    Python floats, one per batch run), `stopped_early` (`True` if the loss
    diverged or became non-finite before `num_steps`) and `stop_reason`
    (`"diverged"`, `"non_finite"`, `"num_steps"`, or `"fit_ended"` when fit
    ran out of batches first). `suggestion()` returns the learning rate to
    use.

    Args:
        min_learning_rate: Float > 0. The first learning rate. Defaults to
            `1e-6`.
        max_learning_rate: Float > `min_learning_rate`. The learning rate of
            batch `num_steps - 1`, if the loss has not diverged by then.
            Defaults to `10.0`.
        num_steps: Int >= 2. The most batches to run. Defaults to `100`.
        smoothing: Float in [0, 1). `beta` of the moving average; `0` means
            no smoothing. Defaults to `0.98`.
        divergence_factor: Float > 1. Stop once the smoothed loss exceeds
            this multiple of its minimum so far. Defaults to `4.0`.
        restore_weights: Whether to restore the model's weights and the
            optimizer's variables at the end of training. Defaults to
            `True`.

    Raises:
        ValueError: If an argument is out of range; at `on_train_begin`, if
            the optimizer holds a learning-rate schedule, if the model runs
            several steps per execution, or if `restore_weights=True` and
            the model is not built.

    Example:

    >>> model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
    ...               loss="sparse_categorical_crossentropy")
    >>> finder = LRFinder(min_learning_rate=1e-5, max_learning_rate=10.0)
    >>> model.fit(train.repeat(), epochs=1, steps_per_epoch=100,
    ...           callbacks=[finder], verbose=0)
    >>> model.optimizer.learning_rate = finder.suggestion()
    >>> model.fit(train, epochs=10)  # from the same initial weights
    """

    def __init__(
        self,
        min_learning_rate=1e-6,
        max_learning_rate=10.0,
        num_steps=100,
        smoothing=0.98,
        divergence_factor=4.0,
        restore_weights=True,
    ):
        super().__init__()
        check_greater("min_learning_rate", min_learning_rate, 0)
        check_greater("max_learning_rate", max_learning_rate, 0)
        if not max_learning_rate > min_learning_rate:
            raise ArgumentError(
                "Argument `max_learning_rate` must be > `min_learning_rate`. "
                f"Received: min_learning_rate={min_learning_rate!r}, "
                f"max_learning_rate={max_learning_rate!r}"
            )
        check_int("num_steps", num_steps, 2)
        check_number("smoothing", smoothing, 0, 1)
        check_greater("divergence_factor", divergence_factor, 1)
        if not isinstance(restore_weights, bool):
            raise ArgumentError(
                "Argument `restore_weights` must be a bool. "
                f"Received: restore_weights={restore_weights!r}"
            )
        self.min_learning_rate = min_learning_rate
        self.max_learning_rate = max_learning_rate
        self.num_steps = num_steps
        self.smoothing = smoothing
        self.divergence_factor = divergence_factor
        self.restore_weights = restore_weights
        self._reset()

    def _reset(self):
        self.learning_rates = []
        self.losses = []
        self.smoothed_losses = []
        self.stopped_early = False
        self.stop_reason = None
        self._step = 0
        self._average = _MovingAverage(self.smoothing)
        self._best = math.inf
        self._saved_weights = None
        self._saved_optimizer_variables = None
        self._initial_learning_rate = None

    def learning_rate_at(self, step):
        """The learning rate of batch `step` (0-based) of the sweep."""
        low, high = float(self.min_learning_rate), float(self.max_learning_rate)
        return low * (high / low) ** (step / (self.num_steps - 1))

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used across `fit()` calls.
        self._reset()
        model = self.model
        optimizer = model.optimizer
        check_settable_learning_rate(optimizer, "LRFinder")
        steps_per_execution = getattr(model, "steps_per_execution", 1) or 1
        if steps_per_execution != 1:
            raise ArgumentError(
                "LRFinder sets the learning rate before every batch, so the "
                "model must run one step per execution. Received: "
                f"steps_per_execution={steps_per_execution}"
            )
        self._initial_learning_rate = read_learning_rate(optimizer)
        if self.restore_weights:
            if not model.built or not model.weights:
                raise ArgumentError(
                    "LRFinder(restore_weights=True) saves the weights at the "
                    "start of training, but the model is not built yet. Build "
                    "it first (give it an `Input`, or call it on a batch), or "
                    "pass restore_weights=False."
                )
            if not optimizer.built:
                # What fit() would do at the first step; building now lets
                # the callback save (and later restore) the optimizer's state.
                optimizer.build(model.trainable_variables)
            self._saved_weights = model.get_weights()
            self._saved_optimizer_variables = [
                keras.ops.convert_to_numpy(v) for v in optimizer.variables
            ]

    def on_train_batch_begin(self, batch, logs=None):
        if self._step >= self.num_steps:
            return
        self.model.optimizer.learning_rate = self.learning_rate_at(self._step)
        # The logs of this batch then hold its own loss, not a running mean.
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        if self._step >= self.num_steps or self.stop_reason is not None:
            return
        logs = logs or {}
        if "loss" not in logs:
            raise ArgumentError(
                "LRFinder needs the training loss in the logs, under `loss`. "
                f"Available: {','.join(logs)}"
            )
        loss = float(logs["loss"])
        step = self._step
        smoothed = self._average.update(loss)
        self.learning_rates.append(self.learning_rate_at(step))
        self.losses.append(loss)
        self.smoothed_losses.append(smoothed)
        self._step += 1
        self._best = min(self._best, smoothed)
        if not math.isfinite(loss) or not math.isfinite(smoothed):
            self.stop_reason = "non_finite"
        elif smoothed > self.divergence_factor * self._best:
            self.stop_reason = "diverged"
        elif self._step >= self.num_steps:
            self.stop_reason = "num_steps"
        if self.stop_reason is not None:
            self.stopped_early = self.stop_reason != "num_steps"
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stop_reason is None:
            self.stop_reason = "fit_ended"
        model = self.model
        optimizer = model.optimizer
        if self.restore_weights and self._saved_weights is not None:
            model.set_weights(self._saved_weights)
            for variable, value in zip(
                optimizer.variables, self._saved_optimizer_variables
            ):
                variable.assign(value)
        if self._initial_learning_rate is not None:
            optimizer.learning_rate = self._initial_learning_rate
        self._saved_weights = None
        self._saved_optimizer_variables = None

    def suggestion(self, method="valley", skip_begin=None):
        """Returns the learning rate that the range test suggests.

        Every method reads the smoothed losses from batch `skip_begin` up to
        the lowest one (the batches after it are the diverging tail), over
        the finite values only:

        - `"steepest"`: the learning rate where the smoothed loss falls
          fastest against the log of the learning rate, at the most negative
          `numpy.gradient(smoothed_losses, log(learning_rates))`; the
          loss drops fast there and is still far from diverging.
        - `"minimum"`: the learning rate of the lowest smoothed loss divided
          by 10 (fast.ai's rule of thumb): an order of magnitude below where
          the loss stops improving.
        - `"valley"`: fast.ai's default since 2021 (`lr_find`'s `valley`):
          the longest decreasing subsequence of the smoothed losses is the
          valley, and the suggestion lies half-way down it (at its start +
          `len // 3` + `len // 6` batches, fast.ai's index). On `shapes`
          (`recipes/lr_range_test.py`) it suggested 0.591, `"minimum"`
          0.575 and `"steepest"` 1.96, where the best constant learning
          rate after a one-epoch warmup was 0.464.

        Args:
            method: `"valley"`, `"steepest"` or `"minimum"`. Defaults to
                `"valley"`.
            skip_begin: Int >= 0. The first batches to ignore: there the
                smoothed loss averages few, noisy batches, and an initial
                loss above chance level may fall at learning rates too small
                to learn anything, which `"steepest"` would take for
                learning. `None` means `num_steps // 10`. Defaults to `None`.

        Returns:
            The suggested learning rate, a Python float.

        Raises:
            ValueError: If `method` is unknown, `skip_begin` is negative, or
                fewer than 5 usable batches lie between `skip_begin` and the
                lowest smoothed loss (the test diverged at once, or has not
                run).
        """
        if method not in _SUGGESTION_METHODS:
            raise ArgumentError(
                f"Argument `method` must be one of {list(_SUGGESTION_METHODS)}. "
                f"Received: method={method!r}"
            )
        if skip_begin is None:
            skip_begin = self.num_steps // 10
        skip_begin = check_int("skip_begin", skip_begin, 0)
        learning_rates = np.asarray(self.learning_rates, dtype=float)
        smoothed = np.asarray(self.smoothed_losses, dtype=float)
        finite = np.isfinite(smoothed)
        usable = len(smoothed) if finite.all() else int(np.argmin(finite))
        window = smoothed[skip_begin:usable]
        points = 0 if window.size == 0 else int(np.argmin(window)) + 1
        if points < _MIN_SUGGESTION_POINTS:
            raise ArgumentError(
                "The range test has too few points to suggest a learning "
                f"rate: {points} usable batches from batch {skip_begin} to "
                f"the lowest smoothed loss (need >= {_MIN_SUGGESTION_POINTS}; "
                f"{len(smoothed)} recorded, stop reason "
                f"{self.stop_reason!r}). Run it first, lower "
                "`min_learning_rate`, raise `num_steps` or lower `skip_begin`."
            )
        lrs = learning_rates[skip_begin : skip_begin + points]
        if method == "minimum":
            return float(lrs[-1] / 10.0)
        if method == "valley":
            return float(lrs[_valley_index(window[:points])])
        slopes = np.gradient(window[:points], np.log(lrs))
        return float(lrs[int(np.argmin(slopes))])

    def get_config(self):
        return {
            "min_learning_rate": self.min_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "num_steps": self.num_steps,
            "smoothing": self.smoothing,
            "divergence_factor": self.divergence_factor,
            "restore_weights": self.restore_weights,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


