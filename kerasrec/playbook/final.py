"""Steps 6 and 7 of the tuning procedure: reading the learning curves, the final fit."""

import dataclasses
import math

import keras

from kerasrec import callbacks as kcallbacks
from kerasrec import diagnosis
from kerasrec import schedules
from kerasrec._checks import ArgumentError, check_number, check_positive_int
from kerasrec.playbook.search import _steps_per_epoch, _warmup_steps
from kerasrec.tuning import make_optimizer

# ---------------------------------------------------------------------------
# Step 6: read the learning curves.


def diagnose_curves(history, **kwargs):
    """Step 6: the lecture's learning-curve patterns in a run's history.

    `kerasrec.diagnose` on a history as the playbook stores it: a trial's
    `history` from `trials_table()`, a `FinalResult.history`, or either
    read back from JSON, where a non-finite value is `None` (read here as
    `nan`, which `diagnose` reports as divergence).

    Args:
        history: `{name: [value per epoch]}` with at least `loss`.
        **kwargs: thresholds for `kerasrec.diagnose` (`gap`,
            `target_accuracy`, ...).

    Returns:
        A list of `kerasrec.diagnosis.Finding`s (at least one: `healthy`
        when no problem shows).

    Raises:
        ValueError: a history without `loss` (from `kerasrec.diagnose`).

    Example:

    >>> findings = kerasrec.playbook.diagnose_curves(final.history)
    >>> [f.code for f in findings]
    ['healthy']
    """
    if not isinstance(history, dict):
        raise ArgumentError("Argument `history` must be a dict of per-epoch lists. "
                            f"Received: history={history!r}")
    curves = {k: [math.nan if v is None else v for v in values]
              for k, values in history.items()}
    return diagnosis.diagnose(curves, **kwargs)


# ---------------------------------------------------------------------------
# Step 7: the final fit.


@dataclasses.dataclass(frozen=True)
class FinalResult:
    """What `train_final` produced.

    Attributes:
        model: the trained model (best validation weights restored).
        history: per-epoch logs, with `learning_rate`.
        best_epoch: the epoch (1-based) whose weights were kept, as the
            `EarlyStopping` callback recorded it.
        epochs: epochs run before early stopping (or the budget).
        monitor: the quantity early stopping watched.
        best_value: its value at `best_epoch` (`EarlyStopping.best`).
    """

    model: object
    history: dict
    best_epoch: int
    epochs: int
    monitor: str = "val_accuracy"
    best_value: float = None


def train_final(build_model, train, validation, *, learning_rate, weight_decay=None,
                optimizer="adamw", epochs=10, warmup_epochs=0.0, patience=3,
                monitor="val_accuracy", mode="auto", metrics=("accuracy",),
                steps_per_epoch=None, extra_callbacks=(), verbose=0):
    """Step 7: trains the chosen configuration with cosine decay and early stopping.

    The learning rate follows `kerasrec.schedules.get("cosine", ...)` over
    `epochs` (after an optional linear warmup); Keras's `EarlyStopping`
    with `restore_best_weights=True` stops after `patience` epochs without
    improvement of `monitor` and keeps the best weights. The best epoch is
    the one the callback kept (`EarlyStopping.best_epoch`), judged in the
    callback's own direction (`mode`; `"auto"` asks the metric), so it is
    the epoch whose weights the model holds.
    `kerasrec.callbacks.LearningRateLogger` records the learning rate.

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        train: the training batches (a finite `tf.data.Dataset`).
        validation: the validation batches.
        learning_rate: the peak learning rate.
        weight_decay: the optimizer's decoupled weight decay (what steps 3-5
            tune; not an L2 penalty), or `None`. Defaults to `None`.
        optimizer: a name for `kerasrec.tuning.make_optimizer`. Defaults to `"adamw"`.
        epochs: the budget the cosine spans. Defaults to `10`.
        warmup_epochs: linear warmup length. Defaults to `0.0`.
        patience: `EarlyStopping`'s patience. Defaults to `3`.
        monitor: the logged quantity early stopping watches. Defaults to
            `"val_accuracy"`.
        mode: `EarlyStopping`'s `"auto"` (the direction the metric declares:
            up for accuracy, down for a loss or a cross-entropy), `"max"` or
            `"min"`. Defaults to `"auto"`.
        metrics: the metrics passed to `compile`. Defaults to
            `("accuracy",)`.
        steps_per_epoch: batches per epoch. Defaults to `None`: counted from
            `train`.
        extra_callbacks: more callbacks for `fit`. Defaults to `()`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        A `FinalResult`.

    Raises:
        ValueError: a bad argument, or a `monitor` that `fit` never logged.

    Example:

    >>> final = kerasrec.playbook.train_final(build_model, train, val,
    ...                                       learning_rate=0.28, weight_decay=1e-5,
    ...                                       optimizer="sgd", epochs=5, warmup_epochs=1)
    >>> final.best_epoch, final.epochs
    (5, 5)
    """
    check_number("learning_rate", learning_rate, 1e-12)
    check_positive_int("epochs", epochs)
    check_positive_int("patience", patience)
    if mode not in ("auto", "min", "max"):
        raise ArgumentError(f"Argument `mode` must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    warmup = _warmup_steps(warmup_epochs, epochs, train, steps_per_epoch)
    total = schedules.epochs_to_steps(epochs, _steps_per_epoch(train, steps_per_epoch))
    schedule = schedules.get("cosine", learning_rate=learning_rate, total_steps=total,
                             warmup_steps=warmup)
    model = build_model()
    model.compile(optimizer=make_optimizer(optimizer, schedule, weight_decay),
                  loss="sparse_categorical_crossentropy", metrics=list(metrics))
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                            restore_best_weights=True, mode=mode)
    history = model.fit(
        train, validation_data=validation, epochs=epochs, verbose=verbose,
        callbacks=[kcallbacks.LearningRateLogger(), stopper, *extra_callbacks],
    ).history
    if monitor not in history:
        raise ArgumentError(
            f"Argument `monitor` must name a quantity that `fit` logs: {sorted(history)}. "
            f"Received: monitor={monitor!r}")
    best_value = None if stopper.best is None else float(stopper.best)
    return FinalResult(model=model, history={k: [float(v) for v in vs] for k, vs in history.items()},
                       best_epoch=int(stopper.best_epoch) + 1, epochs=len(history[monitor]),
                       monitor=monitor, best_value=best_value)
