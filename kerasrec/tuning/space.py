"""Search spaces for the lecture's procedure: log grids and a hypermodel.

A coarse grid, then random refinement, over the learning rate and the
weight decay. `log_grid()` gives the grid's points; `make_hypermodel()`
turns any model-building function into a KerasTuner hypermodel that
searches the optimizer's learning rate and weight decay, with `hp.Choice`
over log-spaced points (grid) or a log-uniform `hp.Float` (random).
`grid_size()` and `check_grid_size()` count what KerasTuner's grid visits
before anything trains.
"""

import inspect
import math
import numbers
import warnings

import keras
import keras_tuner

from kerasrec import _checks, schedules
from kerasrec._checks import ArgumentError

_OPTIMIZERS = ("sgd", "adam", "adamw")


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


def grid_values(hp):
    """The values KerasTuner's grid visits for one hyperparameter, in its order."""
    values = list(hp.values)
    if hp.default not in values:
        values.insert(0, hp.default)
    return values


def _as_hyperparameters(hypermodel_or_hp):
    if isinstance(hypermodel_or_hp, keras_tuner.HyperParameters):
        return hypermodel_or_hp
    hp = keras_tuner.HyperParameters()
    if isinstance(hypermodel_or_hp, keras_tuner.HyperModel):
        hypermodel_or_hp.declare_hyperparameters(hp)
        hypermodel_or_hp.build(hp)
        return hp
    if callable(hypermodel_or_hp):
        hypermodel_or_hp(hp)
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
        size *= len(grid_values(param))
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


def warn_stepless(space):
    """Warns about each hyperparameter KerasTuner would grid as 10 unsorted quantiles.

    A `hp.Float`, or a log-sampled `hp.Int`, without `step`.
    """
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
                stacklevel=4,
            )


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

    Example:

    >>> make_optimizer("adamw", 1e-3, weight_decay=1e-4)
    <keras.src.optimizers.adamw.AdamW ...>
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
