"""Steps 4 and 5 of the tuning procedure: the coarse grid, then the random refinement."""

import dataclasses
import math

from kerasrec import callbacks as kcallbacks
from kerasrec import schedules
from kerasrec import tuning
from kerasrec._checks import ArgumentError, check_number, check_positive_int

# ---------------------------------------------------------------------------
# Steps 4 and 5: coarse grid, then random refinement (KerasTuner).


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a search step found.

    Attributes:
        best_hyperparameters: `{name: value}` of the best trial.
        best_score: its objective value.
        table: every trial (`kerasrec.tuning` `trials_table()` rows).
        directory: the tuner's project directory (`trials.csv`,
            `trials.json`, and KerasTuner's own files).
        objective: the objective's name, e.g. `"val_accuracy"`.
        direction: `"max"` or `"min"`: whether a higher or a lower score is
            better (what `best_trial` and `narrow_ranges` need).
        tuner: the tuner itself (not serialized).
    """

    best_hyperparameters: dict
    best_score: float
    table: list
    directory: str
    objective: str = "val_accuracy"
    direction: str = "max"
    tuner: object = dataclasses.field(default=None, compare=False, repr=False)

    def to_dict(self):
        """The result without the tuner, as plain JSON-able values."""
        return {"best_hyperparameters": self.best_hyperparameters, "best_score": self.best_score,
                "table": self.table, "directory": self.directory,
                "objective": self.objective, "direction": self.direction}


def _search(tuner, train, validation, epochs, verbose, extra_callbacks=()):
    tuner.search(train, validation_data=validation, epochs=epochs, verbose=verbose,
                 callbacks=[kcallbacks.LearningRateLogger(), *extra_callbacks])
    tuner.save_trials()
    best = tuner.oracle.get_best_trials(1)
    if not best:
        raise RuntimeError(f"the search in {tuner.project_dir} finished no trial")
    objective = tuner.oracle.objective
    return SearchResult(
        best_hyperparameters=dict(best[0].hyperparameters.values),
        best_score=float(best[0].score), table=tuner.trials_table(),
        directory=str(tuner.project_dir),
        objective=getattr(objective, "name", str(objective)),
        direction=objective.direction, tuner=tuner,
    )


def _steps_per_epoch(train, steps_per_epoch=None):
    """`steps_per_epoch`, or the length of the finite dataset `train`."""
    if steps_per_epoch is None:
        steps_per_epoch = int(train.cardinality())
        if steps_per_epoch <= 0:
            raise ArgumentError(
                "Argument `train` must be a finite dataset of known length, to count the "
                "steps of an epoch for the warmup and the decay (or give `steps_per_epoch` "
                "to `train_final`). Received: train.cardinality()="
                f"{steps_per_epoch} (-1: infinite, -2: unknown)")
    return check_positive_int("steps_per_epoch", steps_per_epoch)


def _warmup_steps(warmup_epochs, epochs, train, steps_per_epoch=None):
    """`warmup_epochs` (checked to lie in [0, epochs)) in steps; 0 without warmup."""
    check_number("warmup_epochs", warmup_epochs, 0, epochs)
    if not warmup_epochs:
        return 0
    return schedules.epochs_to_steps(warmup_epochs, _steps_per_epoch(train, steps_per_epoch))


def _check_range(name, value):
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
          and 0 < value[0] < value[1] and math.isfinite(value[1]))
    if not ok:
        raise ArgumentError(f"Argument `{name}` must be a range (low, high) with 0 < low < high. "
                         f"Received: {name}={value!r}")
    return (float(value[0]), float(value[1]))


def coarse_search(build_model, train, validation, *, learning_rate, directory,
                  span=10.0, weight_decay=(1e-5, 1e-3), grid_points=3, epochs=2,
                  warmup_epochs=0.0, optimizer="sgd", objective="val_accuracy",
                  project_name="coarse", max_grid_size=25, verbose=0):
    """Step 4: a coarse grid of learning rate x weight decay, a few epochs each.

    The learning rates are `grid_points` log-spaced values from
    `learning_rate / span` to `learning_rate * span` (around step 3's
    suggestion), the weight decays (the optimizer's decoupled weight decay,
    see the module docstring) `grid_points` log-spaced values over
    `weight_decay`; every combination trains `epochs` epochs at a constant
    learning rate (after a linear warmup over `warmup_epochs`, if any) with
    `kerasrec.tuning.GridSearch` in `directory`, which resumes there after a
    crash.

    The range test raises the learning rate slowly, so what it suggests is
    a learning rate for a network that has already trained a little: where
    the first steps at that rate would go wrong (a plateau at the start, or
    a loss that explodes), `warmup_epochs=1` trains the way the test
    measured.

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        train: the training batches.
        validation: the validation batches.
        learning_rate: the centre of the learning-rate range.
        directory: where the tuner keeps its trials.
        span: the range is `learning_rate / span` to `learning_rate * span`.
            Defaults to `10.0`.
        weight_decay: the range `(low, high)` of the optimizer's decoupled
            weight decay. Defaults to `(1e-5, 1e-3)`.
        grid_points: values per hyperparameter. Defaults to `3`.
        epochs: epochs per trial. Defaults to `2`.
        warmup_epochs: epochs of linear warmup from 0 at the start of each
            trial, in [0, `epochs`). Defaults to `0.0`.
        optimizer: `"sgd"` or `"adamw"`. Defaults to `"sgd"`.
        objective: the tuner's objective: a logged metric whose direction
            KerasTuner knows (`"val_accuracy"` is maximized, `"val_loss"`
            minimized) or a `keras_tuner.Objective`. Its direction is in the
            result's `direction`. Defaults to `"val_accuracy"`.
        project_name: the tuner's project. Defaults to `"coarse"`.
        max_grid_size: the largest grid allowed. Defaults to `25`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        A `SearchResult`.

    Raises:
        ValueError: a bad argument (also from `kerasrec.tuning`).
    """
    check_number("learning_rate", learning_rate, 1e-12)
    check_number("span", span, 1.000001)
    check_positive_int("epochs", epochs)
    warmup_steps = _warmup_steps(warmup_epochs, epochs, train)
    lr_range = (learning_rate / span, learning_rate * span)
    hypermodel = tuning.make_hypermodel(build_model, optimizer=optimizer,
                                        learning_rate=lr_range,
                                        weight_decay=_check_range("weight_decay", weight_decay),
                                        grid_points=grid_points, warmup_steps=warmup_steps)
    tuner = tuning.GridSearch(hypermodel, objective=objective, directory=directory,
                              project_name=project_name, max_grid_size=max_grid_size)
    return _search(tuner, train, validation, epochs, verbose)


def _check_direction(direction):
    if direction not in ("max", "min"):
        raise ArgumentError(
            "Argument `direction` must be 'max' (a higher score is better, e.g. "
            "val_accuracy) or 'min' (lower is better, e.g. val_loss): the search's "
            f"`SearchResult.direction`. Received: direction={direction!r}")
    return direction


def _best_trials(table, direction, top_k):
    """The `top_k` completed trials of `table`, best first under `direction`."""
    _check_direction(direction)
    if not isinstance(table, (list, tuple)):
        raise ArgumentError("Argument `table` must be a list of `trials_table()` rows. "
                            f"Received: table={table!r}")
    done = [r for r in table if r.get("status") == "COMPLETED" and r.get("score") is not None]
    if not done:
        raise ArgumentError("Argument `table` must hold at least one completed trial. "
                            f"Received: {len(table)} trials, none completed")
    return sorted(done, key=lambda r: r["score"], reverse=direction == "max")[:top_k]


def best_trial(table, *, direction):
    """The best completed trial of a search, under the objective's direction.

    Args:
        table: `trials_table()` rows (a `SearchResult.table`).
        direction: `"max"` if a higher score is better (`val_accuracy`),
            `"min"` if lower is (`val_loss`): the search's
            `SearchResult.direction`.

    Returns:
        The row of the best trial (with its `hyperparameters`, `score` and
        per-epoch `history`).

    Raises:
        ValueError: a bad `direction`, or no completed trial.

    Example:

    >>> coarse = kerasrec.playbook.coarse_search(...)
    >>> best = kerasrec.playbook.best_trial(coarse.table, direction=coarse.direction)
    """
    return _best_trials(table, direction, 1)[0]


def narrow_ranges(table, *, direction, top_k=3, names=("learning_rate", "weight_decay"),
                  widen=2.0):
    """The ranges that the best trials of a search span, widened.

    Takes the `top_k` best completed trials (the highest scores when
    `direction="max"`, the lowest when `"min"`) and, for each name, the
    range from the smallest to the largest value they used, widened by the
    factor `widen` on each side (a grid point's neighbourhood): the range
    that step 5 samples.

    Args:
        table: `trials_table()` rows (a `SearchResult.table`).
        direction: `"max"` if a higher score is better (`val_accuracy`),
            `"min"` if lower is (`val_loss`): the search's
            `SearchResult.direction` (or `trials.json`'s `"direction"`).
        top_k: how many of the best trials. Defaults to `3`.
        names: the hyperparameters to narrow. Defaults to
            `("learning_rate", "weight_decay")`.
        widen: the factor to widen each range by on both sides. Defaults to
            `2.0`.

    Returns:
        `{name: (low, high)}`.

    Raises:
        ValueError: a bad argument, or no completed trial.

    Example:

    >>> coarse = kerasrec.playbook.coarse_search(...)
    >>> kerasrec.playbook.narrow_ranges(coarse.table, direction=coarse.direction)
    {'learning_rate': (0.121, 4.84), 'weight_decay': (5e-06, 0.002)}
    """
    _check_direction(direction)
    check_positive_int("top_k", top_k)
    check_number("widen", widen, 1.0)
    best = _best_trials(table, direction, top_k)
    ranges = {}
    for name in names:
        values = [float(r["hyperparameters"][name]) for r in best]
        if min(values) <= 0:
            raise ArgumentError(f"Argument `table` must hold positive values of `{name}`. "
                             f"Received: {values}")
        ranges[name] = (min(values) / widen, max(values) * widen)
    return ranges


def refine_search(build_model, train, validation, *, learning_rate, weight_decay, directory,
                  max_trials=6, epochs=5, warmup_epochs=0.0, optimizer="sgd",
                  objective="val_accuracy", project_name="refine", seed=0, verbose=0):
    """Step 5: random search in the narrowed ranges, longer, no decay.

    Samples `max_trials` log-uniform combinations of learning rate and
    decoupled weight decay (the optimizer's, see the module docstring) from
    the ranges (for instance `narrow_ranges()` of step 4)
    with `kerasrec.tuning.RandomSearch`, each trained `epochs` epochs at a
    constant learning rate (after a linear warmup over `warmup_epochs`, if
    any: see `coarse_search`). The search resumes in `directory`.

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        train: the training batches.
        validation: the validation batches.
        learning_rate: the range `(low, high)`.
        weight_decay: the range `(low, high)` of the optimizer's decoupled
            weight decay.
        directory: where the tuner keeps its trials.
        max_trials: the number of trials. Defaults to `6`.
        epochs: epochs per trial. Defaults to `5`.
        warmup_epochs: epochs of linear warmup from 0 at the start of each
            trial, in [0, `epochs`). Defaults to `0.0`.
        optimizer: `"sgd"` or `"adamw"`. Defaults to `"sgd"`.
        objective: the tuner's objective (see `coarse_search`). Defaults to
            `"val_accuracy"`.
        project_name: the tuner's project. Defaults to `"refine"`.
        seed: the sampling seed. Defaults to `0`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        A `SearchResult`.

    Raises:
        ValueError: a bad argument (also from `kerasrec.tuning`).
    """
    check_positive_int("epochs", epochs)
    warmup_steps = _warmup_steps(warmup_epochs, epochs, train)
    hypermodel = tuning.make_hypermodel(
        build_model, optimizer=optimizer,
        learning_rate=_check_range("learning_rate", learning_rate),
        weight_decay=_check_range("weight_decay", weight_decay),
        warmup_steps=warmup_steps,
    )
    tuner = tuning.RandomSearch(hypermodel, objective=objective, max_trials=max_trials,
                                seed=seed, directory=directory, project_name=project_name)
    return _search(tuner, train, validation, epochs, verbose)
