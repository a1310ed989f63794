"""Prechelt's early-stopping criteria: `PrecheltStopping` and `prechelt_stop_epochs`.

Prechelt (1998), "Early stopping - but when?": generalization loss (GL), the
quotient of generalization loss and training progress (PQ), and successive
increases of the validation error (UP). `PrecheltStopping` applies one of
them during `fit()`; `prechelt_stop_epochs()` applies all three to recorded
curves.
"""

import math
import os
import sys
import warnings

import keras

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_int
from kerasrec._io import replacing

__all__ = ["PrecheltStopping", "prechelt_stop_epochs"]

_CRITERIA = ("GL", "PQ", "UP")
_DEFAULT_ALPHA = {"GL": 5.0, "PQ": 3.0}
_DEFAULT_STRIPS = 3
_MODES = ("auto", "min", "max")
# Keras 2's rule for `mode="auto"` (it read "acc" in the name), with "auc":
# used where Keras 3's own rule cannot tell (see `_resolve_mode`).
_HIGHER_IS_BETTER = ("acc", "auc")


# ---------------------------------------------------------------------------
# Direction of the monitored quantity, and the error the criteria run on.


def _check_mode(mode, allowed=_MODES):
    if mode not in allowed:
        raise ArgumentError(
            f"Argument `mode` must be one of {list(allowed)}. Received: mode={mode!r}"
        )
    return mode


def _resolve_mode(monitor, mode="auto", model=None):
    """Whether `monitor` is to be minimized (`"min"`) or maximized (`"max"`).

    `"min"` and `"max"` are returned as they are. For `"auto"`, Keras's own
    rule decides first, as `keras.callbacks.EarlyStopping(mode="auto")` would
    on `model` (a `loss` is minimized; a metric compiled into `model` goes the
    direction it declares, e.g. `accuracy` and `auc` up). Where Keras cannot
    tell (no model, metrics not built yet, or a quantity that is not a
    compiled metric, such as a `val_error` added to the logs), the name
    decides: `"max"` if it contains `"acc"` or `"auc"` (Keras 2's rule, which
    read `"acc"`), else `"min"`, since Prechelt's criteria are defined on an
    error. Keras itself raises there instead.

    Args:
        monitor: Name of the quantity in the logs, e.g. `"val_accuracy"`.
        mode: One of `"auto"`, `"min"`, `"max"`. Defaults to `"auto"`.
        model: The `keras.Model` whose compiled metrics tell the direction,
            or `None`. Defaults to `None`.

    Returns:
        `"min"` or `"max"`.

    Raises:
        ValueError: If `mode` is not one of the three.
    """
    _check_mode(mode)
    if mode != "auto":
        return mode
    if model is not None:
        probe = keras.callbacks.EarlyStopping(monitor=monitor, mode="auto")
        probe.set_model(model)
        try:
            probe._set_monitor_op()  # Keras's rule; raises where it cannot tell.
        except (AttributeError, ValueError):
            pass
        else:
            if probe.monitor_op is keras.ops.greater:
                return "max"
            if probe.monitor_op is keras.ops.less:
                return "min"
    name = monitor.removeprefix("val_")
    return "max" if any(part in name for part in _HIGHER_IS_BETTER) else "min"


def _to_error(value, mode):
    """The error Prechelt's criteria use for a logged value: lower is better.

    `"min"`: the value itself. `"max"`: `1 - value`, the error rate of an
    accuracy-like value in [0, 1]. NaN counts as infinitely bad.
    """
    value = float(value)
    if math.isnan(value):
        return math.inf
    return 1.0 - value if mode == "max" else value


def _outside_unit_interval(value, mode):
    value = float(value)
    return mode == "max" and math.isfinite(value) and not 0.0 <= value <= 1.0


_MAX_WARNING = (
    "PrecheltStopping runs on the error 1 - {name} of a monitor to maximize, "
    "which needs values in [0, 1]; {name}={value!r} is outside, so GL, PQ and "
    "UP are not meaningful. Monitor an error (or a loss) instead."
)


# ---------------------------------------------------------------------------
# Prechelt's quantities.


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
        """Adds one epoch's errors and returns its quantities as a dict."""
        k = self.strip_length
        index = len(self.val)
        val = float(val)
        val = math.inf if math.isnan(val) else val  # NaN counts as +inf.
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
    *,
    mode="min",
):
    """Returns the epoch at which each Prechelt criterion would stop.

    Applies `PrecheltStopping`'s three criteria to recorded curves, for
    instance `history.history["val_loss"]` and `history.history["loss"]`.
    Epochs are 0-based indices into the lists (the `epoch` of Keras's
    callbacks); `PrecheltStopping` with the same arguments stops at the same
    epoch. With `E_va = val_losses` (or `1 - val_losses` for `mode="max"`),
    `E_opt = min(E_va[:t + 1])` and strips of `k = strip_length` epochs
    ending at the epochs `t` with `(t + 1) % k == 0`:

    ```python
    GL[t] = 100 * (E_va[t] / E_opt - 1)
    P[t] = 1000 * (sum(strip) / (k * min(strip)) - 1)  # train_losses[t-k+1:t+1]
    stop_GL = first t with GL[t] > alpha_gl             # any epoch
    stop_PQ = first strip end t with GL[t] / P[t] > alpha_pq
    stop_UP = first strip end t where E_va went up at the last strips_up
              strip ends in a row: E_va[t - i * k] > E_va[t - (i + 1) * k]
              for i in range(strips_up)
    ```

    The criteria assume positive errors. A NaN validation value counts as
    infinitely bad; a strip with a missing, non-finite or non-positive
    training loss has no `P` and cannot stop `PQ`.

    Args:
        val_losses: Sequence of floats, the validation error per epoch (or,
            with `mode="max"`, an accuracy-like value in [0, 1]).
        train_losses: Sequence of floats of the same length, the training
            error per epoch (lower is better, whatever `mode`), or `None`
            (then `PQ` never stops). Defaults to `None`.
        alpha_gl: Float > 0. GL threshold, in percent. Defaults to `5.0`.
        alpha_pq: Float > 0. PQ threshold. Defaults to `3.0`.
        strips_up: Int > 0. Number of successive strips with an increase for
            UP. Defaults to `3`.
        strip_length: Int > 0. Epochs per strip, `k`. Defaults to `5`.
        mode: `"min"` (`val_losses` is an error) or `"max"` (it is an
            accuracy-like value; the criteria run on `1 - value`). Defaults
            to `"min"`.

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
    >>> prechelt_stop_epochs([0.5, 0.6, 0.7, 0.8], mode="max")["GL"] is None
    True
    """
    alpha_gl = check_greater("alpha_gl", alpha_gl, 0)
    alpha_pq = check_greater("alpha_pq", alpha_pq, 0)
    strips_up = check_int("strips_up", strips_up, 1)
    strip_length = check_int("strip_length", strip_length, 1)
    _check_mode(mode, ("min", "max"))
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
    outside = next((v for v in val_losses if _outside_unit_interval(v, mode)), None)
    if outside is not None:
        warnings.warn(_MAX_WARNING.format(name="value", value=outside), stacklevel=2)
    state = _PrecheltState(strip_length)
    alphas = {"GL": alpha_gl, "PQ": alpha_pq, "UP": None}
    stops = {"GL": None, "PQ": None, "UP": None}
    for epoch, (val, train) in enumerate(zip(val_losses, train_losses)):
        quantities = state.update(_to_error(val, mode), train)
        for criterion in _CRITERIA:
            if stops[criterion] is None and _stops(
                criterion, quantities, alphas[criterion], strips_up
            ):
                stops[criterion] = epoch
    return stops


# ---------------------------------------------------------------------------
# The callback.


@keras.saving.register_keras_serializable(package="kerasrec")
class PrecheltStopping(keras.callbacks.Callback):
    """Stops training with Prechelt's GL, PQ or UP criterion.

    From Prechelt (1998), "Early stopping - but when?". `E_va` is the
    validation error, `E_opt` the lowest one so far, `E_tr` the training
    error; a strip is `k = strip_length` successive epochs, and the strip
    ends are the epochs `t` with `(t + 1) % k == 0`:

    ```python
    GL = 100 * (E_va / E_opt - 1)                        # every epoch
    P = 1000 * (sum(E_tr over strip) / (k * min(E_tr over strip)) - 1)
    PQ = GL / P                                          # at strip ends
    UP = number of successive strip ends with E_va[t] > E_va[t - k]
    # criterion="GL": stop when GL > alpha       (any epoch)
    # criterion="PQ": stop when PQ > alpha       (strip ends only)
    # criterion="UP": stop when UP >= strips     (strip ends only)
    ```

    The criteria are defined on an error: positive, lower is better, with a
    natural zero (GL and PQ are ratios of errors). A monitor to minimize (a
    loss, an error rate) is used as it is. A monitor to maximize
    (`mode="max"`, or `"auto"` on an accuracy or AUC) is turned into its
    error rate, `E = 1 - value`: for `val_accuracy` that is the
    classification error, Prechelt's own measure, so
    `monitor="val_accuracy"` stops exactly where a hand-made `val_error =
    1 - val_accuracy` would. Negating the value instead would give negative
    "errors", for which the ratios mean nothing; so a monitor to maximize
    must lie in [0, 1], and a value outside gives a warning. A NaN
    validation value counts as infinitely bad. The training monitor of PQ
    goes the same way, with its own direction (`mode="auto"`'s rule).

    The best weights are kept, and restored at the end of training, by a
    `keras.callbacks.EarlyStopping(restore_best_weights=True)` inside, told
    of every new `E_opt` (and never stopping by itself), so the weights are
    those of `best_epoch` exactly. With `filepath`, the best model is saved
    whenever `E_opt` improves, through a temporary file and `os.replace`:
    `keras.callbacks.ModelCheckpoint(save_best_only=True)` writes the file in
    place, so a crash during a save would leave half a model there.

    Prechelt found that slower criteria (larger `alpha` or `strips`) find
    slightly better models at a much larger cost in epochs; PQ suits long
    runs where the training loss keeps falling.

    Every epoch appends a dict to `self.trace` with the keys `"epoch"`,
    `"E_va"`, `"E_tr"` (the errors the criteria used), `"E_opt"`,
    `"improved"`, `"GL"`, `"strip_end"`, `"P"` and `"PQ"` (`None` except at
    strip ends), `"UP"` (the current count) and `"stop"`, whatever the
    criterion. After training, `self.stopped_epoch` is the epoch at which it
    stopped (`None` if it did not; unlike `EarlyStopping`, which uses `0`),
    `self.best_epoch` the epoch of `E_opt` and `self.resolved_mode` the
    direction used (`"min"` or `"max"`, set at the first epoch end). Epochs are
    0-based, as in Keras's callbacks; `prechelt_stop_epochs()` gives the
    same epochs from recorded curves.

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
        monitor: Name of the validation quantity in the logs. Defaults to
            `"val_loss"`.
        train_monitor: Name of the training quantity in the logs, used by
            PQ. Defaults to `"loss"`.
        restore_best_weights: Whether to restore the weights of the best epoch
            at the end of training, stopped or not (as Keras 3's
            `EarlyStopping` does). Defaults to `True`.
        filepath: Path ending in `.keras` (the whole model) or `.weights.h5`
            (the weights), where the best model is saved every time `E_opt`
            improves, atomically. `None` saves nothing. Defaults to `None`.
        verbose: Verbosity, 0 or 1. Defaults to `0`.
        mode: One of `"auto"`, `"min"`, `"max"`: whether `monitor` is to be
            minimized or maximized. `"auto"` follows Keras's rule (a loss is
            minimized, a compiled metric goes its declared direction) and,
            where Keras cannot tell, the name: maximized if it contains
            `"acc"` or `"auc"`, else minimized. Defaults to `"auto"`.

    Raises:
        ValueError: If `criterion` or `mode` is unknown, `alpha`,
            `strip_length` or `strips` is not > 0 or does not apply to the
            criterion, or `filepath` has another extension.

    Example:

    >>> stopper = PrecheltStopping("GL", monitor="val_accuracy",
    ...                            filepath="best.keras")
    >>> model.fit(x, y, validation_data=(x_val, y_val), epochs=200,
    ...           callbacks=[stopper])
    >>> stopper.stopped_epoch, stopper.best_epoch, stopper.resolved_mode
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
        mode="auto",
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
        _check_mode(mode)
        self.criterion = criterion
        self.alpha = alpha
        self.strip_length = strip_length
        self.strips = strips
        self.monitor = monitor
        self.train_monitor = train_monitor
        self.restore_best_weights = restore_best_weights
        self.filepath = None if filepath is None else os.fspath(filepath)
        self.verbose = verbose
        self.mode = mode
        self._alpha = (
            _DEFAULT_ALPHA.get(self._criterion) if alpha is None else alpha
        )
        self._strips = _DEFAULT_STRIPS if strips is None else strips
        # Keeps the weights of every new E_opt and restores the last one.
        # It watches `best_epoch`, which grows exactly when E_opt falls, so
        # it agrees with the trace whatever precision Keras compares in.
        self._keeper = keras.callbacks.EarlyStopping(
            monitor="best_epoch",
            mode="max",
            patience=sys.maxsize,
            restore_best_weights=restore_best_weights,
            verbose=verbose,
        )
        self._reset()

    def _reset(self):
        self._state = _PrecheltState(self.strip_length)
        self.trace = []
        self.stopped_epoch = None
        self.best_epoch = None
        self.resolved_mode = None if self.mode == "auto" else self.mode
        self._train_mode = None
        self._warned_train = False
        self._warned_range = False

    @property
    def best_weights(self):
        """The weights of `best_epoch` (`None` without `restore_best_weights`)."""
        return self._keeper.best_weights

    def set_model(self, model):
        super().set_model(model)
        self._keeper.set_model(model)

    def on_train_begin(self, logs=None):
        # Allow instances to be re-used across `fit()` calls.
        self._reset()
        self._keeper.on_train_begin()

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
        if self.resolved_mode is None:  # As Keras: once metrics are built.
            self.resolved_mode = _resolve_mode(self.monitor, self.mode, self.model)
        if self._train_mode is None:
            self._train_mode = _resolve_mode(self.train_monitor, "auto", self.model)
        if _outside_unit_interval(val, self.resolved_mode) and not self._warned_range:
            self._warned_range = True
            warnings.warn(
                _MAX_WARNING.format(name=self.monitor, value=float(val)),
                stacklevel=2,
            )
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
        if train is not None:
            train = _to_error(train, self._train_mode)
        entry = {"epoch": epoch}
        entry.update(self._state.update(_to_error(val, self.resolved_mode), train))
        if entry["improved"]:
            self.best_epoch = epoch
            if self.filepath is not None:
                self._save_best()
        if self.best_epoch is not None:
            self._keeper.on_epoch_end(epoch, {"best_epoch": self.best_epoch})
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
        self._keeper.on_train_end()

    def _save_best(self):
        path = self.filepath
        suffix = ".weights.h5" if path.endswith(".weights.h5") else ".keras"
        # Keras's savers want the extension on the temporary name too.
        with replacing(path, suffix=suffix) as tmp:
            if suffix == ".keras":
                self.model.save(tmp)
            else:
                self.model.save_weights(tmp)
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
            "mode": self.mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
