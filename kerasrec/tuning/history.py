"""A trial's per-epoch history, from what `Tuner.run_trial()` returns.

KerasTuner's `Tuner.run_trial()` returns one result per execution of a
trial (`executions_per_trial` of them): the `History` that `model.fit()`
returned, or what a `HyperModel.fit()` of its own returned instead, a dict
of metrics or the objective's value as a number. KerasTuner keeps only the
best epoch's metrics of it. `record()` keeps all of it, as JSON:

```python
{"trial_id": "3", "tuner_id": "tuner0", "seconds": 12.5,
 "executions": [{"loss": [0.9, 0.7], "val_loss": [1.0, 0.8]}, ...]}
```

a `History` as its per-epoch lists, a dict as one step, a number as one
step of the objective. The tuners write it to `trial_<id>/history.json`
when the trial's `run_trial()` returns, and `mean_history()` averages the
executions for the trial table.
"""

import math
import numbers

import keras

from kerasrec._io import to_jsonable

HISTORY_FILE = "history.json"


def _number(value):
    """A float, or None for what is not a number (NaN stays NaN)."""
    if isinstance(value, bool) or isinstance(value, str):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def execution_history(result, objective_name):
    """`{name: [value per step]}` from one execution's result.

    Args:
        result: a `keras.callbacks.History`, a dict of metrics or a
            number, as `HyperModel.fit()` may return them.
        objective_name: the name a bare number is the value of (KerasTuner
            reads it as the objective).

    Returns:
        A dict of lists of floats, with `None` for non-finite values; `{}`
        for a result of another type (KerasTuner reports it).
    """
    if isinstance(result, keras.callbacks.History):
        items = {name: list(values) for name, values in (result.history or {}).items()}
    elif isinstance(result, dict):
        items = {name: [value] for name, value in result.items()}
    elif isinstance(result, numbers.Real) or hasattr(result, "dtype"):
        items = {objective_name: [result]}
    else:
        return {}
    history = {}
    for name, values in items.items():
        values = [_number(v) for v in values]
        if values and not all(v is None for v in values):
            history[str(name)] = values
    return to_jsonable(history)


def record(trial_id, results, objective_name, *, tuner_id=None, seconds=None):
    """The JSON record of a trial: its executions' histories and its time.

    Args:
        trial_id: the trial's id.
        results: what `Tuner.run_trial()` returned: one result or a list of
            them, one per execution.
        objective_name: see `execution_history()`.
        tuner_id: the tuner that ran the trial. Defaults to `None`.
        seconds: the trial's wall time. Defaults to `None`.

    Returns:
        A dict, as in the module docstring.
    """
    if not isinstance(results, (list, tuple)):
        results = [results]
    executions = [execution_history(r, objective_name) for r in results]
    return to_jsonable({
        "trial_id": str(trial_id),
        "tuner_id": tuner_id,
        "seconds": seconds,
        "executions": [e for e in executions if e],
    })


def mean_history(executions):
    """`{name: [per step]}` averaged over executions, `None` values skipped.

    Args:
        executions: a list of `{name: [value per step]}` dicts.

    Returns:
        A dict; a step where no execution has a value is `None`.
    """
    executions = [e for e in executions if e]
    if len(executions) == 1:
        return {k: list(v) for k, v in executions[0].items()}
    names = []
    for execution in executions:
        names += [n for n in execution if n not in names]
    history = {}
    for name in names:
        length = max(len(e.get(name, [])) for e in executions)
        values = []
        for i in range(length):
            column = [e[name][i] for e in executions if len(e.get(name, [])) > i]
            column = [v for v in column if v is not None and math.isfinite(v)]
            values.append(sum(column) / len(column) if column else None)
        history[name] = values
    return history
