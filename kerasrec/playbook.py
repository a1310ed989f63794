"""The lecture's tuning procedure, one function per step.

The steps of "Choosing hyperparameters" (lecture section 1), each usable on
its own with any model-building function and any batched `tf.data` pipeline
of `(image, integer label)`:

1. `check_initial_loss`: the loss of the untrained model against `ln(C)`.
2. `overfit_small_sample`: a few minibatches learned to ~100% accuracy.
3. `find_learning_rate`: the LR range test (`kerasrec.callbacks.LRFinder`).
4. `coarse_search`: a grid of learning rate x weight decay, a few epochs each
   (`kerasrec.tuning.GridSearch`).
5. `narrow_ranges`, then `refine_search`: random search in the ranges the
   best coarse trials span, longer, no learning-rate decay
   (`kerasrec.tuning.RandomSearch`).
6. `diagnose_curves`: reads the learning curves (`kerasrec.diagnose`).
7. `train_final`: the chosen configuration with a cosine schedule and early
   stopping.

The weight decay of steps 3-5 is the optimizer's *decoupled* weight decay
(Keras's optimizer argument `weight_decay=`, through
`kerasrec.tuning.make_optimizer`: `w -= learning_rate * weight_decay * w`
at every step), not an L2 penalty added to the loss (the model builders'
`l2=`, `keras.regularizers.L2`). Build the models of the procedure without
an L2 penalty, so that the decay the searches tune is the only one.

Which trial is best depends on the objective's direction (`"max"` for
`val_accuracy`, `"min"` for `val_loss`): the searches record it in
`SearchResult.direction`, and `best_trial` and `narrow_ranges` take it.

`recipes/tuning_playbook.py` (`make recipe-playbook`) runs them in order,
writes every step's numbers to one run folder and resumes after a crash.
"""

import dataclasses
import math

import keras

from kerasrec import callbacks as kcallbacks
from kerasrec import diagnosis, schedules, tuning
from kerasrec._checks import ArgumentError, check_number, check_positive_int
from kerasrec.tuning import make_optimizer

__all__ = [
    "InitialLoss",
    "OverfitResult",
    "SearchResult",
    "FinalResult",
    "check_initial_loss",
    "overfit_small_sample",
    "find_learning_rate",
    "coarse_search",
    "best_trial",
    "narrow_ranges",
    "refine_search",
    "diagnose_curves",
    "train_final",
]

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
