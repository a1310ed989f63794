"""Hyperparameter search: KerasTuner grid and random search that resume.

`GridSearch` and `RandomSearch` are drop-in subclasses of KerasTuner's
tuners (same constructor arguments, same `search()`), with two additions:

1. **Resuming.** A search reloads its directory (KerasTuner's default
   `overwrite=False`) and continues without re-running a finished trial,
   also after the process was killed mid-trial: the unfinished trial is run
   again, from scratch. KerasTuner 1.4.8 does this for `RandomSearch` but not
   for `GridSearch`, whose oracle keeps its place in the grid in memory only
   (`_ordered_ids`, `_populate_next`; keras-team/keras-tuner#1055): a
   resumed grid stops early, and after a kill it crashes with
   `KeyError: '0003'` in `populate_space`. `GridSearchOracle` here rebuilds
   that state from the saved trials on reload, so it also resumes projects
   started with plain `keras_tuner.GridSearch`. Both oracles write their
   files atomically and repair the few states a kill can leave on disk.
2. **The trial table.** `tuner.trials_table()` gives every trial's
   hyperparameters, status, score and per-epoch history (KerasTuner itself
   keeps only the best epoch's metrics); `tuner.save_trials()` writes it as
   `trials.csv` and `trials.json`. The tuner writes both after every trial,
   so a killed search leaves an up-to-date table. `kerasrec.plots.plot_trials`
   draws it.

They also check their arguments before any training: `max_trials` must be
positive; an objective name the model will not log fails at the first
training batch (or epoch, with user callbacks) with a `ValueError` listing
the names it logs, instead of three failed trials; `GridSearch` can refuse a
grid larger than `max_grid_size`, and warns when a hyperparameter would be
gridded by KerasTuner's 10 unsorted quantiles (a `hp.Float` or log `hp.Int`
without `step`).

On top of them, the search-space helpers for the lecture's procedure
(coarse grid, then random refinement, over learning rate and weight decay):
`log_grid()` and `make_hypermodel()`, which turns any model-building function
into a hypermodel that searches the optimizer's learning rate and weight
decay with `hp.Choice` over log-spaced points (grid) or log-uniform
`hp.Float` (random).

Example:

>>> build = make_hypermodel(my_model, learning_rate=(1e-3, 1.0),
...                         weight_decay=(1e-5, 1e-2), grid_points=4)
>>> tuner = GridSearch(build, objective="val_accuracy",
...                    directory="runs", project_name="grid")
>>> tuner.search(x, y, epochs=3, validation_data=(x_val, y_val))
>>> tuner.trials_table()[0]["history"]["val_accuracy"]  # one per epoch
"""

import csv
import functools
import inspect
import io
import json
import math
import numbers
import os
import time
import warnings

import keras
import keras_tuner

# KerasTuner's objective classes and file helpers are not exported; these are
# the modules its own tuners use.
from keras_tuner.src import utils as _kt_utils
from keras_tuner.src.backend import io as _kt_io
from keras_tuner.src.engine import hypermodel as _kt_hypermodel
from keras_tuner.src.engine import objective as _kt_objective

from kerasrec._checks import ArgumentError
from kerasrec import _checks, schedules
from kerasrec.runs import write_atomic

__all__ = [
    "GridSearch",
    "GridSearchOracle",
    "RandomSearch",
    "RandomSearchOracle",
    "check_grid_size",
    "grid_size",
    "log_grid",
    "make_hypermodel",
    "make_optimizer",
]

_TrialStatus = keras_tuner.engine.trial.TrialStatus
_FINISHED = (_TrialStatus.COMPLETED, _TrialStatus.FAILED)
_HISTORY_FILE = "history.json"
_OPTIMIZERS = ("sgd", "adam", "adamw")


# ---------------------------------------------------------------------------
# Small helpers.


def _finite_or_none(value):
    """A Python float, or None for a non-finite or non-numeric value."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _json_value(value):
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) or hasattr(value, "item"):
        return _finite_or_none(value)
    return str(value)


def _write_json(path, obj):
    if "://" in str(path):  # A remote file system (gs://...): no atomic rename.
        _kt_utils.save_json(path, obj)
    else:
        write_atomic(path, json.dumps(obj))


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _trial_sort_key(trial_id):
    trial_id = str(trial_id)
    return (0, int(trial_id), "") if trial_id.isdigit() else (1, 0, trial_id)


def _objective_names(objective):
    """The metric names an objective reads (none for the default objective)."""
    if objective is None or isinstance(objective, _kt_objective.DefaultObjective):
        return []
    if isinstance(objective, _kt_objective.MultiObjective):
        return [o.name for o in objective.objectives]
    if isinstance(objective, keras_tuner.Objective):
        return [objective.name]
    if isinstance(objective, (list, tuple)):
        return [n for o in objective for n in _objective_names(o)]
    return [objective]


def _check_objective(objective, logged_metrics=None):
    """Checks `objective` before KerasTuner sees it.

    A string must name a metric whose direction KerasTuner can infer
    (`loss`, `accuracy`, `val_<metric>`, ...); with `logged_metrics` (the
    train-time names the model logs) every name must be one of them or its
    `val_` form.
    """
    items = objective if isinstance(objective, (list, tuple)) else [objective]
    if isinstance(objective, (list, tuple)) and not objective:
        raise ArgumentError(
            "Argument `objective` must be a metric name, a `keras_tuner.Objective`"
            f" or a non-empty list of them. Received: objective={objective!r}"
        )
    for item in items:
        if item is None and not isinstance(objective, (list, tuple)):
            continue
        if isinstance(item, keras_tuner.Objective):
            continue
        if not isinstance(item, str) or not item or item == "val_":
            raise ArgumentError(
                "Argument `objective` must be a metric name such as 'val_loss' or "
                "'val_accuracy', a `keras_tuner.Objective`, or a list of them. "
                f"Received: objective={objective!r}"
            )
        if keras_tuner.engine.metrics_tracking.infer_metric_direction(item) is None:
            raise ArgumentError(
                f"Argument `objective` names a metric whose direction is unknown: {item!r}. "
                "Use 'loss', 'val_loss', '<metric>' or 'val_<metric>' for a Keras metric, "
                f"or `keras_tuner.Objective({item!r}, direction='min' or 'max')` for your own. "
                f"Received: objective={objective!r}"
            )
    if logged_metrics:
        allowed = sorted(set(logged_metrics) | {f"val_{m}" for m in logged_metrics})
        for name in _objective_names(objective):
            if name not in allowed:
                raise ArgumentError(
                    "Argument `objective` must be one of the quantities the model logs: "
                    f"{allowed}. Received: objective={objective!r}"
                )


def _objective_error(names, logged, objective_name):
    return keras_tuner.errors.FatalValueError(
        f"Argument `objective` must be one of the quantities the model logs: {sorted(logged)}. "
        f"Received: objective={objective_name!r} (missing: {names})"
    )


class _ObjectiveCheck(keras.callbacks.Callback):
    """Fails a search whose objective the model does not log, early.

    At the end of the first training batch, the train-time names are known
    (`loss` and the compiled metrics): a name that is neither one of them nor
    its `val_` form fails at once. Callbacks can add quantities to the epoch
    logs, so with user callbacks the check waits for the first epoch end.
    """

    def __init__(self, names, *, at_first_batch, validation):
        super().__init__()
        self.names = list(names)
        self.at_first_batch = at_first_batch
        self.validation = validation
        self._checked = False

    def on_train_batch_end(self, batch, logs=None):
        if self._checked or not self.at_first_batch:
            return
        self._checked = True
        logged = set(logs or {})
        if self.validation:
            logged |= {f"val_{k}" for k in logged}
        missing = [n for n in self.names if n not in logged]
        if missing:
            raise _objective_error(missing, logged, self._label())

    def on_epoch_end(self, epoch, logs=None):
        logged = set(logs or {})
        missing = [n for n in self.names if n not in logged]
        if missing:
            raise _objective_error(missing, logged, self._label())

    def _label(self):
        return self.names[0] if len(self.names) == 1 else self.names


# ---------------------------------------------------------------------------
# Search-space helpers.


def log_grid(low, high, num):
    """Log-spaced points from `low` to `high`, both included.

    The points of a coarse grid over a scale parameter such as the learning
    rate or the weight decay: `low * (high / low) ** (i / (num - 1))` for
    `i = 0, ..., num - 1`, rounded to 10 significant digits so that
    `log_grid(1e-3, 1.0, 4)` is exactly `[0.001, 0.01, 0.1, 1.0]`.

    Args:
        low: the smallest point, > 0.
        high: the largest point, > `low`.
        num: the number of points, >= 2 (the grid includes both ends).

    Returns:
        A list of `num` increasing Python floats.

    Raises:
        ValueError: `low` is not > 0, `high` is not > `low`, or `num` is not
            an integer >= 2.

    Example:

    >>> log_grid(1e-4, 1e-1, 4)
    [0.0001, 0.001, 0.01, 0.1]
    """
    _checks.check_greater("low", low, 0)
    _checks.check_greater("high", high, 0)
    if not high > low:
        raise ArgumentError(f"Argument `high` must be > `low`. Received: low={low!r}, high={high!r}")
    num = _checks.check_int("num", num, 2)  # the grid includes both ends
    ratio = math.log(high / low)
    points = [float(low)]
    points += [float(f"{low * math.exp(ratio * i / (num - 1)):.10g}") for i in range(1, num - 1)]
    points.append(float(high))
    return points


def _grid_values(hp):
    """The values KerasTuner's grid visits for one hyperparameter."""
    values = list(hp.values)
    if hp.default not in values:
        values.insert(0, hp.default)
    return values


def _as_hyperparameters(hypermodel_or_hp):
    if isinstance(hypermodel_or_hp, keras_tuner.HyperParameters):
        return hypermodel_or_hp
    if isinstance(hypermodel_or_hp, keras_tuner.HyperModel) or callable(hypermodel_or_hp):
        hypermodel = _kt_hypermodel.get_hypermodel(hypermodel_or_hp)
        hp = keras_tuner.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hypermodel.build(hp)
        return hp
    raise ArgumentError(
        "Argument `hypermodel_or_hp` must be a `keras_tuner.HyperParameters`, a "
        "`keras_tuner.HyperModel` or a `build(hp)` function. "
        f"Received: hypermodel_or_hp={hypermodel_or_hp!r}"
    )


def grid_size(hypermodel_or_hp):
    """The number of points KerasTuner's grid search visits.

    The product, over the hyperparameters, of the number of values the grid
    takes for each: a `hp.Choice`'s values, a stepped `hp.Int` or
    `hp.Float`'s steps, and for a `hp.Float` (or log `hp.Int`) without
    `step`, KerasTuner's 10 quantiles plus the default. For a conditional
    space this counts every combination, an upper bound.

    Args:
        hypermodel_or_hp: a `keras_tuner.HyperParameters` holding the space
            (for instance `tuner.oracle.get_space()`), or a hypermodel or
            `build(hp)` function, which is built once with the defaults to
            register its hyperparameters.

    Returns:
        An int (1 for an empty space).

    Raises:
        ValueError: `hypermodel_or_hp` is none of those.

    Example:

    >>> grid_size(make_hypermodel(build_model, grid_points=4))
    16
    """
    hp = _as_hyperparameters(hypermodel_or_hp)
    size = 1
    for param in hp.space:
        size *= len(_grid_values(param))
    return size


def check_grid_size(hypermodel_or_hp, max_grid_size, confirm=False):
    """Refuses a grid larger than `max_grid_size` unless confirmed.

    A grid's cost grows exponentially with the number of hyperparameters;
    this states a budget and fails before any training when the grid
    exceeds it.

    Args:
        hypermodel_or_hp: what `grid_size` takes.
        max_grid_size: the largest grid allowed without confirmation, a
            positive integer.
        confirm: run a larger grid anyway. Defaults to `False`.

    Returns:
        The grid size.

    Raises:
        ValueError: the grid is larger than `max_grid_size` and `confirm` is
            false, or an argument is invalid.

    Example:

    >>> check_grid_size(make_hypermodel(build_model, grid_points=4), 20)
    16
    """
    _checks.check_positive_int("max_grid_size", max_grid_size)
    if not isinstance(confirm, bool):
        raise ArgumentError(f"Argument `confirm` must be a bool. Received: confirm={confirm!r}")
    size = grid_size(hypermodel_or_hp)
    if size > max_grid_size and not confirm:
        raise ArgumentError(
            f"Argument `max_grid_size` must be >= the grid size ({size} points) unless the "
            "large grid is confirmed: pass confirm=True (`confirm_grid_size=True` to "
            "`GridSearch`), raise `max_grid_size`, or use fewer points. "
            f"Received: max_grid_size={max_grid_size}"
        )
    return size


def _check_search_value(name, value, *, allow_off):
    """A (low, high) range, a fixed number, or (with allow_off) None."""
    if value is None and allow_off:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        ok = math.isfinite(value) and (value > 0 or (allow_off and value == 0))
        if ok:
            return float(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
        ok = all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
        if ok and 0 < low < high:
            return (float(low), float(high))
    fixed = "a number >= 0, None" if allow_off else "a number > 0"
    raise ArgumentError(
        f"Argument `{name}` must be a range (low, high) with 0 < low < high, or {fixed}. "
        f"Received: {name}={value!r}"
    )


def _metric_name(metric):
    if isinstance(metric, str):
        return metric
    if isinstance(metric, keras.metrics.Metric):
        return metric.name
    return getattr(metric, "__name__", None)




def make_optimizer(name, learning_rate, weight_decay=None, momentum=0.9):
    """An optimizer by name, with decoupled weight decay where given.

    Args:
        name: `"sgd"` (with plain, not Nesterov, momentum), `"adam"` or `"adamw"`.
        learning_rate: a float or a `LearningRateSchedule`.
        weight_decay: decoupled weight decay (Keras's `weight_decay`
            argument), or `None` for none. Defaults to `None`.
        momentum: SGD's momentum. Defaults to `0.9`.

    Returns:
        A `keras.optimizers.Optimizer`.

    Raises:
        ValueError: an unknown `name` or a negative `weight_decay`.
    """
    if name not in _OPTIMIZERS:
        raise ArgumentError(
            f"Argument `name` must be one of {', '.join(_OPTIMIZERS)}. Received: name={name!r}"
        )
    if weight_decay is not None:
        _checks.check_number("weight_decay", weight_decay, 0)
        weight_decay = float(weight_decay) or None
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 0.0)
    return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)


def make_hypermodel(
    build_model,
    *,
    optimizer="sgd",
    learning_rate=(1e-3, 1.0),
    weight_decay=(1e-6, 1e-2),
    grid_points=None,
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    momentum=0.9,
    warmup_steps=0,
):
    """A hypermodel that searches the learning rate and the weight decay.

    Returns a `build(hp)` function for any KerasTuner tuner. It calls
    `build_model()` for a fresh uncompiled model and compiles it with the
    optimizer, whose learning rate and weight decay come from `hp`:

    - with `grid_points`, `hp.Choice("learning_rate", log_grid(low, high,
      grid_points))`: a grid search visits exactly these points, in
      increasing order (the first is the default, so no extra point);
    - without, `hp.Float("learning_rate", low, high, sampling="log")`:
      random search samples log-uniformly. Do not grid it: KerasTuner would
      grid it as 10 unsorted quantiles plus the default (`GridSearch` warns).

    The same for `weight_decay`, which is Keras's optimizer `weight_decay=`:
    decoupled decay, `w -= learning_rate * weight_decay * w` at each step
    (for SGD with momentum as for AdamW). A fixed value is registered as
    `hp.Fixed` so that it shows in the trial table. A log range cannot hold
    0: to compare with no decay, run a search with `weight_decay=0.0` (or
    `None`, which also leaves it out of the table).

    Args:
        build_model: a function returning a new uncompiled `keras.Model`. If
            it takes one argument it receives the `HyperParameters`, so the
            architecture can be searched too.
        optimizer: `"sgd"` (SGD with `momentum`), `"adam"` or `"adamw"`
            (see `make_optimizer`). Defaults to `"sgd"`.
        learning_rate: a range `(low, high)` with `0 < low < high`, or a
            fixed number > 0. Defaults to `(1e-3, 1.0)`.
        weight_decay: a range `(low, high)` with `0 < low < high`, a fixed
            number >= 0, or `None` for no decay. Defaults to `(1e-6, 1e-2)`.
        grid_points: the number of log-spaced points per range (>= 2), for
            grid search; `None` samples the ranges, for random search.
            Defaults to `None`.
        loss: the loss passed to `compile`. Defaults to
            `"sparse_categorical_crossentropy"`.
        metrics: the metrics passed to `compile`. Defaults to
            `("accuracy",)`.
        momentum: SGD momentum in [0, 1); ignored for AdamW. Defaults to
            `0.9`.
        warmup_steps: Int >= 0. With `warmup_steps > 0` every trial's
            learning rate rises linearly from 0 over that many optimizer
            steps, then stays at the trial's value
            (`kerasrec.schedules.Warmup(kerasrec.schedules.Constant(lr),
            warmup_steps)`). Defaults to `0`: constant from the first step.

    Returns:
        A function `build(hp)` returning a compiled model. Its attribute
        `logged_metrics` lists the names `fit()` will log (`"loss"` and the
        metrics, without the `val_` forms), which the tuners use to check the
        objective before training.

    Raises:
        ValueError: an argument is invalid (an empty, inverted or
            non-positive range, an unknown optimizer, ...).

    Example:

    >>> def build_model():
    ...     return keras.Sequential([keras.Input((64,)),
    ...                              keras.layers.Dense(10, activation="softmax")])
    >>> build = make_hypermodel(build_model, grid_points=4)  # a 4 x 4 grid
    >>> tuner = GridSearch(build, objective="val_accuracy", directory="runs")
    """
    if not callable(build_model) or isinstance(build_model, keras.layers.Layer):
        # A model is callable too, but every trial needs fresh weights.
        raise ArgumentError(
            "Argument `build_model` must be a function returning a new uncompiled "
            f"keras.Model. Received: build_model={build_model!r}"
        )
    if optimizer not in _OPTIMIZERS:
        raise ArgumentError(
            f"Argument `optimizer` must be one of {list(_OPTIMIZERS)}. "
            f"Received: optimizer={optimizer!r}"
        )
    learning_rate = _check_search_value("learning_rate", learning_rate, allow_off=False)
    weight_decay = _check_search_value("weight_decay", weight_decay, allow_off=True)
    grid_points = _checks.check_int("grid_points", grid_points, 2, allow_none=True)
    _checks.check_number("momentum", momentum, 0.0, 1.0)
    warmup_steps = _checks.check_int("warmup_steps", warmup_steps, 0)
    if loss is None:
        raise ArgumentError(f"Argument `loss` must be a Keras loss. Received: loss={loss!r}")
    if isinstance(metrics, (str, keras.metrics.Metric)) or not isinstance(metrics, (list, tuple)):
        raise ArgumentError(
            f"Argument `metrics` must be a list or tuple of metrics. Received: metrics={metrics!r}"
        )
    metrics = list(metrics)
    takes_hp = _takes_one_argument(build_model)

    def search_value(hp, name, value):
        if value is None:
            return None
        if isinstance(value, float):
            return hp.Fixed(name, value)
        if grid_points is not None:
            return hp.Choice(name, log_grid(value[0], value[1], grid_points))
        return hp.Float(name, value[0], value[1], sampling="log")

    def build(hp):
        lr = search_value(hp, "learning_rate", learning_rate)
        wd = search_value(hp, "weight_decay", weight_decay)
        model = build_model(hp) if takes_hp else build_model()
        if not isinstance(model, keras.Model):
            raise keras_tuner.errors.FatalValueError(
                "Argument `build_model` must return a keras.Model. "
                f"Received: build_model() returned {type(model).__name__}"
            )
        if warmup_steps:
            lr = schedules.Warmup(schedules.Constant(lr), warmup_steps)
        model.compile(optimizer=make_optimizer(optimizer, lr, wd, momentum=momentum),
                      loss=loss, metrics=list(metrics))
        return model

    names = [_metric_name(m) for m in metrics]
    build.logged_metrics = ("loss", *names) if all(names) else None
    return build


def _takes_one_argument(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 1


# ---------------------------------------------------------------------------
# Oracles that resume.


class _ResumableOracleMixin:
    """Atomic state files, and a reload that repairs what a kill leaves.

    KerasTuner writes `oracle.json` and each `trial.json` in place, and a
    kill can fall between two of its writes. On reload, after KerasTuner
    has re-queued the trials that were running:

    - a trial whose file says COMPLETED or FAILED is not re-run (killed
      between writing it and `oracle.json`);
    - a trial whose file says RUNNING is re-run, even if `oracle.json` never
      heard of it (killed between writing the trial and `oracle.json`), and
      the metrics it may have reported before the kill are dropped, so the
      rerun's are not averaged with them.
    """

    def save(self):
        _write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        _write_json(path, trial.get_state())

    def reload(self):
        super().reload()
        self._repair_after_reload()

    def _repair_after_reload(self):
        retry = []
        for trial_id in self._retry_queue:
            trial = self.trials.get(trial_id)
            if trial is None or trial_id in retry:
                continue
            if trial.status in _FINISHED:
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)
                continue
            retry.append(trial_id)
        for trial_id in sorted(self.trials, key=_trial_sort_key):
            trial = self.trials[trial_id]
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
                self._record_values(trial)
            if trial.status == _TrialStatus.RUNNING and trial_id not in retry:
                retry.append(trial_id)
        for trial_id in retry:
            trial = self.trials[trial_id]
            if trial.status == _TrialStatus.RUNNING:
                trial.metrics = type(trial.metrics)()
                trial.score = None
                trial.best_step = 0
        # `create_trial` pops from the end: the smallest id runs first.
        self._retry_queue = sorted(retry, key=_trial_sort_key, reverse=True)


class RandomSearchOracle(_ResumableOracleMixin, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search oracle with atomic, repairable state.

    Same arguments as `keras_tuner.oracles.RandomSearchOracle`. Its files
    are written atomically, and a reload after a kill re-runs the trial that
    was running and no finished one (see the module docstring).
    """


class GridSearchOracle(_ResumableOracleMixin, keras_tuner.oracles.GridSearchOracle):
    """KerasTuner's grid search oracle, which resumes (keras-tuner#1055).

    Same arguments as `keras_tuner.oracles.GridSearchOracle`. KerasTuner's
    grid oracle keeps its place in the grid only in memory: `_ordered_ids`,
    the trials sorted in grid order, and `_populate_next`, the trials whose
    next grid point may be untried. Neither is saved, so a resumed search
    stops early (no trial left to continue from) or, after a kill, crashes
    with a `KeyError` in `populate_space`. Both are derived data, so this
    oracle rebuilds them on reload from the saved trials: the trials whose
    values lie on the grid, sorted with the oracle's own `_compare`, and all
    of them queued to continue from (a trial whose next point was already
    tried is skipped by `populate_space`, as it is without a restart). This
    also resumes a project written by plain `keras_tuner.GridSearch`.
    """

    def reload(self):
        super().reload()
        self._rebuild_grid_state()

    def _rebuild_grid_state(self):
        space = self.get_space()
        grid = {hp.name: _grid_values(hp) for hp in space.space}
        on_grid = []
        for trial_id in self.start_order:
            values = self.trials[trial_id].hyperparameters.values
            if all(name in grid and value in grid[name] for name, value in values.items()):
                on_grid.append(trial_id)

        def compare(a, b):
            return self._compare(
                self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
            )

        on_grid.sort(key=functools.cmp_to_key(compare))
        self._ordered_ids = type(self._ordered_ids)()
        for trial_id in on_grid:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(on_grid)


# ---------------------------------------------------------------------------
# Tuners.


class _SearchMixin:
    """The trial table, the per-epoch histories and the early checks."""

    def _init_checks(self, hypermodel, objective, kwargs):
        logged = getattr(hypermodel, "logged_metrics", None)
        if kwargs.get("metrics") is not None or kwargs.get("loss") is not None:
            logged = None  # The tuner recompiles with other metrics.
        _check_objective(objective, logged)
        self._history = {}
        self._trial_started = {}
        self._user_callbacks = False

    # -- Search and the early objective check. -----------------------------

    def search(self, *fit_args, **fit_kwargs):
        names = _objective_names(self.oracle.objective)
        validation = (
            fit_kwargs.get("validation_data") is not None
            or bool(fit_kwargs.get("validation_split"))
        )
        fit_overridden = (
            self.hypermodel is not None
            and type(self.hypermodel).fit is not keras_tuner.HyperModel.fit
        )
        needs_validation = [n for n in names if n.startswith("val_")]
        if needs_validation and not validation and not fit_overridden:
            raise ArgumentError(
                f"Argument `objective` must not be a validation metric ({needs_validation}) "
                "when `search()` gets no validation data: pass `validation_data=` or "
                f"`validation_split=`, or use a training metric. Received: objective={names[0]!r}"
            )
        # A HyperModel with its own fit() may add validation data and log
        # entries of its own: then the objective is checked at the first
        # epoch end, with validation assumed.
        self._user_callbacks = bool(fit_kwargs.get("callbacks")) or fit_overridden
        self._validation = validation or fit_overridden
        return super().search(*fit_args, **fit_kwargs)

    def _build_and_fit_model(self, trial, *args, **kwargs):
        names = _objective_names(self.oracle.objective)
        if names:
            check = _ObjectiveCheck(
                names,
                at_first_batch=not getattr(self, "_user_callbacks", True),
                validation=getattr(self, "_validation", True),
            )
            kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [check]
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def on_search_begin(self):
        super().on_search_begin()
        # Save before the first trial, so that a kill during it still leaves
        # a project that reloads (KerasTuner first saves at a trial's end).
        self.save()

    def on_search_end(self):
        super().on_search_end()
        if self._should_write():
            self.save_trials()

    # -- Per-epoch histories. ----------------------------------------------

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._trial_started[trial.trial_id] = time.monotonic()
        self._history[trial.trial_id] = {"executions": [], "last_epoch": None}

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        super().on_epoch_begin(trial, model, epoch, logs=logs)
        record = self._history.setdefault(trial.trial_id, {"executions": [], "last_epoch": None})
        last = record["last_epoch"]
        if not record["executions"] or (last is not None and epoch <= last):
            record["executions"].append({})  # A new execution of the trial.

    def on_epoch_end(self, trial, model, epoch, logs=None):
        super().on_epoch_end(trial, model, epoch, logs=logs)
        record = self._history.setdefault(trial.trial_id, {"executions": [{}], "last_epoch": None})
        if not record["executions"]:
            record["executions"].append({})
        record["last_epoch"] = epoch
        execution = record["executions"][-1]
        for name, value in (logs or {}).items():
            if isinstance(value, str):
                continue
            execution.setdefault(name, []).append(_finite_or_none(value))
        self._write_history(trial.trial_id)

    def on_trial_end(self, trial):
        started = self._trial_started.pop(trial.trial_id, None)
        seconds = None if started is None else time.monotonic() - started
        self._write_history(trial.trial_id, seconds=seconds)
        super().on_trial_end(trial)
        self._history.pop(trial.trial_id, None)
        if self._should_write():
            self.save_trials()

    def _should_write(self):
        # False on the non-chief workers of a multi-worker strategy, which
        # run the same trial as their chief.
        return getattr(self.oracle, "should_report", True)

    def _history_path(self, trial_id):
        return os.path.join(self.get_trial_dir(trial_id), _HISTORY_FILE)

    def _write_history(self, trial_id, seconds=None):
        if not self._should_write():
            return
        record = self._history.get(trial_id, {"executions": []})
        _write_json(
            self._history_path(trial_id),
            {"trial_id": trial_id, "executions": record["executions"], "seconds": seconds},
        )

    # -- The table. --------------------------------------------------------

    def _all_trials(self):
        if isinstance(self.oracle, keras_tuner.Oracle):
            trials = list(self.oracle.trials.values())
        else:  # A worker's OracleClient: read the chief's files.
            pattern = os.path.join(str(self.project_dir), "trial_*", "trial.json")
            trials = [
                keras_tuner.engine.trial.Trial.load(f)
                for f in _kt_io.glob(pattern)
            ]
        return sorted(trials, key=lambda t: _trial_sort_key(t.trial_id))

    def trials_table(self):
        """Every trial of the search as a list of dicts, in trial order.

        Each row holds:

        - `trial_id` (str) and `status` (`"COMPLETED"`, `"RUNNING"`,
          `"INVALID"`, `"FAILED"`);
        - `hyperparameters`: a dict `{name: value}`;
        - `score`: the objective at the best epoch (None until completed),
          and `best_step`, that epoch (0-based);
        - `metrics`: every logged quantity at the best epoch, as KerasTuner
          recorded them (averaged over executions);
        - `history`: `{name: [value per epoch]}`, from every epoch's logs,
          averaged over executions where `executions_per_trial > 1`; a
          non-finite value is `None`;
        - `epochs` (the length of the history), `executions` (how many
          were recorded) and `seconds` (the trial's wall time, None while it
          runs or when unknown).

        Returns:
            A list of dicts.

        Example:

        >>> rows = tuner.trials_table()
        >>> [(r["hyperparameters"]["learning_rate"], r["score"]) for r in rows]
        """
        rows = []
        for trial in self._all_trials():
            record = _read_json(self._history_path(trial.trial_id)) or {}
            executions = record.get("executions") or []
            history = _mean_history(executions) or _history_from_metrics(trial)
            metrics = {}
            for name, metric in trial.metrics.metrics.items():
                observations = {o.step: o.mean() for o in metric.get_history()}
                if observations:
                    value = observations.get(trial.best_step, metric.get_last_value())
                    metrics[name] = _finite_or_none(value)
            rows.append({
                "trial_id": trial.trial_id,
                "status": trial.status,
                "hyperparameters": _json_value(dict(trial.hyperparameters.values)),
                "score": _finite_or_none(trial.score) if trial.score is not None else None,
                "best_step": trial.best_step if trial.score is not None else None,
                "metrics": metrics,
                "history": history,
                "epochs": max((len(v) for v in history.values()), default=0),
                "executions": len(executions),
                "seconds": _finite_or_none(record.get("seconds")),
            })
        return rows

    def save_trials(self, directory=None):
        """Writes the trial table as `trials.csv` and `trials.json`.

        `trials.json` holds `{"objective": name, "direction": "min" or
        "max", "trials": trials_table()}`, everything including the
        per-epoch histories. `trials.csv` has one row per trial: `trial_id`,
        `status`, one column per hyperparameter, `score`, `best_step`,
        `epochs`, `seconds`, then for every logged quantity `<name>` (at the
        best epoch) and `final_<name>` (at the last epoch); a quantity named
        like a hyperparameter (`learning_rate` from
        `kerasrec.callbacks.LearningRateLogger`) gets `metric_<name>`. Both
        files are written atomically. The tuner calls this after every
        trial and at the end of `search()`.

        Args:
            directory: where to write. Defaults to `None`, the tuner's
                project directory.

        Returns:
            The paths `(csv_path, json_path)`.

        Example:

        >>> csv_path, json_path = tuner.save_trials()
        """
        directory = str(self.project_dir) if directory is None else str(directory)
        os.makedirs(directory, exist_ok=True)
        rows = self.trials_table()
        objective = self.oracle.objective
        names = _objective_names(objective)
        table = {
            "objective": names[0] if len(names) == 1 else (names or None),
            "direction": getattr(objective, "direction", None),
            "trials": rows,
        }
        json_path = os.path.join(directory, "trials.json")
        csv_path = os.path.join(directory, "trials.csv")
        _write_json(json_path, _json_value(table))
        write_atomic(csv_path, _table_csv(rows, self._hyperparameter_names(rows)))
        return csv_path, json_path

    def _hyperparameter_names(self, rows):
        names = []
        if isinstance(self.oracle, keras_tuner.Oracle):
            names = [hp.name for hp in self.oracle.get_space().space]
        for row in rows:
            names += [n for n in row["hyperparameters"] if n not in names]
        return names


def _mean_history(executions):
    """`{name: [per epoch]}` averaged over executions (None values skipped)."""
    executions = [e for e in executions if e]
    if not executions:
        return {}
    if len(executions) == 1:
        return {k: list(v) for k, v in executions[0].items()}
    history = {}
    names = []
    for execution in executions:
        names += [n for n in execution if n not in names]
    for name in names:
        length = max(len(e.get(name, [])) for e in executions)
        values = []
        for i in range(length):
            column = [e[name][i] for e in executions if len(e.get(name, [])) > i]
            column = [v for v in column if v is not None]
            values.append(sum(column) / len(column) if column else None)
        history[name] = values
    return history


def _history_from_metrics(trial):
    """Per-step history from a trial's own metrics, when it reported several steps."""
    history = {}
    for name, metric in trial.metrics.metrics.items():
        observations = metric.get_history()
        if len(observations) > 1:
            history[name] = [_finite_or_none(o.mean()) for o in observations]
    return history


def _table_csv(rows, hp_names):
    metric_names = []
    for row in rows:
        for name in list(row["metrics"]) + list(row["history"]):
            if name not in metric_names:
                metric_names.append(name)
    metric_names.sort(key=lambda n: (n.startswith("val_"), n != "loss" and n != "val_loss", n))
    fixed = ["trial_id", "status"] + hp_names + ["score", "best_step", "epochs", "seconds"]
    taken = set(fixed)

    def column(name):
        return f"metric_{name}" if name in taken else name

    header = fixed + [column(m) for m in metric_names] + [f"final_{m}" for m in metric_names]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        line = [row["trial_id"], row["status"]]
        line += [row["hyperparameters"].get(n, "") for n in hp_names]
        line += [row["score"], row["best_step"], row["epochs"], row["seconds"]]
        line += [row["metrics"].get(m) for m in metric_names]
        line += [(row["history"].get(m) or [None])[-1] for m in metric_names]
        writer.writerow(["" if v is None else v for v in line])
    return out.getvalue()


class GridSearch(_SearchMixin, keras_tuner.GridSearch):
    """KerasTuner's grid search, resumable, with a trial table.

    A drop-in replacement for `keras_tuner.GridSearch`: the same
    constructor arguments and `search()`. It differs in that:

    - a search resumes from its directory (with KerasTuner's default
      `overwrite=False`), after a clean stop or a kill, running each grid
      point once (`GridSearchOracle`; keras-tuner#1055). Raising
      `max_trials` in the new tuner continues a grid cut short by it;
    - `trials_table()` / `save_trials()` give every trial's
      hyperparameters, scores and per-epoch history; `trials.csv` and
      `trials.json` are rewritten in the project directory after each trial;
    - bad arguments fail before training (see the module docstring), and
      `max_grid_size` states a budget for the grid.

    KerasTuner visits the grid in lexicographic order of the hyperparameters'
    values (the first declared varies slowest), each hyperparameter's default
    first. Search over `hp.Choice` values, such as `log_grid()` points: a
    `hp.Float` without `step` is gridded as 10 unsorted quantiles plus its
    default, and this tuner warns about it.

    Args:
        hypermodel: a `keras_tuner.HyperModel` or a `build(hp)` function,
            such as `make_hypermodel()`'s. Defaults to `None`.
        objective: the metric to optimize: a name such as `"val_accuracy"`,
            a `keras_tuner.Objective`, or a list of them. Defaults to `None`.
        max_trials: the most trials to run, a positive integer, or `None`
            to exhaust the grid. Defaults to `None`.
        seed: random seed. Defaults to `None`.
        hyperparameters: a `keras_tuner.HyperParameters` registering or
            overriding part of the space. Defaults to `None`.
        tune_new_entries: see `keras_tuner.GridSearch`. Defaults to `True`.
        allow_new_entries: see `keras_tuner.GridSearch`. Defaults to `True`.
        max_retries_per_trial: retries of a crashed trial. Defaults to `0`.
        max_consecutive_failed_trials: failed trials in a row that stop the
            search. Defaults to `3`.
        max_grid_size: the largest grid allowed without confirmation, or
            `None` for no limit. Defaults to `None`.
        confirm_grid_size: run a grid larger than `max_grid_size` anyway.
            Defaults to `False`.
        **kwargs: `keras_tuner.Tuner` arguments: `directory`,
            `project_name`, `overwrite` (KerasTuner's default `False`
            resumes), `executions_per_trial`, ...

    Raises:
        ValueError: `max_trials` is not a positive integer or None, the
            objective is malformed or names a metric the hypermodel does not
            log (known for `make_hypermodel()`), or the grid is larger than
            `max_grid_size` without `confirm_grid_size=True`. At `search()`:
            a `val_` objective without validation data, or (at the end of the
            first training batch or epoch) an objective the model does not
            log.

    Example:

    >>> tuner = GridSearch(make_hypermodel(build_model, grid_points=3),
    ...                    objective="val_accuracy", max_grid_size=16,
    ...                    directory="runs", project_name="coarse")
    >>> tuner.search(x, y, epochs=2, validation_split=0.2)  # rerun: resumes
    >>> tuner.trials_table()
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=None,
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        max_grid_size=None,
        confirm_grid_size=False,
        **kwargs,
    ):
        _checks.check_positive_int("max_trials", max_trials, allow_none=True)
        _checks.check_positive_int("max_grid_size", max_grid_size, allow_none=True)
        if not isinstance(confirm_grid_size, bool):
            raise ArgumentError(
                "Argument `confirm_grid_size` must be a bool. "
                f"Received: confirm_grid_size={confirm_grid_size!r}"
            )
        self._init_checks(hypermodel, objective, kwargs)
        self.seed = seed
        oracle = GridSearchOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        # keras_tuner.GridSearch.__init__ only builds its own oracle.
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)
        if self._is_worker():
            return
        space = self.oracle.get_space()
        if max_grid_size is not None:
            check_grid_size(space, max_grid_size, confirm=confirm_grid_size)
        _warn_non_exhaustive(space)


def _warn_non_exhaustive(space):
    for hp in space.space:
        is_float = isinstance(hp, keras_tuner.engine.hyperparameters.Float)
        is_log_int = (
            isinstance(hp, keras_tuner.engine.hyperparameters.Int)
            and hp.sampling in ("log", "reverse_log")
        )
        if (is_float or is_log_int) and hp.step is None:
            warnings.warn(
                f"Hyperparameter {hp.name!r} has no `step`: KerasTuner's grid takes 10 "
                "quantiles of its range, unsorted, plus its default. For a log-spaced "
                f"grid use hp.Choice({hp.name!r}, kerasrec.tuning.log_grid(low, high, num)).",
                stacklevel=3,
            )


class RandomSearch(_SearchMixin, keras_tuner.RandomSearch):
    """KerasTuner's random search, crash-safe, with a trial table.

    A drop-in replacement for `keras_tuner.RandomSearch`: the same
    constructor arguments and `search()`. KerasTuner's random search already
    resumes from its directory with `overwrite=False`; this one also writes
    its state atomically and repairs what a kill can leave
    (`RandomSearchOracle`), and adds `trials_table()` / `save_trials()`
    (`trials.csv`, `trials.json` rewritten after each trial) and the early
    argument checks. Sample scale parameters log-uniformly,
    `hp.Float(name, low, high, sampling="log")`, as `make_hypermodel()`
    does without `grid_points`.

    Args:
        hypermodel: a `keras_tuner.HyperModel` or a `build(hp)` function.
            Defaults to `None`.
        objective: the metric to optimize: a name such as `"val_accuracy"`,
            a `keras_tuner.Objective`, or a list of them. Defaults to `None`.
        max_trials: the number of trials, a positive integer. Defaults to
            `10`.
        seed: random seed. Defaults to `None`.
        hyperparameters: see `keras_tuner.RandomSearch`. Defaults to `None`.
        tune_new_entries: see `keras_tuner.RandomSearch`. Defaults to
            `True`.
        allow_new_entries: see `keras_tuner.RandomSearch`. Defaults to
            `True`.
        max_retries_per_trial: retries of a crashed trial. Defaults to `0`.
        max_consecutive_failed_trials: failed trials in a row that stop the
            search. Defaults to `3`.
        **kwargs: `keras_tuner.Tuner` arguments (`directory`,
            `project_name`, `overwrite`, ...).

    Raises:
        ValueError: as `GridSearch`, without the grid size.

    Example:

    >>> tuner = RandomSearch(make_hypermodel(build_model), objective="val_accuracy",
    ...                      max_trials=8, seed=0, directory="runs", project_name="refine")
    >>> tuner.search(x, y, epochs=10, validation_split=0.2)
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=10,
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        _checks.check_positive_int("max_trials", max_trials)
        self._init_checks(hypermodel, objective, kwargs)
        self.seed = seed
        oracle = RandomSearchOracle(
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)
