"""KerasTuner's grid and random search oracles, made to resume.

A search reloads its project directory (KerasTuner's default
`overwrite=False`) and continues without re-running a finished trial, also
after the process was killed mid-trial: the unfinished trial runs again,
from scratch. KerasTuner 1.4.8 does this for random search but not for grid
search, whose oracle keeps its place in the grid in memory only
(`_ordered_ids`, `_populate_next`; keras-team/keras-tuner#1055): a resumed
grid stops early, and after a kill it crashes with `KeyError: '0003'` in
`populate_space`. `GridSearchOracle` rebuilds that state from the saved
trials on reload, so it also resumes projects started with plain
`keras_tuner.GridSearch`. Both oracles write their files atomically and
repair the few states a kill can leave on disk.
"""

import functools
import os

import keras_tuner

from kerasrec._io import write_json
from kerasrec.tuning import _kt
from kerasrec.tuning.space import grid_values

_TrialStatus = keras_tuner.engine.trial.TrialStatus
FINISHED = (_TrialStatus.COMPLETED, _TrialStatus.FAILED)


def trial_sort_key(trial_id):
    """Sorts trial ids as numbers ("2" before "10"), other ids after them."""
    trial_id = str(trial_id)
    return (0, int(trial_id), "") if trial_id.isdigit() else (1, 0, trial_id)


def _is_remote(path):
    return "://" in str(path)  # gs://...: no atomic rename; KerasTuner writes it


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _kt.check_oracle(self, grid=isinstance(self, keras_tuner.oracles.GridSearchOracle))

    def save(self):
        path = self._get_oracle_fname()
        if _is_remote(path):
            return super().save()
        write_json(path, self.get_state())

    def _save_trial(self, trial):
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        if _is_remote(path):
            return super()._save_trial(trial)
        write_json(path, trial.get_state())


    def reload(self):
        super().reload()
        self._repair_after_reload()

    def _repair_after_reload(self):
        retry = []
        for trial_id in self._retry_queue:
            trial = self.trials.get(trial_id)
            if trial is None or trial_id in retry:
                continue
            if trial.status in FINISHED:
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)
                continue
            retry.append(trial_id)
        for trial_id in sorted(self.trials, key=trial_sort_key):
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
        self._retry_queue = sorted(retry, key=trial_sort_key, reverse=True)


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
        grid = {hp.name: grid_values(hp) for hp in space.space}
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
