"""The trial table: every trial of a KerasTuner search, one row each.

`trials_table(source)` reads a search, from a tuner or from its project
directory on disk, so the same table serves a search in this process, a
worker of a distributed search and the launcher that reads the shared
directory once the chief and the workers are done. Each trial contributes
its `trial.json` (written by the oracle: status, hyperparameters, score,
the metrics KerasTuner kept) and its `history.json` (written by the tuner
that ran it, `kerasrec.tuning.history`: per-epoch history, seconds, tuner
id). `save_trials(rows, directory)` writes the rows as `trials.csv` and
`trials.json`; `kerasrec.plots.plot_trials` draws them.

Example:

>>> rows = trials_table("runs/search")   # or trials_table(tuner)
>>> save_trials(rows, "runs", objective="val_accuracy")
('runs/trials.csv', 'runs/trials.json')
"""

import csv
import io
import os
import warnings

import keras_tuner

from kerasrec._checks import ArgumentError
from kerasrec._io import read_json, to_jsonable, write_atomic, write_json
from kerasrec.tuning import _kt
from kerasrec.tuning.history import HISTORY_FILE, mean_history
from kerasrec.tuning.objectives import objective_names
from kerasrec.tuning.oracles import trial_sort_key


def _read_trials(project_dir):
    trials = []
    pattern = os.path.join(str(project_dir), "trial_*", "trial.json")
    for path in _kt.private(_kt.GLOB)(pattern):
        try:
            trials.append(keras_tuner.engine.trial.Trial.load(path))
        except (OSError, ValueError, KeyError) as e:
            warnings.warn(f"Skipping unreadable trial file {path}: {e!r}", stacklevel=3)
    return trials


def _read_record(project_dir, trial_id):
    path = os.path.join(str(project_dir), f"trial_{trial_id}", HISTORY_FILE)
    try:
        return read_json(path) or {}
    except (OSError, ValueError):  # written atomically: only another writer's file
        return {}


def _history_from_metrics(trial):
    """Per-step history from the trial's own metrics, when it reported several steps."""
    history = {}
    for name, metric in trial.metrics.metrics.items():
        observations = metric.get_history()
        if len(observations) > 1:
            history[name] = [o.mean() for o in observations]
    return history


def trial_row(trial, record=None):
    """One row of the trial table.

    Args:
        trial: a `keras_tuner.engine.trial.Trial`.
        record: the trial's `history.json` contents, or `None` when it has
            none (a trial still running, or a `run_trial()` of its own that
            does not call the tuner's). Defaults to `None`.

    Returns:
        A dict; see `trials_table()`.
    """
    record = record or {}
    executions = record.get("executions") or []
    history = mean_history(executions) or _history_from_metrics(trial)
    scored = trial.score is not None
    metrics = {}
    for name, metric in trial.metrics.metrics.items():
        observations = {o.step: o.mean() for o in metric.get_history()}
        if observations:
            metrics[name] = observations.get(trial.best_step, metric.get_last_value())
    return to_jsonable({
        "trial_id": trial.trial_id,
        "status": trial.status,
        "hyperparameters": dict(trial.hyperparameters.values),
        "score": trial.score if scored else None,
        "best_step": trial.best_step if scored else None,
        "metrics": metrics,
        "history": history,
        "epochs": max((len(v) for v in history.values()), default=0),
        "executions": len(executions),
        "seconds": record.get("seconds"),
        "tuner_id": record.get("tuner_id"),
    })


def trials_table(source):
    """Every trial of a search as a list of dicts, in trial order.

    Each row holds:

    - `trial_id` (str) and `status` (`"COMPLETED"`, `"RUNNING"`,
      `"INVALID"`, `"FAILED"`);
    - `hyperparameters`: a dict `{name: value}`;
    - `score`: the objective at the best epoch (None until completed), and
      `best_step`, that epoch (0-based);
    - `metrics`: every logged quantity at the best epoch, as KerasTuner
      recorded them (averaged over executions);
    - `history`: `{name: [value per epoch]}`, from every epoch's logs,
      averaged over executions where `executions_per_trial > 1` (from the
      trial's own metrics for a trial without `history.json`);
    - `epochs` (the length of the history), `executions` (how many were
      recorded), `seconds` (the trial's wall time in `run_trial()`) and
      `tuner_id` (who ran it), None while the trial runs or when unknown.

    A non-finite value is `None`.

    Args:
        source: a KerasTuner tuner (its oracle's trials, or on a worker of
            a distributed search the chief's files), or the path of a
            project directory (`<directory>/<project_name>`).

    Returns:
        A list of dicts.

    Raises:
        ValueError: `source` is neither a tuner nor a directory.

    Example:

    >>> rows = trials_table("runs/search")
    >>> [(r["hyperparameters"]["learning_rate"], r["score"]) for r in rows]
    """
    if isinstance(source, keras_tuner.engine.base_tuner.BaseTuner):
        project_dir = source.project_dir
        if isinstance(source.oracle, keras_tuner.Oracle):
            trials = list(source.oracle.trials.values())
        else:  # A worker's OracleClient: read the chief's files.
            trials = _read_trials(project_dir)
    elif isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        project_dir = source
        trials = _read_trials(project_dir)
    else:
        raise ArgumentError(
            "Argument `source` must be a KerasTuner tuner or the path of a project "
            f"directory. Received: source={source!r}"
        )
    trials.sort(key=lambda t: trial_sort_key(t.trial_id))
    return [trial_row(t, _read_record(project_dir, t.trial_id)) for t in trials]


def table_csv(rows, hyperparameter_names=None):
    """The trial table as CSV text: one line per row.

    Columns: `trial_id`, `status`, one per hyperparameter, `score`,
    `best_step`, `epochs`, `seconds`, `tuner_id`, then for every logged
    quantity `<name>` (at the best epoch) and `final_<name>` (at the last
    epoch); a quantity named like a hyperparameter (`learning_rate` from
    `kerasrec.callbacks.LearningRateLogger`) gets `metric_<name>`.
    """
    hp_names = list(hyperparameter_names or [])
    for row in rows:
        hp_names += [n for n in row["hyperparameters"] if n not in hp_names]
    metric_names = []
    for row in rows:
        for name in list(row["metrics"]) + list(row["history"]):
            if name not in metric_names:
                metric_names.append(name)
    metric_names.sort(key=lambda n: (n.startswith("val_"), n != "loss" and n != "val_loss", n))
    fixed = ["trial_id", "status"] + hp_names + ["score", "best_step", "epochs", "seconds",
                                                 "tuner_id"]
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
        line += [row["score"], row["best_step"], row["epochs"], row["seconds"],
                 row.get("tuner_id")]
        line += [row["metrics"].get(m) for m in metric_names]
        line += [(row["history"].get(m) or [None])[-1] for m in metric_names]
        writer.writerow(["" if v is None else v for v in line])
    return out.getvalue()


def save_trials(rows, directory, *, objective=None, hyperparameter_names=None):
    """Writes the trial table as `trials.csv` and `trials.json` in `directory`.

    `trials.json` holds `{"objective": name, "direction": "min" or "max",
    "trials": rows}`, everything including the per-epoch histories;
    `trials.csv` is `table_csv(rows)`. Both are written atomically.

    Args:
        rows: `trials_table()` rows.
        directory: where to write; created if needed.
        objective: the search's objective (a name, a `keras_tuner.Objective`
            or a list of them, as a tuner takes it), for `trials.json`.
            Defaults to `None`: unknown.
        hyperparameter_names: the CSV's hyperparameter columns, in order
            (those of `rows` not in it follow). Defaults to `None`: in
            order of appearance in `rows`.

    Returns:
        The paths `(csv_path, json_path)`.

    Raises:
        TypeError, ValueError: `objective` is not one KerasTuner accepts
            (KerasTuner's own errors).

    Example:

    >>> save_trials(trials_table("runs/search"), "runs", objective="val_accuracy")
    """
    direction = None
    if objective is not None:
        objective = _kt.private(_kt.CREATE_OBJECTIVE)(objective)
        direction = objective.direction
    names = objective_names(objective)
    table = {
        "objective": names[0] if len(names) == 1 else (names or None),
        "direction": direction,
        "trials": rows,
    }
    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    json_path = os.path.join(directory, "trials.json")
    csv_path = os.path.join(directory, "trials.csv")
    write_json(json_path, table)
    write_atomic(csv_path, table_csv(rows, hyperparameter_names))
    return csv_path, json_path
