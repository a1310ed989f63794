"""The lecture's tuning procedure, one function per step.

The steps of "Choosing hyperparameters" (lecture section 1), each usable on
its own with any model-building function and any batched `tf.data` pipeline
of `(image, integer label)`:

1. `check_initial_loss`: the loss of the untrained model against `ln(C)`.
2. `overfit_small_sample`: a few minibatches learned to ~100% accuracy.
3. `find_learning_rate`: the LR range test (`kerasrec.callbacks.LRFinder`).
4. `coarse_search`: a grid of learning rate x weight decay, a few epochs each
   (`kerasrec.tuning.GridSearch`).
5. `refine_search`: random search in the narrowed ranges, longer, no decay
   (`kerasrec.tuning.RandomSearch`).
6. `kerasrec.diagnose`: reads the learning curves.
7. `train_final`: the chosen configuration with a cosine schedule and early
   stopping.

`recipes/tuning_playbook.py` (`make recipe-playbook`) runs them in order,
writes every step's numbers to one run folder and resumes after a crash.
"""

import dataclasses
import math

import keras
import numpy as np

from kerasrec import callbacks as kcallbacks
from kerasrec import schedules
from kerasrec._checks import check_number, check_positive_int

__all__ = [
    "InitialLoss",
    "OverfitResult",
    "FinalResult",
    "make_optimizer",
    "check_initial_loss",
    "overfit_small_sample",
    "train_final",
]

OPTIMIZERS = ("sgd", "adam", "adamw")


def make_optimizer(name, learning_rate, weight_decay=None, momentum=0.9):
    """An optimizer by name, with decoupled weight decay where given.

    Args:
        name: `"sgd"` (with Nesterov-free momentum), `"adam"` or `"adamw"`.
        learning_rate: a float or a `LearningRateSchedule`.
        weight_decay: decoupled weight decay (Keras's `weight_decay`
            argument), or `None` for none. Defaults to `None`.
        momentum: SGD's momentum. Defaults to `0.9`.

    Returns:
        A `keras.optimizers.Optimizer`.

    Raises:
        ValueError: an unknown `name` or a negative `weight_decay`.
    """
    if name not in OPTIMIZERS:
        raise ValueError(
            f"Argument `name` must be one of {', '.join(OPTIMIZERS)}. Received: name={name!r}"
        )
    if weight_decay is not None:
        check_number("weight_decay", weight_decay, 0)
        weight_decay = float(weight_decay) or None
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 0.0)
    return keras.optimizers.Adam(learning_rate, weight_decay=weight_decay)


# ---------------------------------------------------------------------------
# Step 1: the initial loss.


@dataclasses.dataclass(frozen=True)
class InitialLoss:
    """What `check_initial_loss` measured.

    Attributes:
        loss: mean cross-entropy of the untrained model (no regularization
            terms).
        expected: `ln(num_classes)`, the loss of uniform predictions.
        ok: whether `loss` is within the tolerance of `expected`.
        message: the verdict, with the likely cause when it is off.
    """

    loss: float
    expected: float
    ok: bool
    message: str

    def to_dict(self):
        return dataclasses.asdict(self)


def check_initial_loss(model, dataset, *, num_classes=None, num_batches=10, tolerance=0.25,
                       from_logits=False):
    """Step 1: the loss of the untrained model should be about `ln(C)`.

    With C classes and small random weights a softmax classifier predicts
    roughly uniform probabilities, so its cross-entropy is
    `-log(1 / C) = ln(C)` (2.30 for 10 classes). Only the data loss is
    measured: regularization terms (`model.losses`, the lecture's "weight
    decay off") are left out, and BatchNorm runs in inference mode.

    Args:
        model: an untrained Keras classifier (compiled or not).
        dataset: batches of `(inputs, integer labels)`.
        num_classes: C. Defaults to `None`: the model's output width.
        num_batches: batches to average over. Defaults to `10`.
        tolerance: allowed relative deviation, `|loss - ln C| <= tolerance *
            ln C`. Defaults to `0.25`.
        from_logits: whether the model outputs logits. Defaults to `False`.

    Returns:
        An `InitialLoss`; its `message` names the likely cause when the loss
        is off (see `ok`).

    Raises:
        ValueError: a bad argument, or an empty dataset.

    Example:

    >>> result = kerasrec.playbook.check_initial_loss(model, train)
    >>> result.loss, result.expected
    (2.31, 2.30)
    """
    num_classes = num_classes if num_classes is not None else int(model.output_shape[-1])
    check_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"Argument `num_classes` must be >= 2. Received: num_classes={num_classes}")
    check_positive_int("num_batches", num_batches)
    check_number("tolerance", tolerance, 0)
    total, count = 0.0, 0
    for x, y in dataset.take(num_batches):
        outputs = model(x, training=False)
        losses = keras.losses.sparse_categorical_crossentropy(y, outputs, from_logits=from_logits)
        total += float(keras.ops.sum(losses))
        count += int(losses.shape[0])
    if count == 0:
        raise ValueError("Argument `dataset` must yield at least one batch. Received: an empty dataset")
    loss = total / count
    expected = math.log(num_classes)
    ok = math.isfinite(loss) and abs(loss - expected) <= tolerance * expected
    if ok:
        message = f"initial loss {loss:.3f} is close to ln({num_classes}) = {expected:.3f}"
    elif not math.isfinite(loss):
        message = (f"initial loss is {loss}: the model outputs non-finite values before any "
                   "training; check the input scaling and the initialization")
    elif loss > expected:
        message = (
            f"initial loss {loss:.3f} is well above ln({num_classes}) = {expected:.3f}: the "
            "untrained model is confidently wrong. Likely causes: initial weights too large "
            "(especially the last layer), inputs not scaled (e.g. pixels in [0, 255] without "
            "rescaling), logits treated as probabilities (pass from_logits=True), or labels "
            "that do not match the outputs"
        )
    else:
        message = (
            f"initial loss {loss:.3f} is well below ln({num_classes}) = {expected:.3f}: the "
            "untrained model already predicts the labels. Likely causes: the labels leak into "
            "the inputs, the classes are very imbalanced, or num_classes is wrong"
        )
    return InitialLoss(loss=loss, expected=expected, ok=bool(ok), message=message)


# ---------------------------------------------------------------------------
# Step 2: overfit a small sample.


@dataclasses.dataclass(frozen=True)
class OverfitResult:
    """What `overfit_small_sample` measured.

    Attributes:
        reached: whether training accuracy reached the target.
        epochs: epochs run (the epoch that reached the target, if reached).
        accuracy: the last training accuracy.
        loss: the last training loss.
        examples: examples in the sample.
        history: the per-epoch `loss` and `accuracy`.
        message: the verdict, with suggestions when the target was missed.
    """

    reached: bool
    epochs: int
    accuracy: float
    loss: float
    examples: int
    history: dict
    message: str

    def to_dict(self):
        return dataclasses.asdict(self)


class _StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= self.target:
            self.model.stop_training = True


def overfit_small_sample(build_model, dataset, *, num_batches=5, max_epochs=200,
                         target_accuracy=0.99, optimizer="adam", learning_rate=1e-3,
                         loss="sparse_categorical_crossentropy", verbose=0):
    """Step 2: a model that can learn should memorize a few minibatches.

    Takes the first `num_batches` batches of `dataset`, builds a fresh model
    with `build_model()` (leave regularization out: no weight decay, no
    dropout) and trains on those batches alone until the training accuracy
    reaches `target_accuracy` or `max_epochs` pass. If it cannot, the
    problem is in the model, the loss, the data or the learning rate, not in
    the amount of data, and no tuning will help.

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        dataset: batches of `(inputs, integer labels)`.
        num_batches: minibatches in the sample (the lecture: 5-10).
            Defaults to `5`.
        max_epochs: the training budget. Defaults to `200`.
        target_accuracy: the training accuracy to reach. Defaults to `0.99`.
        optimizer: a name for `make_optimizer`. Defaults to `"adam"`.
        learning_rate: the optimizer's learning rate. Defaults to `1e-3`.
        loss: the Keras loss. Defaults to `"sparse_categorical_crossentropy"`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        An `OverfitResult`.

    Raises:
        ValueError: a bad argument, or an empty dataset.
    """
    if not callable(build_model):
        raise ValueError(f"Argument `build_model` must be a function returning a model. "
                         f"Received: build_model={build_model!r}")
    check_positive_int("num_batches", num_batches)
    check_positive_int("max_epochs", max_epochs)
    check_number("target_accuracy", target_accuracy, 0, 1.000001)
    check_number("learning_rate", learning_rate, 1e-12)
    sample = dataset.take(num_batches).cache()
    examples = sum(int(x.shape[0]) for x, _ in sample)
    if examples == 0:
        raise ValueError("Argument `dataset` must yield at least one batch. Received: an empty dataset")
    model = build_model()
    model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss=loss,
                  metrics=["accuracy"])
    history = model.fit(sample, epochs=max_epochs, verbose=verbose,
                        callbacks=[_StopAtAccuracy(target_accuracy)]).history
    accuracy, last_loss = float(history["accuracy"][-1]), float(history["loss"][-1])
    epochs = len(history["loss"])
    reached = accuracy >= target_accuracy
    if reached:
        message = (f"memorized {examples} examples ({num_batches} batches) to "
                   f"{accuracy:.1%} training accuracy in {epochs} epochs")
    elif not math.isfinite(last_loss):
        message = (f"the loss became {last_loss} while overfitting {examples} examples: the "
                   f"learning rate {learning_rate:g} is too high, or the data contain "
                   "non-finite values")
    else:
        first = float(history["loss"][0])
        falling = last_loss < 0.5 * first
        message = (
            f"reached only {accuracy:.1%} training accuracy on {examples} examples in "
            f"{epochs} epochs (loss {first:.3f} -> {last_loss:.3f}). "
            + ("The loss falls: train longer or raise the learning rate. "
               if falling else
               "The loss barely moves: raise the learning rate, check the initialization, "
               "the labels and the loss function. ")
            + "Also check that regularization (weight decay, dropout, augmentation) is off "
            "and that the model is large enough."
        )
    return OverfitResult(reached=bool(reached), epochs=epochs, accuracy=accuracy,
                         loss=last_loss, examples=examples,
                         history={k: [float(v) for v in vs] for k, vs in history.items()},
                         message=message)


# ---------------------------------------------------------------------------
# Step 7: the final fit.


@dataclasses.dataclass(frozen=True)
class FinalResult:
    """What `train_final` produced.

    Attributes:
        model: the trained model (best validation weights restored).
        history: per-epoch logs, with `learning_rate`.
        best_epoch: the epoch (1-based) whose weights were kept.
        epochs: epochs run before early stopping (or the budget).
    """

    model: object
    history: dict
    best_epoch: int
    epochs: int


def train_final(build_model, train, validation, *, learning_rate, weight_decay=None,
                optimizer="adamw", epochs=10, warmup_epochs=0.0, patience=3,
                monitor="val_accuracy", steps_per_epoch=None, extra_callbacks=(), verbose=0):
    """Step 7: trains the chosen configuration with cosine decay and early stopping.

    The learning rate follows `kerasrec.schedules.get("cosine", ...)` over
    `epochs` (after an optional linear warmup); Keras's `EarlyStopping`
    with `restore_best_weights=True` stops after `patience` epochs without
    improvement of `monitor` and keeps the best weights.
    `kerasrec.callbacks.LearningRateLogger` records the learning rate.

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        train: the training batches (a finite `tf.data.Dataset`).
        validation: the validation batches.
        learning_rate: the peak learning rate.
        weight_decay: decoupled weight decay, or `None`. Defaults to `None`.
        optimizer: a name for `make_optimizer`. Defaults to `"adamw"`.
        epochs: the budget the cosine spans. Defaults to `10`.
        warmup_epochs: linear warmup length. Defaults to `0.0`.
        patience: `EarlyStopping`'s patience. Defaults to `3`.
        monitor: the metric early stopping watches. Defaults to
            `"val_accuracy"`.
        steps_per_epoch: batches per epoch. Defaults to `None`: counted from
            `train`.
        extra_callbacks: more callbacks for `fit`. Defaults to `()`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        A `FinalResult`.

    Raises:
        ValueError: a bad argument.
    """
    check_number("learning_rate", learning_rate, 1e-12)
    check_positive_int("epochs", epochs)
    check_positive_int("patience", patience)
    check_number("warmup_epochs", warmup_epochs, 0, epochs)
    if steps_per_epoch is None:
        steps_per_epoch = int(train.cardinality())
        if steps_per_epoch <= 0:
            raise ValueError("Argument `steps_per_epoch` is needed when `train` has no known "
                             f"length. Received: steps_per_epoch=None, cardinality={steps_per_epoch}")
    check_positive_int("steps_per_epoch", steps_per_epoch)
    total = schedules.epochs_to_steps(epochs, steps_per_epoch)
    warmup = schedules.epochs_to_steps(warmup_epochs, steps_per_epoch) if warmup_epochs else 0
    schedule = schedules.get("cosine", learning_rate=learning_rate, total_steps=total,
                             warmup_steps=warmup)
    model = build_model()
    model.compile(optimizer=make_optimizer(optimizer, schedule, weight_decay),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                            restore_best_weights=True, mode="auto")
    history = model.fit(
        train, validation_data=validation, epochs=epochs, verbose=verbose,
        callbacks=[kcallbacks.LearningRateLogger(), stopper, *extra_callbacks],
    ).history
    values = np.asarray(history[monitor], dtype=float)
    best = int(np.nanargmin(values) if "loss" in monitor else np.nanargmax(values))
    return FinalResult(model=model, history={k: [float(v) for v in vs] for k, vs in history.items()},
                       best_epoch=best + 1, epochs=len(values))
