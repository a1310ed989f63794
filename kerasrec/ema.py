"""Polyak averaging (EMA of the weights) on top of Keras's `use_ema=True`.

An optimizer with `use_ema=True` keeps an average of each trainable variable
`w`, updated after every step (the first step copies):
`average = ema_momentum * average + (1 - ema_momentum) * w`. What Keras 3
does with it (read in its source, checked by experiment):

- `fit` ends with `optimizer.finalize_variable_values`, which copies the
  averages into the weights: after `fit` the model holds the EMA weights,
  with or without `SwapEMAWeights`, and the raw ones are gone.
- Validation in `fit` uses the raw weights, or with `SwapEMAWeights` the EMA
  ones only. Its swap adds and subtracts, so the raw weights come back
  rounded (about 1e-7), not bit for bit, and the run changes.
- `EarlyStopping(restore_best_weights=True)` restores the best raw weights;
  `ModelCheckpoint` saves the EMA ones only after
  `SwapEMAWeights(swap_on_epoch=True)`; `predict(callbacks=[SwapEMAWeights()])`
  leaves the averages in the model and the raw weights in the optimizer.
- BatchNorm's moving statistics are not averaged: they stay the raw run's
  (timm's ModelEmaV2 averages them; SWA recomputes them).
- `ema_overwrite_frequency` changes the run and fails under `tf.distribute`.

Here the EMA weights are copied, never swapped: `ema_weights` for a block,
`assign_ema_weights` for good, and callbacks that log raw and EMA numbers
side by side (`EMAValidation`), stop early on either (`EMAEarlyStopping`)
and checkpoint either (`EMACheckpoint`). They expect the model to hold the
raw weights during `fit`: do not combine them with `SwapEMAWeights`.
"""

import contextlib
import weakref

import keras

from kerasrec._checks import ArgumentError, check_positive_int, check_range
from kerasrec.batchnorm import batchnorm_layers, recompute_batchnorm

__all__ = [
    "EMACheckpoint",
    "EMAEarlyStopping",
    "EMAValidation",
    "assign_ema_weights",
    "check_optimizer",
    "ema_weights",
]

_BATCHNORM = (None, "recompute", "average")
_WEIGHTS = ("ema", "raw")
# The EMAValidation of each model's current `fit`, set at `on_train_begin`:
# how the other callbacks find its prefix and BatchNorm statistics.
_VALIDATIONS = weakref.WeakKeyDictionary()


def _choice(name, value, allowed):
    if value not in allowed:
        raise ArgumentError(
            f"Argument `{name}` must be one of {', '.join(map(repr, allowed))}. Received: {name}={value!r}"
        )
    return value


def check_optimizer(optimizer):
    """Checks that `optimizer` keeps a usable EMA of the weights.

    Keras checks `ema_momentum` only when the optimizer is created, and lets
    `1` through, where the average stays at the first step's weights. This
    checks the value the optimizer holds now.

    Args:
        optimizer: a `keras.optimizers.Optimizer`, or a `LossScaleOptimizer`
            around one.

    Returns:
        The optimizer that holds the averages (the inner one of a
        `LossScaleOptimizer`).

    Raises:
        ValueError: if it is not an optimizer, has `use_ema=False`, or its
            `ema_momentum` is not in [0, 1).

    Example:

    >>> kerasrec.ema.check_optimizer(keras.optimizers.SGD(use_ema=True, ema_momentum=1.0))
    ValueError: Argument `ema_momentum` must be a number in [0, 1). Received: ema_momentum=1.0
    """
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if not isinstance(inner, keras.optimizers.Optimizer):
        raise ArgumentError(
            f"Argument `optimizer` must be a `keras.optimizers.Optimizer`. Received: optimizer={optimizer!r}"
        )
    if not inner.use_ema:
        raise ArgumentError(
            "Argument `use_ema` of the optimizer must be True for EMA weights. Received: use_ema=False"
        )
    check_range("ema_momentum", inner.ema_momentum, 0, 1, low_open=False)
    return inner


def _ema_optimizer(model, *, built=True):
    if not isinstance(model, keras.Model):
        raise ArgumentError(f"Argument `model` must be a `keras.Model`. Received: model={model!r}")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ArgumentError(
            "Argument `model` must be compiled with an optimizer that has `use_ema=True`. "
            f"Received: model={model.name!r} (not compiled)"
        )
    optimizer = check_optimizer(model.optimizer)
    if built and not optimizer.built:
        raise ArgumentError(
            "Argument `model` must have a built optimizer (train a step first, or call "
            f"`model.optimizer.build(model.trainable_variables)`). Received: model={model.name!r}"
        )
    return optimizer


def _distributed(model):
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    return strategy is not None and type(strategy).__name__ != "_DefaultDistributionStrategy"


def _scope(model):
    """Cross-replica context for reading and assigning a distributed model's variables."""
    return model.distribute_strategy.scope() if _distributed(model) else contextlib.nullcontext()


def _check_training(model):
    optimizer = _ema_optimizer(model, built=False)
    frequency = optimizer.ema_overwrite_frequency
    if frequency and _distributed(model):
        raise ArgumentError(
            "Argument `ema_overwrite_frequency` must be None under a `tf.distribute` strategy: "
            "Keras overwrites the weights inside the replica function, which fails there "
            f"(`merge_call` inside a `cond`). Received: ema_overwrite_frequency={frequency!r}"
        )
    return optimizer


def _read(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _ema_pairs(optimizer):
    """(model variable, its average) for every averaged trainable variable."""
    pairs = zip(optimizer._trainable_variables, optimizer._model_variables_moving_average)
    return [(variable, average) for variable, average in pairs if average is not None]


@contextlib.contextmanager
def _holding(model, assignments, guarded=()):
    """Assigns `(variable, value)` pairs for the block; every variable touched
    and every one of `guarded` gets its value back after, exceptions included.
    Yields the saved values (the assigned variables' first)."""
    variables = [variable for variable, _ in assignments]
    seen = {id(variable) for variable in variables}
    variables += [variable for variable in guarded if id(variable) not in seen]
    with _scope(model):
        saved = _read(variables)
    try:
        with _scope(model):
            for variable, value in assignments:
                variable.assign(value)
        yield saved
    finally:
        with _scope(model):
            for variable, value in zip(variables, saved):
                variable.assign(value)


@contextlib.contextmanager
def ema_weights(model):
    """Puts the optimizer's EMA weights in the model for the `with` block.

    The trainable variables get a copy of the averages; the raw values come
    back when the block ends, bit for bit, also when it raises. The
    optimizer's averages are never written. BatchNorm statistics stay as
    they are (the raw run's). After `fit` the model already holds the EMA
    weights (Keras's `finalize_variable_values`), so this is mostly for
    callbacks and for work between `fit` calls.

    Args:
        model: a `keras.Model` compiled with an optimizer that has
            `use_ema=True` and has been built (trained at least one step).

    Returns:
        A context manager; `with` gives the model.

    Raises:
        ValueError: if the model is not compiled, its optimizer has
            `use_ema=False` or is not built yet.

    Example:

    >>> with kerasrec.ema.ema_weights(model):
    ...     ema_logs = model.evaluate(x_val, y_val, return_dict=True)
    """
    optimizer = _ema_optimizer(model)
    with _holding(model, _ema_pairs(optimizer)):
        yield model


def assign_ema_weights(model):
    """Copies the optimizer's EMA weights into the model's trainable variables.

    A copy, not a swap: the averages stay in the optimizer, the raw weights
    are overwritten (what `fit` does at its end).

    Args:
        model: a `keras.Model` compiled with an optimizer that has
            `use_ema=True` and has been built.

    Returns:
        The number of variables assigned.

    Raises:
        ValueError: as `ema_weights`.

    Example:

    >>> kerasrec.ema.assign_ema_weights(model)
    4
    """
    pairs = _ema_pairs(_ema_optimizer(model))
    with _scope(model):
        for variable, average in pairs:
            variable.assign(average)
    return len(pairs)


def _batchnorm_statistics(model):
    return [
        v
        for layer in batchnorm_layers(model)
        if layer.trainable
        for v in (layer.moving_mean, layer.moving_variance)
    ]


def _evaluate(model, data, batch_size, steps):
    x, y, sample_weight = (
        (*data, None)[:3] if isinstance(data, (tuple, list)) else (data, None, None)
    )
    kwargs = dict(batch_size=batch_size, steps=steps, verbose=0, return_dict=True)
    return model.evaluate(x, y, sample_weight=sample_weight, **kwargs)


@keras.saving.register_keras_serializable(package="kerasrec")
class EMAValidation(keras.callbacks.Callback):
    """Adds the EMA weights' validation metrics to the epoch logs.

    At every epoch end the EMA weights are copied into the model, evaluated
    on `validation_data`, and the raw weights put back bit for bit, so the
    run trains exactly as without the callback. The logs get
    `prefix + "val_" + name` for the loss and every compiled metric
    (`ema_val_loss`, `ema_val_accuracy`), next to Keras's own `val_*` of the
    raw weights, and History holds both.

    `batchnorm` picks the BatchNorm statistics of the EMA evaluation:
    `None` the raw run's (what Keras uses); `"recompute"` re-measured for the
    EMA weights on `batchnorm_data` (`recompute_batchnorm`, as SWA does);
    `"average"` an EMA kept by this callback with the optimizer's
    `ema_momentum` `m` and Keras's rule, after every training step (as
    timm's ModelEmaV2): the first step copies, then
    `average = m * average + (1 - m) * statistic` (`m ** k` for `k` steps
    per call under `steps_per_execution`). A step's statistics come from its
    forward pass, before its update: they trail the weights by one step.
    `batchnorm_statistics` holds the last ones used (moving mean and
    variance of each trainable BatchNorm layer).

    At the end of `fit` the model holds `final_weights`: `"ema"` (Keras
    copies the averages into the weights at the end of `fit` already; this
    adds the BatchNorm statistics of `batchnorm`, those `ema_val_*` were
    measured with) or `"raw"` (the weights and statistics of the last step,
    undoing Keras's copy). A later `EMAEarlyStopping` that restores weights
    has the last word.

    The config leaves out `validation_data` and `batchnorm_data`: add them
    to the dict given to `from_config`.

    Args:
        validation_data: what `model.evaluate` takes: a dataset, or a
            tuple `(x, y)` or `(x, y, sample_weight)`.
        batch_size: int > 0 or None. The batch size for arrays (and for
            array `batchnorm_data`). Defaults to `None` (Keras's 32).
        steps: int > 0 or None. Evaluate on this many batches. Defaults to
            `None`: all of them.
        prefix: non-empty str put before the `val_*` names. Defaults to
            `"ema_"`.
        batchnorm: `None`, `"recompute"` or `"average"`. Defaults to `None`.
        batchnorm_data: the data for `"recompute"` (training inputs,
            usually): see `recompute_batchnorm`. Defaults to `None`.
        batchnorm_steps: int > 0 or None. Recompute on this many batches.
            Defaults to `None`: all of them.
        final_weights: `"ema"` or `"raw"`. Defaults to `"ema"`.

    Raises:
        ValueError: for a bad argument; at the start of `fit`, if the
            optimizer has no usable EMA (see `check_optimizer`), or sets
            `ema_overwrite_frequency` under a `tf.distribute` strategy.

    Example:

    >>> model.compile(optimizer=keras.optimizers.AdamW(use_ema=True), ...)
    >>> history = model.fit(x, y, validation_data=(x_val, y_val), epochs=10,
    ...     callbacks=[kerasrec.ema.EMAValidation((x_val, y_val))])
    >>> history.history["val_loss"], history.history["ema_val_loss"]
    """

    def __init__(
        self,
        validation_data,
        *,
        batch_size=None,
        steps=None,
        prefix="ema_",
        batchnorm=None,
        batchnorm_data=None,
        batchnorm_steps=None,
        final_weights="ema",
    ):
        super().__init__()
        if validation_data is None or (
            isinstance(validation_data, (tuple, list)) and len(validation_data) not in (2, 3)
        ):
            raise ArgumentError(
                "Argument `validation_data` must be a dataset or a tuple (x, y) or (x, y, sample_weight). "
                f"Received: validation_data of type {type(validation_data).__name__}"
            )
        if not isinstance(prefix, str) or not prefix:
            raise ArgumentError(
                f"Argument `prefix` must be a non-empty string. Received: prefix={prefix!r}"
            )
        _choice("batchnorm", batchnorm, _BATCHNORM)
        if (batchnorm == "recompute") != (batchnorm_data is not None):
            raise ArgumentError(
                "Argument `batchnorm_data` must be given exactly when batchnorm='recompute'. "
                f"Received: batchnorm={batchnorm!r}, "
                f"batchnorm_data={'None' if batchnorm_data is None else type(batchnorm_data).__name__}"
            )
        self.validation_data = validation_data
        self.batch_size = check_positive_int("batch_size", batch_size, allow_none=True)
        self.steps = check_positive_int("steps", steps, allow_none=True)
        self.prefix = prefix
        self.batchnorm = batchnorm
        self.batchnorm_data = batchnorm_data
        self.batchnorm_steps = check_positive_int(
            "batchnorm_steps", batchnorm_steps, allow_none=True
        )
        self.final_weights = _choice("final_weights", final_weights, _WEIGHTS)
        self.batchnorm_statistics = None
        self._average = None  # "average": keras.Variables, non-trainable state of the callback
        self._average_of = None

    def on_train_begin(self, logs=None):
        self._optimizer = _check_training(self.model)
        _VALIDATIONS[self.model] = self
        self._raw, self._recomputed, self._evaluated = None, None, False
        if self.batchnorm == "average":
            statistics = _batchnorm_statistics(self.model)
            if self._average is None or self._average_of is not self.model:
                with _scope(self.model):
                    self._average = [
                        keras.Variable(v, trainable=False, name=f"{v.name}_ema") for v in statistics
                    ]
                self._average_of = self.model
            self._iterations = self._read_iterations()

    def _read_iterations(self):
        return int(keras.ops.convert_to_numpy(self._optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        if self.batchnorm != "average" or not self._average:
            return
        now = self._read_iterations()
        if now <= self._iterations:
            return
        # Keras's rule: the first step copies, then `m` per step.
        m = (
            0.0
            if self._iterations == 0
            else float(self._optimizer.ema_momentum) ** (now - self._iterations)
        )
        self._iterations = now
        ops = keras.ops
        with _scope(self.model):
            for average, statistic in zip(self._average, _batchnorm_statistics(self.model)):
                average.assign(ops.add(ops.multiply(average, m), ops.multiply(statistic, 1.0 - m)))

    def _ema_batchnorm(self):
        """`(variable, value)` pairs: the BatchNorm statistics of the EMA weights."""
        if self.batchnorm == "average" and self._average:
            return list(zip(_batchnorm_statistics(self.model), self._average))
        if self.batchnorm == "recompute" and self._recomputed is not None:
            return list(zip(_batchnorm_statistics(self.model), self._recomputed))
        return []

    def on_epoch_end(self, epoch, logs=None):
        pairs = _ema_pairs(_ema_optimizer(self.model))
        statistics = _batchnorm_statistics(self.model)
        # Recomputing runs the model in training mode: guard every
        # non-trainable variable (seed generators too), not only statistics.
        guarded = self.model.non_trainable_variables if self.batchnorm == "recompute" else ()
        with _holding(self.model, pairs + self._ema_batchnorm(), guarded) as saved:
            if self.batchnorm == "recompute":
                recompute_batchnorm(
                    self.model,
                    self.batchnorm_data,
                    num_batches=self.batchnorm_steps,
                    batch_size=self.batch_size or 32,
                )
                with _scope(self.model):
                    self._recomputed = _read(statistics)
            if self.batchnorm is not None:
                with _scope(self.model):
                    self.batchnorm_statistics = _read(statistics)
            results = _evaluate(self.model, self.validation_data, self.batch_size, self.steps)
        self._evaluated = True
        if self.final_weights == "raw":
            self._raw = [(variable, value) for (variable, _), value in zip(pairs, saved)]
        if logs is not None:
            logs.update({f"{self.prefix}val_{name}": value for name, value in results.items()})

    def on_train_end(self, logs=None):
        if _VALIDATIONS.get(self.model) is self:
            del _VALIDATIONS[self.model]
        if not self._evaluated:
            return
        if self.final_weights == "raw":
            assignments = self._raw
        else:
            assignments = _ema_pairs(self._optimizer) + self._ema_batchnorm()
        with _scope(self.model):
            for variable, value in assignments:
                variable.assign(value)

    def get_config(self):
        names = ("batch_size", "steps", "prefix", "batchnorm", "batchnorm_steps", "final_weights")
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _EMAMonitor:
    """What EMAEarlyStopping and EMACheckpoint share: an EMA monitor is one
    that starts with the prefix of the model's EMAValidation."""

    def _validation(self):
        return _VALIDATIONS.get(self.model)

    def _monitors_ema(self, require=False):
        validation = self._validation()
        ema = self.monitor.startswith(validation.prefix if validation is not None else "ema_")
        if require and ema and validation is None:
            raise ArgumentError(
                f"Argument `monitor` names an EMA metric, so an `EMAValidation` must come before "
                f"`{type(self).__name__}` in `callbacks`. Received: monitor={self.monitor!r}"
            )
        return ema

    def _set_monitor_op(self):
        # Keras infers the direction from the name without "val_"; take off
        # our prefix first, so mode="auto" works for "ema_val_accuracy".
        monitor = self.monitor
        validation = self._validation()
        if validation is not None and monitor.startswith(validation.prefix):
            self.monitor = monitor[len(validation.prefix) :]
        try:
            super()._set_monitor_op()
        finally:
            self.monitor = monitor

    def _holding_ema(self):
        validation = self._validation()
        batchnorm = validation._ema_batchnorm() if validation is not None else []
        return _holding(self.model, _ema_pairs(_ema_optimizer(self.model)) + batchnorm)

    def get_config(self):
        return dict(self._config)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kerasrec")
class EMAEarlyStopping(_EMAMonitor, keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` that keeps the weights of the kind it monitors.

    With a monitor of the EMA weights (starting with the `prefix` of the
    `EMAValidation` before it in `callbacks`, `"ema_"` by default), the best
    weights kept and restored with `restore_best_weights=True` are the EMA
    weights of the best epoch, with the BatchNorm statistics that
    `EMAValidation` evaluated them with. With any other monitor it is
    Keras's `EarlyStopping` (which restores raw weights). After a restore
    the optimizer's averages are still those of the last step.

    Unlike Keras, which warns, a monitor missing from the epoch logs is an
    error (so `validation_freq > 1` is not supported).

    Args:
        monitor: the quantity to monitor. Defaults to `"ema_val_loss"`.
        **kwargs: the other arguments of `keras.callbacks.EarlyStopping`
            (`patience`, `restore_best_weights`, ...), by keyword; `mode`
            `"auto"` understands the EMA names.

    Raises:
        ValueError: at the start of `fit`, for an EMA monitor without an
            `EMAValidation` before this callback or an optimizer without a
            usable EMA; at an epoch end, if `monitor` is not in the logs.

    Example:

    >>> model.fit(x, y, validation_data=val, epochs=100, callbacks=[
    ...     kerasrec.ema.EMAValidation(val),
    ...     kerasrec.ema.EMAEarlyStopping(monitor="ema_val_loss", patience=5,
    ...                                   restore_best_weights=True)])
    """

    def __init__(self, monitor="ema_val_loss", **kwargs):
        if not isinstance(monitor, str) or not monitor:
            raise ArgumentError(
                f"Argument `monitor` must be a non-empty string. Received: monitor={monitor!r}"
            )
        super().__init__(monitor=monitor, **kwargs)
        self._config = {"monitor": monitor, **kwargs}

    def on_train_begin(self, logs=None):
        self._ema = self._monitors_ema(require=True)
        if self._ema:
            _check_training(self.model)
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise ArgumentError(
                f"Argument `monitor` must be a key of the epoch logs (put `{type(self).__name__}` after the "
                f"callback that logs it). Received: monitor={self.monitor!r}, logs keys={sorted(logs or {})}"
            )
        if not (self._ema and self.restore_best_weights):
            return super().on_epoch_end(epoch, logs)
        with self._holding_ema():  # Keras's `get_weights()` then reads the EMA weights
            super().on_epoch_end(epoch, logs)


@keras.saving.register_keras_serializable(package="kerasrec")
class EMACheckpoint(_EMAMonitor, keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` that saves the EMA or the raw weights.

    With `weights="ema"` the saved file holds the EMA weights wherever the
    callback stands in the list, with the BatchNorm statistics of the
    model's `EMAValidation` if it has one with a `batchnorm` mode (the
    last recomputed ones for `"recompute"`: put this callback after it).
    The model holds its raw weights again after saving. A whole-model
    `.keras` file then has the EMA weights in both the model and the
    optimizer's averages: resuming from it starts from the average. With
    `weights="raw"` it is Keras's `ModelCheckpoint`.

    `save_best_only` with an EMA monitor (`"ema_val_loss"`) needs an
    `EMAValidation` before this callback.

    Args:
        filepath: as `keras.callbacks.ModelCheckpoint`'s.
        weights: `"ema"` or `"raw"`. Defaults to `"ema"`.
        **kwargs: the other arguments of `keras.callbacks.ModelCheckpoint`
            (`monitor`, `save_best_only`, `save_weights_only`, ...), by
            keyword; `mode` `"auto"` understands the EMA names.

    Raises:
        ValueError: for a bad argument; at the start of `fit`, with
            `weights="ema"` and an optimizer without a usable EMA.

    Example:

    >>> keep = kerasrec.ema.EMACheckpoint("best.keras", monitor="ema_val_loss",
    ...                                   save_best_only=True)
    >>> model.fit(x, y, validation_data=val, epochs=10,
    ...           callbacks=[kerasrec.ema.EMAValidation(val), keep])
    """

    def __init__(self, filepath, weights="ema", **kwargs):
        super().__init__(filepath, **kwargs)
        self.weights = _choice("weights", weights, _WEIGHTS)
        self._config = {"filepath": self.filepath, "weights": weights, **kwargs}

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            self._monitors_ema(require=True)
        if self.weights == "ema":
            _check_training(self.model)
        super().on_train_begin(logs)

    def _save_model(self, epoch, batch, logs):
        if self.weights == "raw":
            return super()._save_model(epoch, batch, logs)
        with self._holding_ema():
            super()._save_model(epoch, batch, logs)
