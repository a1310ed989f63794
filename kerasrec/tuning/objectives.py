"""Objective checks KerasTuner does not make, run after the ones it does.

KerasTuner checks an objective's form when the oracle is built (a
`TypeError` for something that is neither a name nor an `Objective`, a
`ValueError` "Could not infer optimization direction" for an unknown name),
and a trial's build and callbacks when the trial runs (`FatalTypeError` for
a build function that returns no model, `FatalValueError` for callbacks
that cannot be deep-copied). It never checks that the model logs the
objective: a search over a name the model does not log trains every trial
to the end and then fails it, three times in a row. kerasrec adds that
check, and only that, after KerasTuner's own:

- `check_objective()`, when the tuner is built, after KerasTuner has
  parsed the objective: a list must not be empty, and a hypermodel that
  states what it logs (`make_hypermodel()`'s `logged_metrics`) must log
  the objective;
- `ObjectiveCheck`, a callback on every `fit()` of KerasTuner's own trial
  (`Tuner.run_trial()` and `HyperModel.fit()` not overridden), so after
  KerasTuner has built the model and copied the callbacks: before the
  first batch, a `val_` objective without validation data fails; at the
  end of the first batch (first epoch with user callbacks, which can add
  entries to the logs) an objective the model does not log fails, with
  the names it does log.

A tuner whose `run_trial()` or `HyperModel.fit()` returns its metrics
itself gets no `ObjectiveCheck`: KerasTuner checks what it returns.
"""

import keras
import keras_tuner

from kerasrec._checks import ArgumentError
from kerasrec.tuning import _kt


class FatalArgumentError(ArgumentError, keras_tuner.errors.FatalValueError):
    """An argument error raised inside a trial, which stops the search.

    KerasTuner records any other exception of a trial as a failed trial and
    goes on with the next one; a `keras_tuner.errors.FatalError` stops the
    search at once.
    """


def objective_names(objective):
    """The metric names an objective reads (none for KerasTuner's default objective).

    Args:
        objective: the oracle's objective (a `keras_tuner.Objective`, which
            may be a multi-objective), or what a tuner accepts: a name, an
            `Objective`, a list of them, or `None`.

    Returns:
        A list of str.
    """
    if objective is None or isinstance(objective, _kt.private(_kt.DEFAULT_OBJECTIVE)):
        return []
    if isinstance(objective, _kt.private(_kt.MULTI_OBJECTIVE)):
        return [o.name for o in objective.objectives]
    if isinstance(objective, keras_tuner.Objective):
        return [objective.name]
    if isinstance(objective, (list, tuple)):
        return [n for o in objective for n in objective_names(o)]
    return [objective]


def check_objective(objective, logged_metrics=None):
    """Checks what KerasTuner does not check about an objective it accepted.

    Call it after KerasTuner has parsed `objective` (building the oracle
    does), so that its own errors come first.

    Args:
        objective: the objective the tuner was given.
        logged_metrics: the train-time names the model logs (`loss` and
            the compiled metrics), when known; each objective name must be
            one of them or its `val_` form. Defaults to `None`: unknown.

    Raises:
        ValueError: `objective` is an empty list, or names a quantity the
            model does not log.
    """
    if isinstance(objective, list) and not objective:
        raise ArgumentError(
            "Argument `objective` must be a metric name, a `keras_tuner.Objective`"
            f" or a non-empty list of them. Received: objective={objective!r}"
        )
    if logged_metrics:
        allowed = sorted(set(logged_metrics) | {f"val_{m}" for m in logged_metrics})
        for name in objective_names(objective):
            if name not in allowed:
                raise ArgumentError(
                    "Argument `objective` must be one of the quantities the model logs: "
                    f"{allowed}. Received: objective={objective!r}"
                )


def has_validation(fit_kwargs):
    """Whether `model.fit(**fit_kwargs)` validates."""
    return (
        fit_kwargs.get("validation_data") is not None
        or bool(fit_kwargs.get("validation_split"))
    )


class ObjectiveCheck(keras.callbacks.Callback):
    """Fails a trial's `fit()` early when it cannot log the objective.

    Args:
        names: the objective's metric names.
        validation: whether the `fit()` validates, or `None` when unknown
            (a `HyperModel.fit()` of its own may add validation data).
            Defaults to `None`.
        at_first_batch: check at the end of the first batch, when the
            train-time names are known; `False` waits for the first epoch
            end, for callbacks that add entries to the epoch logs. Defaults
            to `True`.

    Raises:
        FatalArgumentError: before the first batch, for a `val_` objective
            when `validation` is `False`; at the end of the first batch or
            epoch, for an objective the logs do not hold.
    """

    def __init__(self, names, validation=None, at_first_batch=True):
        super().__init__()
        self.names = list(names)
        self.validation = validation
        self.at_first_batch = at_first_batch
        self._checked = False

    def on_train_begin(self, logs=None):
        needs_validation = [n for n in self.names if n.startswith("val_")]
        if needs_validation and self.validation is False:
            raise FatalArgumentError(
                f"Argument `objective` must not be a validation metric ({needs_validation}) "
                "when `search()` gets no validation data: pass `validation_data=` or "
                "`validation_split=`, or use a training metric. "
                f"Received: objective={self._label()!r}"
            )

    def on_train_batch_end(self, batch, logs=None):
        if self._checked or not self.at_first_batch:
            return
        self._checked = True
        logged = set(logs or {})
        if self.validation is not False:
            logged |= {f"val_{k}" for k in logged}
        self._check(logged)

    def on_epoch_end(self, epoch, logs=None):
        self._check(set(logs or {}))

    def _check(self, logged):
        missing = [n for n in self.names if n not in logged]
        if missing:
            raise FatalArgumentError(
                "Argument `objective` must be one of the quantities the model logs: "
                f"{sorted(logged)}. Received: objective={self._label()!r} "
                f"(missing: {missing})"
            )

    def _label(self):
        return self.names[0] if len(self.names) == 1 else self.names
