"""Steps 1-3 of the tuning procedure: initial loss, overfitting a sample, LR range test."""

import dataclasses
import math

import keras

from kerasrec._checks import ArgumentError, check_number, check_positive_int
from kerasrec.tuning import make_optimizer

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
    decay off") are left out. The model runs in training mode, as in the
    first step of `fit` (BatchNorm uses the batch's statistics, dropout is
    on), and its weights, BatchNorm's moving statistics included, are
    restored afterwards.

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
        raise ArgumentError(f"Argument `num_classes` must be >= 2. Received: num_classes={num_classes}")
    check_positive_int("num_batches", num_batches)
    check_number("tolerance", tolerance, 0)
    total, count = 0.0, 0
    # Training mode, as in the first step of `fit` (BatchNorm normalizes with
    # the batch's statistics; in inference mode its untrained moving
    # statistics would inflate the loss). That updates the moving
    # statistics, so every weight is put back afterwards.
    weights = model.get_weights()
    try:
        for x, y in dataset.take(num_batches):
            outputs = model(x, training=True)
            losses = keras.losses.sparse_categorical_crossentropy(
                y, outputs, from_logits=from_logits)
            total += float(keras.ops.sum(losses))
            count += int(losses.shape[0])
    finally:
        model.set_weights(weights)
    if count == 0:
        raise ArgumentError("Argument `dataset` must yield at least one batch. Received: an empty dataset")
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
        optimizer: a name for `kerasrec.tuning.make_optimizer`. Defaults to `"adam"`.
        learning_rate: the optimizer's learning rate. Defaults to `1e-3`.
        loss: the Keras loss. Defaults to `"sparse_categorical_crossentropy"`.
        verbose: Keras `fit` verbosity. Defaults to `0`.

    Returns:
        An `OverfitResult`.

    Raises:
        ValueError: a bad argument, or an empty dataset.
    """
    if not callable(build_model):
        raise ArgumentError(f"Argument `build_model` must be a function returning a model. "
                         f"Received: build_model={build_model!r}")
    check_positive_int("num_batches", num_batches)
    check_positive_int("max_epochs", max_epochs)
    check_number("target_accuracy", target_accuracy, 0, 1.000001)
    check_number("learning_rate", learning_rate, 1e-12)
    sample = dataset.take(num_batches).cache()
    examples = sum(int(x.shape[0]) for x, _ in sample)
    if examples == 0:
        raise ArgumentError("Argument `dataset` must yield at least one batch. Received: an empty dataset")
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
# Step 3: the learning-rate range test.


def find_learning_rate(build_model, train, *, optimizer="sgd", weight_decay=1e-4,
                       min_learning_rate=1e-5, max_learning_rate=10.0, num_steps=100,
                       method="valley", plot_path=None):
    """Step 3: a learning rate that makes the loss drop fast, on all the data.

    Builds a fresh model, compiles it with `optimizer` and a little
    decoupled weight decay (the lecture's set-up), and runs
    `kerasrec.lr_range.lr_range_test` over `num_steps` batches of `train`:
    the learning rate grows exponentially from `min_learning_rate` to
    `max_learning_rate` and the test stops once the smoothed loss diverges.

    If the loss sits on a plateau for its first few hundred steps (the
    embedded `shapes` data does, for ~300), 100 steps see nothing but the
    plateau: give the test several epochs (`recipes/tuning_playbook.py`
    runs 600 batches from 1e-3 for SGD). The suggestion holds for training
    that warms up first (see `coarse_search`).

    Args:
        build_model: a function returning a new, uncompiled Keras model.
        train: the training batches (repeated as needed).
        optimizer: `"sgd"` (momentum 0.9), `"adam"` or `"adamw"`. Defaults
            to `"sgd"`.
        weight_decay: the optimizer's decoupled weight decay during the
            test (see the module docstring), or `None`. Defaults to `1e-4`.
        min_learning_rate: the first learning rate. Defaults to `1e-5`.
        max_learning_rate: the last. Defaults to `10.0`.
        num_steps: the most batches. Defaults to `100`.
        method: how to read the suggestion (see `LRFinder.suggestion`).
            Defaults to `"valley"`.
        plot_path: where to draw the curve, or `None`. Defaults to `None`.

    Returns:
        A `kerasrec.lr_range.LRRangeResult`.

    Raises:
        ValueError: a bad argument, or a curve too short to read.
    """
    from kerasrec import lr_range

    if not callable(build_model):
        raise ArgumentError(f"Argument `build_model` must be a function returning a model. "
                         f"Received: build_model={build_model!r}")
    model = build_model()
    model.compile(optimizer=make_optimizer(optimizer, min_learning_rate, weight_decay),
                  loss="sparse_categorical_crossentropy")
    return lr_range.lr_range_test(
        model, train, min_learning_rate=min_learning_rate, max_learning_rate=max_learning_rate,
        num_steps=num_steps, method=method, plot_path=plot_path,
    )
