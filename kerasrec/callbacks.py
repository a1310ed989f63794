"""Callbacks: log the learning rate, stop early (Prechelt), find the learning rate.

`LearningRateLogger` puts the optimizer's learning rate into the epoch logs, so
that `History`, `CSVLogger` and any later callback see it whatever the
optimizer holds (a float or a schedule).

`PrecheltStopping` stops training with one of the three criteria of Prechelt
(1998), "Early stopping - but when?": generalization loss (GL), quotient of
generalization loss and training progress (PQ), or successive increases of the
validation error (UP). It keeps the best weights (and optionally saves the
best model atomically) like `keras.callbacks.EarlyStopping`.
`prechelt_stop_epochs()` applies the same criteria to recorded curves (a
`History`), for instance to compare them after one long run.

`LRFinder` runs the learning-rate range test: an exponential sweep of the
learning rate over one short `fit()`, with the smoothed loss of every batch,
a stop when the loss diverges, and a suggested learning rate.
"""

import math
import os
import uuid
import warnings

import keras
import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int, check_number, check_positive_int
from kerasrec.schedules import check_settable_learning_rate

__all__ = [
    "BatchLoss",
    "LRFinder",
    "LearningRateLogger",
    "PrecheltStopping",
    "prechelt_stop_epochs",
]

_PACKAGE = "kerasrec"
_CRITERIA = ("GL", "PQ", "UP")
_DEFAULT_ALPHA = {"GL": 5.0, "PQ": 3.0}
_DEFAULT_STRIPS = 3


# ---------------------------------------------------------------------------
# Learning-rate logging.


@keras.saving.register_keras_serializable(package=_PACKAGE)
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
                    logs[key] = _read_learning_rate(opt)
        elif "learning_rate" not in logs:
            logs["learning_rate"] = _read_learning_rate(optimizer)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _read_learning_rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


# ---------------------------------------------------------------------------
# Prechelt's criteria.


def _finite_or_inf(value):
    value = float(value)
    return math.inf if math.isnan(value) else value


class _PrecheltState:
    """Runs Prechelt's quantities over epochs, one `update()` per epoch."""

    def __init__(self, strip_length):
        self.strip_length = strip_length
        self.val = []
        self.train = []
        self.best = math.inf
        self.best_index = None
        self.up = 0

    def update(self, val, train=None):
        """Adds one epoch and returns its quantities as a dict."""
        k = self.strip_length
        index = len(self.val)
        val = _finite_or_inf(val)  # A NaN validation loss counts as +inf.
        train = None if train is None else float(train)
        self.val.append(val)
        self.train.append(train)

        improved = val < self.best
        if improved:
            self.best = val
            self.best_index = index
        gl = _generalization_loss(val, self.best)

        strip_end = (index + 1) % k == 0
        progress = quotient = None
        if strip_end:
            progress = _training_progress(self.train[-k:])
            if progress is not None:
                if progress > 0:
                    quotient = gl / progress
                else:
                    quotient = math.inf if gl > 0 else 0.0
            if index >= k:  # A previous strip end exists.
                self.up = self.up + 1 if val > self.val[index - k] else 0
        return {
            "E_va": val,
            "E_tr": train,
            "E_opt": self.best,
            "improved": improved,
            "GL": gl,
            "strip_end": strip_end,
            "P": progress,
            "PQ": quotient,
            "UP": self.up,
        }


def _generalization_loss(val, best):
    if best > 0:
        return 100.0 * (val / best - 1.0)
    return 0.0 if val == best else math.inf


def _training_progress(strip):
    if any(t is None or not math.isfinite(t) for t in strip):
        return None
    low = min(strip)
    if low <= 0:
        return None
    return 1000.0 * (sum(strip) / (len(strip) * low) - 1.0)


def _stops(criterion, quantities, alpha, strips):
    if criterion == "GL":
        return quantities["GL"] > alpha
    if criterion == "PQ":
        return quantities["PQ"] is not None and quantities["PQ"] > alpha
    return quantities["strip_end"] and quantities["UP"] >= strips


def prechelt_stop_epochs(
    val_losses,
    train_losses=None,
    alpha_gl=5.0,
    alpha_pq=3.0,
    strips_up=3,
    strip_length=5,
):
    """Returns the epoch at which each Prechelt criterion would stop.

    Applies `PrecheltStopping`'s three criteria to recorded curves, for
    instance `history.history["val_loss"]` and `history.history["loss"]`.
    Epochs are 0-based indices into the lists (the `epoch` of Keras's
    callbacks); `PrecheltStopping` with the same arguments stops at the same
    epoch. With `E_opt = min(val_losses[:t + 1])` and strips of `k =
    strip_length` epochs ending at the epochs `t` with `(t + 1) % k == 0`:

    ```python
    GL[t] = 100 * (val_losses[t] / E_opt - 1)
    P[t] = 1000 * (sum(strip) / (k * min(strip)) - 1)  # train_losses[t-k+1:t+1]
    stop_GL = first t with GL[t] > alpha_gl             # any epoch
    stop_PQ = first strip end t with GL[t] / P[t] > alpha_pq
    stop_UP = first strip end t where val_losses went up at the last
              strips_up strip ends in a row: val_losses[t - i * k]
              > val_losses[t - (i + 1) * k] for i in range(strips_up)
    ```

    The criteria assume positive losses. A NaN validation loss counts as
    infinitely bad; a strip with a missing, non-finite or non-positive
    training loss has no `P` and cannot stop `PQ`.

    Args:
        val_losses: Sequence of floats, the validation error per epoch.
        train_losses: Sequence of floats of the same length, the training
            error per epoch, or `None` (then `PQ` never stops). Defaults to
            `None`.
        alpha_gl: Float > 0. GL threshold, in percent. Defaults to `5.0`.
        alpha_pq: Float > 0. PQ threshold. Defaults to `3.0`.
        strips_up: Int > 0. Number of successive strips with an increase for
            UP. Defaults to `3`.
        strip_length: Int > 0. Epochs per strip, `k`. Defaults to `5`.

    Returns:
        A dict `{"GL": epoch, "PQ": epoch, "UP": epoch}` with the 0-based
        epoch at which each criterion stops, or `None` where it never does.

    Raises:
        ValueError: If the curves differ in length or an argument is out of
            range.

    Example:

    >>> val = [1.0, 0.8, 0.7, 0.75, 0.9]
    >>> prechelt_stop_epochs(val, [1.0] * 5, strip_length=2)["GL"]
    3
    """
    alpha_gl = check_greater("alpha_gl", alpha_gl, 0)
    alpha_pq = check_greater("alpha_pq", alpha_pq, 0)
    strips_up = check_int("strips_up", strips_up, 1)
    strip_length = check_int("strip_length", strip_length, 1)
    val_losses = list(val_losses)
    if train_losses is None:
        train_losses = [None] * len(val_losses)
    train_losses = list(train_losses)
    if len(train_losses) != len(val_losses):
        raise ArgumentError(
            "Arguments `val_losses` and `train_losses` must have the same "
            f"length. Received: len(val_losses)={len(val_losses)}, "
            f"len(train_losses)={len(train_losses)}"
        )
    state = _PrecheltState(strip_length)
    alphas = {"GL": alpha_gl, "PQ": alpha_pq, "UP": None}
    stops = {"GL": None, "PQ": None, "UP": None}
    for epoch, (val, train) in enumerate(zip(val_losses, train_losses)):
        quantities = state.update(val, train)
        for criterion in _CRITERIA:
            if stops[criterion] is None and _stops(
                criterion, quantities, alphas[criterion], strips_up
            ):
                stops[criterion] = epoch
    return stops


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PrecheltStopping(keras.callbacks.Callback):
    """Stops training with Prechelt's GL, PQ or UP criterion.

    From Prechelt (1998), "Early stopping - but when?". `E_va` is the
    monitored validation error, `E_opt` the lowest one so far, `E_tr` the
    training error; a strip is `k = strip_length` successive epochs, and the
    strip ends are the epochs `t` with `(t + 1) % k == 0`:

    ```python
    GL = 100 * (E_va / E_opt - 1)                        # every epoch
    P = 1000 * (sum(E_tr over strip) / (k * min(E_tr over strip)) - 1)
    PQ = GL / P                                          # at strip ends
    UP = number of successive strip ends with E_va[t] > E_va[t - k]
    # criterion="GL": stop when GL > alpha       (any epoch)
    # criterion="PQ": stop when PQ > alpha       (strip ends only)
    # criterion="UP": stop when UP >= strips     (strip ends only)
    ```

    Prechelt found that slower criteria (larger `alpha` or `strips`) find
    slightly better models at a much larger cost in epochs; PQ suits long
    runs where the training loss keeps falling. The criteria assume positive
    losses, lower is better. A NaN validation loss counts as infinitely bad.

    Every epoch appends a dict to `self.trace` with the keys `"epoch"`,
    `"E_va"`, `"E_tr"`, `"E_opt"`, `"improved"`, `"GL"`, `"strip_end"`, `"P"`
    and `"PQ"` (`None` except at strip ends), `"UP"` (the current count) and
    `"stop"`, whatever the criterion. After training, `self.stopped_epoch` is
    the epoch at which it stopped (`None` if it did not; unlike
    `EarlyStopping`, which uses `0`) and `self.best_epoch` the epoch of
    `E_opt`. Epochs are 0-based, as in Keras's callbacks;
    `prechelt_stop_epochs()` gives the same epochs from recorded curves.

    Args:
        criterion: One of `"GL"`, `"PQ"`, `"UP"` (any case). Defaults to
            `"GL"`.
        alpha: Float > 0. Threshold for GL (in percent) or PQ; not allowed
            with `"UP"`. `None` means `5.0` for GL and `3.0` for PQ.
            Defaults to `None`.
        strip_length: Int > 0. Epochs per strip, `k`. Defaults to `5`.
        strips: Int > 0. Number of successive strips with an increase of the
            validation error for `"UP"`; not allowed with GL or PQ. `None`
            means `3`. Defaults to `None`.
        monitor: Name of the validation error in the logs. Defaults to
            `"val_loss"`.
        train_monitor: Name of the training error in the logs, used by PQ.
            Defaults to `"loss"`.
        restore_best_weights: Whether to restore the weights of the best epoch
            at the end of training, stopped or not (as Keras 3's
            `EarlyStopping` does). Defaults to `True`.
        filepath: Path ending in `.keras` (the whole model) or `.weights.h5`
            (the weights), where the best model is saved every time `E_opt`
            improves. The file is written next to it under a temporary name
            and moved into place with `os.replace`, so it is never half
            written. `None` saves nothing. Defaults to `None`.
        verbose: Verbosity, 0 or 1. Defaults to `0`.

    Raises:
        ValueError: If `criterion` is unknown, `alpha`, `strip_length` or
            `strips` is not > 0 or does not apply to the criterion, or
            `filepath` has another extension.

    Example:

    >>> stopper = PrecheltStopping("PQ", alpha=2.0, filepath="best.keras")
    >>> model.fit(x, y, validation_data=(x_val, y_val), epochs=200,
    ...           callbacks=[stopper])
    >>> stopper.stopped_epoch, stopper.best_epoch
    """

    def __init__(
        self,
        criterion="GL",
        alpha=None,
        strip_length=5,
        strips=None,
        monitor="val_loss",
        train_monitor="loss",
        restore_best_weights=True,
        filepath=None,
        verbose=0,
    ):
        super().__init__()
        if (
            not isinstance(criterion, str)
            or criterion.upper() not in _CRITERIA
        ):
            raise ArgumentError(
                f"Argument `criterion` must be one of {list(_CRITERIA)}. "
                f"Received: criterion={criterion!r}"
            )
        self._criterion = criterion.upper()
        if alpha is not None:
            if self._criterion == "UP":
                raise ArgumentError(
                    "Argument `alpha` applies to criterion 'GL' or 'PQ'; use "
                    "`strips` with 'UP'. "
                    f"Received: alpha={alpha!r}, criterion={criterion!r}"
                )
            check_greater("alpha", alpha, 0)
        if strips is not None:
            if self._criterion != "UP":
                raise ArgumentError(
                    "Argument `strips` applies to criterion 'UP' only; use "
                    f"`alpha` with {criterion!r}. "
                    f"Received: strips={strips!r}, criterion={criterion!r}"
                )
            check_int("strips", strips, 1)
        check_int("strip_length", strip_length, 1)
        if filepath is not None:
            path = os.fspath(filepath)
            if not path.endswith((".keras", ".weights.h5")):
                raise ArgumentError(
                    "Argument `filepath` must end in `.keras` or "
                    f"`.weights.h5`. Received: filepath={filepath!r}"
                )
        self.criterion = criterion
        self.alpha = alpha
        self.strip_length = strip_length
        self.strips = strips
        self.monitor = monitor
        self.train_monitor = train_monitor
        self.restore_best_weights = restore_best_weights
        self.filepath = None if filepath is None else os.fspath(filepath)
        self.verbose = verbose
        self._alpha = (
            _DEFAULT_ALPHA.get(self._criterion) if alpha is None else alpha
        )
        self._strips = _DEFAULT_STRIPS if strips is None else strips
        self._reset()

    def _reset(self):
        self._state = _PrecheltState(self.strip_length)
        self.trace = []
        self.stopped_epoch = None
        self.best_epoch = None
        self.best_weights = None
        self._last_epoch = None
        self._warned_train = False

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used across `fit()` calls.
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val = logs.get(self.monitor)
        if val is None:
            warnings.warn(
                f"PrecheltStopping conditioned on metric `{self.monitor}` "
                "which is not available. Available metrics are: "
                f"{','.join(logs)}",
                stacklevel=2,
            )
            return
        train = logs.get(self.train_monitor)
        if train is None and self._criterion == "PQ" and not self._warned_train:
            self._warned_train = True
            warnings.warn(
                "PrecheltStopping with criterion 'PQ' needs the training "
                f"metric `{self.train_monitor}`, which is not available; it "
                "cannot stop. Available metrics are: "
                f"{','.join(logs)}",
                stacklevel=2,
            )
        entry = {"epoch": epoch}
        entry.update(self._state.update(val, train))
        self._last_epoch = epoch
        if entry["improved"]:
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.filepath is not None:
                self._save_best()
        entry["stop"] = bool(
            _stops(self._criterion, entry, self._alpha, self._strips)
        )
        self.trace.append(entry)
        if entry["stop"]:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None and self.verbose > 0:
            print(
                f"Epoch {self.stopped_epoch + 1}: PrecheltStopping "
                f"({self._criterion}) stopped training"
            )
        if (
            self.restore_best_weights
            and self.best_weights is not None
            and self.best_epoch != self._last_epoch
        ):
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def _save_best(self):
        path = os.fspath(self.filepath)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        suffix = ".weights.h5" if path.endswith(".weights.h5") else ".keras"
        # Same folder, so that os.replace is an atomic rename; the name keeps
        # the extension that Keras's savers require.
        tmp = os.path.join(
            folder,
            f".{os.path.basename(path)}.tmp-{os.getpid()}-"
            f"{uuid.uuid4().hex}{suffix}",
        )
        try:
            if suffix == ".keras":
                self.model.save(tmp)
            else:
                self.model.save_weights(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        if self.verbose > 0:
            print(
                f"PrecheltStopping: saved the best model so far to {path}"
            )

    def get_config(self):
        return {
            "criterion": self.criterion,
            "alpha": self.alpha,
            "strip_length": self.strip_length,
            "strips": self.strips,
            "monitor": self.monitor,
            "train_monitor": self.train_monitor,
            "restore_best_weights": self.restore_best_weights,
            "filepath": self.filepath,
            "verbose": self.verbose,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


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


@keras.saving.register_keras_serializable(package=_PACKAGE)
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
    moving average (as in Adam), with `beta = smoothing`:

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
        self._average = 0.0
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
        self._initial_learning_rate = _read_learning_rate(optimizer)
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
        beta = float(self.smoothing)
        step = self._step
        self._average = beta * self._average + (1.0 - beta) * loss
        smoothed = self._average / (1.0 - beta ** (step + 1))
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


# ---------------------------------------------------------------------------
# The loss of every batch.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BatchLoss(keras.callbacks.Callback):
    """Records the training loss of every batch in `losses`.

    Keras logs, after each batch, the mean loss over the epoch so far,
    weighted by batch size. With `seen` the examples so far, batch `i` (of
    `size` examples) had the loss:

    ```python
    loss_i = (mean_i * seen_i - mean_{i-1} * seen_{i-1}) / size_i
    ```

    Batch sizes follow from `batch_size` and `num_examples`: every epoch
    starts at the beginning of the data, each pass over it ends with a
    smaller batch when `num_examples % batch_size` is not 0, and a
    `dataset.repeat()` inside one epoch wraps around. A NaN or infinite
    loss stays non-finite for the rest of the epoch.

    Args:
        batch_size: examples per batch.
        num_examples: examples in one pass over the training data.

    Example:

    >>> recorder = kerasrec.callbacks.BatchLoss(128, info.split_sizes["train"])
    >>> model.fit(train, epochs=1, callbacks=[recorder])
    >>> recorder.losses[:3]
    """

    def __init__(self, batch_size, num_examples):
        super().__init__()
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.num_examples = check_positive_int("num_examples", num_examples)
        self.losses = []

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._total = 0, 0.0

    def on_train_batch_end(self, batch, logs=None):
        offset = self._seen % self.num_examples
        size = min(self.batch_size, self.num_examples - offset)
        seen = self._seen + size
        total = float(logs["loss"]) * seen
        self.losses.append((total - self._total) / size)
        self._seen, self._total = seen, total

    def get_config(self):
        return {"batch_size": self.batch_size, "num_examples": self.num_examples}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
