"""KerasTuner's grid and random search, resumable, with a trial table.

`GridSearch` and `RandomSearch` are drop-in subclasses of KerasTuner's
tuners: the same constructor arguments, the same `search()`, the same
errors and extension points (a `run_trial()` or `HyperModel.fit()` of your
own that returns a `History`, a dict of metrics or a number). They add:

1. **Resuming**, with the oracles of `kerasrec.tuning.oracles`: a rerun
   continues a search without re-running a finished trial, also after a
   kill, also for a grid (keras-team/keras-tuner#1055).
2. **The trial table.** `run_trial()` keeps what KerasTuner's returns, the
   per-execution histories, in `trial_<id>/history.json` with the trial's
   time (`kerasrec.tuning.history`); `trials_table()` and `save_trials()`
   give and write every trial's hyperparameters, status, score and
   per-epoch history (`kerasrec.tuning.table`). The tuner rewrites
   `trials.csv` and `trials.json` after every trial, so a killed search
   leaves an up-to-date table.
3. **Early checks** that KerasTuner does not make, after the ones it does
   (`kerasrec.tuning.objectives`): `max_trials` must be a positive
   integer; an objective that `make_hypermodel()`'s model does not log
   fails when the tuner is built; in a trial, a `val_` objective without
   validation data fails before the first batch, and an objective the
   model does not log at the end of the first batch (or epoch, with user
   callbacks), instead of three failed trials. `GridSearch` can refuse a
   grid larger than `max_grid_size`, and warns when a hyperparameter would
   be gridded as KerasTuner's 10 unsorted quantiles.
"""

import os
import time

import keras_tuner

from kerasrec import _checks
from kerasrec._checks import ArgumentError
from kerasrec._io import write_json
from kerasrec.tuning import _kt, history, table
from kerasrec.tuning.objectives import ObjectiveCheck, check_objective, has_validation
from kerasrec.tuning.objectives import objective_names
from kerasrec.tuning.oracles import GridSearchOracle, RandomSearchOracle
from kerasrec.tuning.space import check_grid_size, warn_stepless


def _logged_metrics(hypermodel, tuner_kwargs):
    if tuner_kwargs.get("metrics") is not None or tuner_kwargs.get("loss") is not None:
        return None  # The tuner recompiles with other metrics.
    return getattr(hypermodel, "logged_metrics", None)


class _SearchMixin:
    """The per-trial history, the trial table and the in-trial objective check."""

    def _init_tuner(self, oracle, hypermodel, objective, kwargs):
        # KerasTuner has parsed the objective (building `oracle`): its errors came first.
        if hypermodel is None and type(self).run_trial is _SearchMixin.run_trial:
            # keras_tuner.Tuner.__init__'s own check, which takes this class's
            # run_trial() for a user's that defines the search space.
            raise ValueError(
                "Received `hypermodel=None`. We only allow not specifying "
                "`hypermodel` if the user defines the search space in "
                "`Tuner.run_trial()` by subclassing a `Tuner` class without "
                "using a `HyperModel` instance."
            )
        _kt.check_tuner()
        check_objective(objective, _logged_metrics(hypermodel, kwargs))
        # The tuners' own __init__ only builds their oracle.
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        """Runs KerasTuner's trial and writes what it returned to `history.json`.

        Returns what `keras_tuner.Tuner.run_trial()` returns: one result per
        execution.
        """
        self._user_callbacks = bool(kwargs.get("callbacks"))
        started = time.monotonic()
        results = super().run_trial(trial, *args, **kwargs)
        if self._should_write():
            write_json(self._history_path(trial.trial_id), history.record(
                trial.trial_id, results, self.oracle.objective.name,
                tuner_id=self.tuner_id, seconds=time.monotonic() - started,
            ))
        return results

    def _build_and_fit_model(self, trial, *args, **kwargs):
        names = objective_names(self.oracle.objective)
        if names and self.hypermodel is not None:
            # Only KerasTuner's own fit passes these kwargs to `model.fit()` as they are.
            own_fit = type(self.hypermodel).fit is keras_tuner.HyperModel.fit
            check = ObjectiveCheck(
                names,
                validation=has_validation(kwargs) if own_fit else None,
                at_first_batch=own_fit and not getattr(self, "_user_callbacks", True),
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

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self._should_write():
            self.save_trials()

    def _should_write(self):
        # False on the non-chief workers of a multi-worker strategy, which
        # run the same trial as their chief.
        return getattr(self.oracle, "should_report", True)

    def _history_path(self, trial_id):
        return os.path.join(self.get_trial_dir(trial_id), history.HISTORY_FILE)

    def trials_table(self):
        """Every trial of the search as a list of dicts, in trial order.

        `kerasrec.tuning.trials_table(tuner)`: see there for the columns.

        Returns:
            A list of dicts.

        Example:

        >>> rows = tuner.trials_table()
        >>> [(r["hyperparameters"]["learning_rate"], r["score"]) for r in rows]
        """
        return table.trials_table(self)

    def save_trials(self, directory=None):
        """Writes the trial table as `trials.csv` and `trials.json`.

        `kerasrec.tuning.save_trials(self.trials_table(), directory)` with
        the oracle's objective and search space. The tuner calls it after
        every trial and at the end of `search()`.

        Args:
            directory: where to write. Defaults to `None`, the tuner's
                project directory.

        Returns:
            The paths `(csv_path, json_path)`.

        Example:

        >>> csv_path, json_path = tuner.save_trials()
        """
        names = None
        if isinstance(self.oracle, keras_tuner.Oracle):
            names = [hp.name for hp in self.oracle.get_space().space]
        return table.save_trials(
            self.trials_table(),
            self.project_dir if directory is None else directory,
            objective=self.oracle.objective,
            hyperparameter_names=names,
        )


class GridSearch(_SearchMixin, keras_tuner.GridSearch):
    """KerasTuner's grid search, resumable, with a trial table.

    A drop-in replacement for `keras_tuner.GridSearch`: the same
    constructor arguments, `search()`, errors and extension points. It
    differs in that:

    - a search resumes from its directory (with KerasTuner's default
      `overwrite=False`), after a clean stop or a kill, running each grid
      point once (`GridSearchOracle`; keras-tuner#1055). Raising
      `max_trials` in the new tuner continues a grid cut short by it;
    - `trials_table()` / `save_trials()` give every trial's
      hyperparameters, scores and per-epoch history; `trials.csv` and
      `trials.json` are rewritten in the project directory after each trial;
    - what KerasTuner does not check fails early (see the module
      docstring), and `max_grid_size` states a budget for the grid.

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
            objective is an empty list or names a metric the hypermodel
            does not log (known for `make_hypermodel()`), or the grid is
            larger than `max_grid_size` without `confirm_grid_size=True`;
            and KerasTuner's own errors (an objective whose direction it
            cannot infer, ...). At `search()`, in the first trial: a `val_`
            objective without validation data (before the first batch), or
            an objective the model does not log (at the end of the first
            batch or epoch), after KerasTuner's own checks of the model
            and the callbacks.
        ImportError: the installed KerasTuner lacks a private name this
            tuner relies on (`kerasrec.tuning._kt`).

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
        self._init_tuner(oracle, hypermodel, objective, kwargs)
        if self._is_worker():
            return
        space = self.oracle.get_space()
        if max_grid_size is not None:
            check_grid_size(space, max_grid_size, confirm=confirm_grid_size)
        warn_stepless(space)


class RandomSearch(_SearchMixin, keras_tuner.RandomSearch):
    """KerasTuner's random search, crash-safe, with a trial table.

    A drop-in replacement for `keras_tuner.RandomSearch`: the same
    constructor arguments, `search()`, errors and extension points.
    KerasTuner's random search already resumes from its directory with
    `overwrite=False`; this one also writes its state atomically and
    repairs what a kill can leave (`RandomSearchOracle`), and adds
    `trials_table()` / `save_trials()` (`trials.csv`, `trials.json`
    rewritten after each trial) and the early checks. Sample scale
    parameters log-uniformly, `hp.Float(name, low, high, sampling="log")`,
    as `make_hypermodel()` does without `grid_points`.

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
        ImportError: as `GridSearch`.

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
        self._init_tuner(oracle, hypermodel, objective, kwargs)
