"""
Title: Early stopping: keep the best epoch, stop when validation stops improving
Description: One overfitting run; where EarlyStopping and Prechelt's GL, PQ, UP stop, at what cost.
Lecture section: 1. Training dynamics (early stopping)
Run: make recipe-early-stopping   (make recipe-early-stopping ARGS="--patience 10")
"""

"""
## Introduction

The lecture's advice: check validation accuracy periodically, keep the
weights of the best point, and stop when it no longer improves; Prechelt
(1998, "Early stopping - but when?") gives criteria with numbers. This recipe
measures, on one run that overfits:

1. **Keeping the best point pays**: the test accuracy of the weights of the
   epoch with the best validation accuracy, against the weights of the last
   epoch of the budget.
2. **Stopping saves epochs and costs little accuracy**: where Keras's
   `EarlyStopping(patience=...)` stops, how much of the budget that saves,
   and how much test accuracy its restored weights give up against the best
   point of the whole run.
3. **Where Prechelt's criteria stop**, with strips of `k = 5` epochs, on a
   validation error `E_va` (by default the classification error
   `1 - val_accuracy`, Prechelt's own choice of error aside; or the
   validation loss): `GL_alpha` (stop when `E_va` is more than `alpha`
   percent above its minimum so far), `PQ_alpha` (that generalization loss
   divided by the training progress of the last strip, at strip ends) and
   `UP_s` (`E_va` went up at `s` strip ends in a row), and the test accuracy
   of the weights each keeps.

All the rules are compared on **one** training run. The run goes the whole
budget and keeps a copy of every epoch's weights in memory (the reference
CNN has about 80k parameters: 100 epochs take about 30 MB). Then each
stopping rule, the real callback (`keras.callbacks.EarlyStopping`,
`kerasrec.callbacks.PrecheltStopping`), is *replayed* on the recorded run:
its hooks are called epoch by epoch with that epoch's logs while the model
holds that epoch's weights, as `fit()` calls them, until it sets
`model.stop_training`. A callback decides only from what it is shown and
training does not depend on it until it stops, so the replay stops where a
live run with that callback would have, and leaves in the model the weights
it would have restored (`tests/test_recipe_early_stopping.py` checks this
against live `fit()` runs). Test accuracy is computed only for the few
epochs that some rule keeps.

### The set-up: a run that overfits

A stopping rule can only pay off where validation accuracy peaks and then
falls (or stalls) while training accuracy goes on rising. With the reference
CNN (BatchNorm, Adam at 1e-3, batch 128, seed 0) a small training subset is
not enough for that. Measured on two CPU cores before choosing (test
accuracy of the weights of the best validation epoch, and of the last):

| data | epochs | best val acc (epoch) | val acc, last | train acc, last | test acc best / last | what the curves do |
|---|---|---|---|---|---|---|
| `shapes`, first 5,000 | 40 | 0.649 (40) | 0.649 | 0.994 | 0.635 / 0.635 | val accuracy still creeping up at 40: no best point |
| `shapes`, first 8,000 | 40 | 0.747 (33) | 0.740 | 1.000 | 0.738 / 0.732 | plateau from epoch ~22; val loss lowest at 17, then +20% |
| `shapes`, 8,000, 30% wrong labels | 40 | 0.307 (13) | 0.236 | 0.991 | 0.300 / 0.225 | peaks and falls, but barely learns |
| `shapes`, 20,000, reference MLP | 40 | 0.150 (31) | 0.146 | 0.159 | 0.144 / 0.147 | the MLP does not learn `shapes` |
| `digits`, first 300 | 100 | 0.942 (65) | 0.939 | 1.000 | 0.942 / 0.942 | no overfitting: val loss falls to the end |
| `digits`, all 1,078, 20% wrong labels | 100 | 0.942 (7) | 0.875 | 1.000 | 0.969 / 0.906 | peaks, then falls as the noise is memorized |
| `digits`, all 1,078, 30% wrong labels | 100 | 0.936 (5) | 0.816 | 1.000 | 0.953 / 0.828 | the same, larger: **chosen** |
| `digits`, all 1,078, 40% wrong labels | 100 | 0.911 (5) | 0.710 | 1.000 | 0.917 / 0.744 | the same, larger still |

(The wrong-label rows used an earlier version of `label_noise` below: same
fractions, other examples. `shapes` with 1-2k examples stays near chance on
validation; with all 20k it generalizes, 85-91% test accuracy after 10
epochs, see the baseline.) In the clean runs validation accuracy stalls
rather than falls, so there is little for a stopping rule to win. The textbook
curve appears when part of the training labels are wrong: the network fits
the clean patterns first, then memorizes the wrong labels (Zhang et al.
2017, "Understanding deep learning requires rethinking generalization";
Arpit et al. 2017, "A closer look at memorization in deep networks"), and
that second phase costs validation accuracy. That is where early stopping
matters most, so the default is `digits` (all 1,078 training examples,
validation and test untouched) with `--label-noise 0.3` (30% of the training
labels replaced by a wrong class, the same ones every epoch) and a long
budget, `--epochs 100`: about a minute on two CPU cores. Validation and
test hold 359 and 360 examples: differences under ~2 points are noise.

For the plateau case, run
`--dataset shapes --train-size 8000 --label-noise 0 --epochs 40` (about 10
to 15 minutes here).
"""

"""
## Setup
"""

import io
import time

import keras
import matplotlib
import numpy as np
import tensorflow as tf

from kerasrec import callbacks, data, models, runs

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RULES = ("early_stopping", "GL", "PQ", "UP")
SAVED_FRACTION_CLAIM = 0.25  # "early stopping saves >= 25% of the epochs ..."
LOSS_CLAIM_POINTS = 0.01  # "... losing <= 1 point of test accuracy"


"""
## Helpers

`label_noise` gives a fixed fraction of the training examples a wrong
label. `KeepWeights` copies the weights (trainable and not: the BatchNorm
moving statistics too) at every epoch end. `replay` calls a stopping
callback's hooks on a recorded run, as `fit()` would have. `plot_stops`
draws where each rule stops.
"""


def label_noise(input_shape, fraction, num_classes, seed=0):
    """A `map` function that gives about `fraction` of the examples a wrong label.

    Which examples get a wrong label, and which wrong class, is a function of
    the image alone (a fixed random integer weighting of its pixels, seeded by
    `seed`: its last three decimal digits decide the flip, the others the
    wrong class), so an example keeps the same label in every epoch,
    however the pipeline shuffles: the network can memorize the wrong labels,
    as it would memorize mislabelled data. The wrong class is spread
    uniformly over the other `num_classes - 1` classes.

    Args:
        input_shape: the shape of one image, `(height, width, channels)`.
        fraction: float in [0, 1), the share of examples to mislabel.
        num_classes: the number of classes.
        seed: seed of the pixel weighting. Defaults to `0`.

    Returns:
        A function `(images, labels) -> (images, noisy labels)` for batches,
        to pass to `tf.data.Dataset.map`.
    """
    weights = tf.constant(np.random.default_rng(seed).integers(1, 1000, size=input_shape), tf.int64)
    threshold = round(fraction * 1000)
    axes = list(range(1, len(input_shape) + 1))

    def noisy(images, labels):
        h = tf.reduce_sum(tf.cast(images, tf.int64) * weights, axis=axes)
        flip = tf.math.floormod(h, 1000) < threshold
        shift = 1 + tf.math.floormod(tf.math.floordiv(h, 1000), num_classes - 1)
        clean = tf.cast(labels, tf.int64)
        wrong = tf.math.floormod(clean + shift, num_classes)
        return images, tf.cast(tf.where(flip, wrong, clean), labels.dtype)

    return noisy


class KeepWeights(keras.callbacks.Callback):
    """Keeps a copy of the model's weights at every epoch end, in memory."""

    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def replay(stopper, model, history, weights):
    """Runs a stopping callback on a recorded run, as `fit()` would have.

    Calls `stopper.on_train_begin()`, then `stopper.on_epoch_end(epoch,
    logs)` for each epoch with the model holding that epoch's weights,
    until the callback sets `model.stop_training`, then
    `stopper.on_train_end()`. The model is left with the weights the callback
    ends with (the restored best ones, with `restore_best_weights=True`).

    Args:
        stopper: a `keras.callbacks.Callback` that stops training.
        model: the trained model.
        history: dict `{key: list of floats}`, one value per epoch (`History.history`).
        weights: list of `model.get_weights()`, one per epoch.

    Returns:
        The 0-based epoch at which the callback stopped training, or `None`
        if it never did.
    """
    stopper.set_model(model)
    model.stop_training = False
    stopper.on_train_begin()
    stopped = None
    for epoch, epoch_weights in enumerate(weights):
        model.set_weights(epoch_weights)
        stopper.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
        if model.stop_training:
            stopped = epoch
            break
    stopper.on_train_end()
    model.stop_training = False
    return stopped


def holds_weights(model, epoch_weights):
    """Whether `model` holds exactly `epoch_weights`."""
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), epoch_weights))


def plot_stops(history, stops, best_epoch, path, title):
    """Learning curves with a line where each rule stops and a dot on the epoch it keeps."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    epochs = np.arange(1, len(history["loss"]) + 1)
    styles = dict(zip(RULES, (("tab:red", "o", 11), ("tab:green", "s", 9),
                              ("tab:purple", "D", 7), ("tab:orange", "^", 5))))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, history[key], "-", color="tab:blue", label="train")
        ax.plot(epochs, history[f"val_{key}"], "--", color="tab:blue", label="validation")
        ax.axvline(best_epoch, color="grey", lw=1, ls=":",
                   label=f"best validation accuracy (epoch {best_epoch})")
        for rule, stop in stops.items():
            color, marker, size = styles[rule]
            restored = stop["restored_epoch"]
            where = ("never stops" if stop["stop_epoch"] is None
                     else f"stops at {stop['stop_epoch']}")
            ax.plot(restored, history[f"val_{key}"][restored - 1], marker, color=color, ms=size,
                    label=f"{stop['label']}: {where}, keeps {restored}")
            if stop["stop_epoch"] is not None:
                ax.axvline(stop["stop_epoch"], color=color, lw=1.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7.5)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    runs.write_atomic(path, buffer.getvalue())
    return path


def main():
    parser = runs.make_parser(__doc__, dataset="digits", epochs=100, batch_size=128,
                              learning_rate=1e-3)
    add = parser.add_argument
    add("--label-noise", type=float, default=0.3,
        help="share of training labels replaced by a wrong class, fixed per example "
        "(default: %(default)s)")
    add("--monitor", choices=["val_accuracy", "val_loss"], default="val_accuracy",
        help="what EarlyStopping watches (default: %(default)s)")
    add("--patience", type=int, default=5,
        help="EarlyStopping's patience in epochs (default: %(default)s)")
    add("--prechelt-monitor", choices=["val_error", "val_loss"], default="val_error",
        help="the validation error of Prechelt's criteria: the classification error "
        "1 - val_accuracy, or the loss (default: %(default)s)")
    add("--alpha-gl", type=float, default=5.0,
        help="GL threshold, percent above the best validation error (default: %(default)s)")
    add("--alpha-pq", type=float, default=3.0, help="PQ threshold (default: %(default)s)")
    add("--strips-up", type=int, default=3,
        help="UP: strips in a row with a rising validation error (default: %(default)s)")
    add("--strip-length", type=int, default=5,
        help="Prechelt's strip length k, in epochs (default: %(default)s)")
    args = parser.parse_args()
    for name in ("patience", "strips_up", "strip_length"):
        if getattr(args, name) <= 0:
            raise ValueError(
                f"Argument `--{name.replace('_', '-')}` must be a positive integer. "
                f"Received: {name}={getattr(args, name)}"
            )
    if not 0 <= args.label_noise < 1:
        raise ValueError(
            "Argument `--label-noise` must be in [0, 1). "
            f"Received: label_noise={args.label_noise}"
        )
    for name in ("alpha_gl", "alpha_pq"):
        if not getattr(args, name) > 0:
            raise ValueError(
                f"Argument `--{name.replace('_', '-')}` must be a number > 0. "
                f"Received: {name}={getattr(args, name)}"
            )
    run = runs.start("early-stopping", args)

    """
    ## Data

    The training examples (the first `--train-size` of them, if given), with
    `--label-noise` of their labels made wrong; the validation and test
    splits are whole and clean. One pass over the training batches counts
    the labels that changed.
    """
    train, val, test, info = data.load(
        args.dataset, batch_size=args.batch_size, quick=args.quick,
        train_size=args.train_size, seed=args.seed,
    )
    noise = label_noise(info.input_shape, args.label_noise, info.num_classes, seed=args.seed)
    wrong_labels = sum(int(np.sum(noise(x, y)[1].numpy() != y.numpy())) for x, y in train)
    noisy_train = train.map(noise, num_parallel_calls=tf.data.AUTOTUNE)
    run.record(dataset_info=info.to_dict(), wrong_labels=wrong_labels)
    run.log(f"{info.name}: {info.split_sizes}, {info.num_classes} classes, "
            f"input {info.input_shape}; {wrong_labels} of {info.split_sizes['train']} "
            "training labels made wrong")

    """
    ## Training the whole budget

    The reference CNN with Adam at a constant learning rate, as in the
    baseline, for the whole `--epochs` budget. `KeepWeights` records every
    epoch's weights; nothing stops the run. The training accuracy is measured
    against the noisy labels: 100% means the wrong labels are memorized.
    """
    model = models.build_cnn(info.input_shape, info.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    keep = KeepWeights()
    start = time.time()
    fit = model.fit(noisy_train, validation_data=val, epochs=args.epochs, callbacks=[keep],
                    verbose=2)
    train_seconds = time.time() - start
    setup = (f"{info.name}, {info.split_sizes['train']} training examples, "
             f"{args.label_noise:.0%} wrong labels")
    history = run.save_history(fit, title=f"early-stopping: {setup}")
    budget = len(keep.weights)

    test_accuracies = {}  # 1-based epoch -> test accuracy of that epoch's weights

    def test_accuracy(epoch):
        if epoch not in test_accuracies:
            model.set_weights(keep.weights[epoch - 1])
            test_accuracies[epoch] = float(model.evaluate(test, verbose=0)[1])
        return test_accuracies[epoch]

    """
    ## Keeping the best point

    The epoch with the best validation accuracy over the whole budget, and
    the test accuracy of its weights against that of the last epoch's: what
    `restore_best_weights=True` gives over a plain `fit`.
    """
    val_accuracy = history["val_accuracy"]
    best_epoch = int(np.argmax(val_accuracy)) + 1
    test_best, test_last = test_accuracy(best_epoch), test_accuracy(budget)
    run.log(f"best validation accuracy {val_accuracy[best_epoch - 1]:.4f} at epoch {best_epoch}; "
            f"test accuracy there {test_best:.4f}, at the last epoch {test_last:.4f}")

    """
    ## Replaying the stopping rules

    Keras's `EarlyStopping` watches `--monitor` with `--patience`; the three
    `PrecheltStopping` criteria watch `--prechelt-monitor` (Prechelt's
    "validation error": by default `val_error`, the classification error
    `1 - val_accuracy`, added to the logs here; or the validation loss), PQ
    also the training loss. All
    restore the best weights they saw. The GL one also saves the best model to
    disk (`filepath=`) every time its validation error improves, atomically
    (a temporary file, then `os.replace`): in a live run a crash leaves either
    the previous best model or the new one, never half a file.
    """
    k = args.strip_length
    mode = "max" if args.monitor == "val_accuracy" else "min"
    logs = dict(history, val_error=[1.0 - a for a in history["val_accuracy"]])
    on = args.prechelt_monitor
    best_path = run.file("best_model.keras")
    stoppers = {
        "early_stopping": (
            f"EarlyStopping({args.monitor}, patience={args.patience})",
            keras.callbacks.EarlyStopping(monitor=args.monitor, mode=mode,
                                          patience=args.patience, restore_best_weights=True),
        ),
        "GL": (
            f"GL{args.alpha_gl:g} ({on})",
            callbacks.PrecheltStopping("GL", alpha=args.alpha_gl, strip_length=k, monitor=on,
                                       filepath=best_path),
        ),
        "PQ": (
            f"PQ{args.alpha_pq:g} ({on}, k={k})",
            callbacks.PrecheltStopping("PQ", alpha=args.alpha_pq, strip_length=k, monitor=on),
        ),
        "UP": (
            f"UP{args.strips_up} ({on}, k={k})",
            callbacks.PrecheltStopping("UP", strips=args.strips_up, strip_length=k, monitor=on),
        ),
    }
    stops = {}
    for rule, (label, stopper) in stoppers.items():
        stopped = replay(stopper, model, logs, keep.weights)
        restored = stopper.best_epoch + 1
        if not holds_weights(model, keep.weights[restored - 1]):
            raise RuntimeError(f"{label} did not restore the weights of epoch {restored}")
        epochs_run = budget if stopped is None else stopped + 1
        stops[rule] = {
            "label": label,
            "stop_epoch": None if stopped is None else stopped + 1,
            "epochs_run": epochs_run,
            "epochs_saved": budget - epochs_run,
            "saved_fraction": (budget - epochs_run) / budget,
            "restored_epoch": restored,
            "test_accuracy": test_accuracy(restored),
            "test_accuracy_without_restore": test_accuracy(epochs_run),
        }
        where = "never stops" if stopped is None else f"stops after epoch {stopped + 1}"
        run.log(f"{label}: {where}, keeps epoch {restored}, test accuracy "
                f"{stops[rule]['test_accuracy']:.4f}")

    # The same criteria, from the recorded curves alone (0-based epochs).
    offline = callbacks.prechelt_stop_epochs(
        logs[on], history["loss"], alpha_gl=args.alpha_gl, alpha_pq=args.alpha_pq,
        strips_up=args.strips_up, strip_length=k,
    )

    """
    ## The best model on disk

    `best_model.keras` is what `PrecheltStopping(filepath=...)` wrote; it
    loads in a fresh model (no `custom_objects`) and must score what the
    restored weights scored. `model.keras` is the run's answer: the weights
    `EarlyStopping` restored.
    """
    reloaded = keras.saving.load_model(best_path)
    reloaded_accuracy = float(reloaded.evaluate(test, verbose=0)[1])
    model.set_weights(keep.weights[stops["early_stopping"]["restored_epoch"] - 1])
    run.save_model(model)
    run.save_json("stopping.json", {
        "budget": budget,
        "best_val_epoch": best_epoch,
        "rules": stops,
        "prechelt_stop_epochs": offline,  # 0-based, from the curves
        "test_accuracy_by_epoch": {str(e): a for e, a in sorted(test_accuracies.items())},
    })
    plot_stops(history, stops, best_epoch, run.file("stopping.png"),
               title=f"early stopping: {setup}")

    """
    ## Results

    The claims, each checked on this run. With `--quick` (2 epochs) no rule
    has room to stop, so the stopping claims do not hold there.

    What the full runs gave when this recipe was written (two CPU cores,
    seed 0; `results.json` and `stopping.png` hold the numbers of yours):

    - **Default (`digits`, 30% wrong labels, 100 epochs, ~40 s).** 315 of the
      1,078 training labels are wrong. Validation accuracy peaks at epoch 7
      (93.9%), then falls to 82-86% as the network memorizes the wrong labels
      (training accuracy reaches 100% at epoch 22). The weights of epoch 7 score
      93.6% on test, those of epoch 100 83.1%: keeping the best point is worth
      10 points. `EarlyStopping(val_accuracy, patience=5)` stops after epoch
      12 of 100 (88% of the budget saved) and keeps epoch 7: nothing lost.
      On the classification error, GL5 stops at epoch 8, UP3 at 20 and PQ3
      at 75, and all keep epoch 7. PQ is slow because the training loss keeps
      falling fast under Adam, so the training progress `P` stays in the
      hundreds and `GL / P` small. GL5 on the error is touchy: 5% above a
      6% error is one more mistake on 359 examples, and here it happens to
      fire at the right place.
    - **The same run, `--prechelt-monitor val_loss`.** The validation loss
      is lowest at epoch 29, long after the accuracy peak: all three criteria
      keep epoch 29 (86.4% test, 7 points below the peak), GL5 stopping at
      31, UP3 at 75, PQ3 never. Cross-entropy and accuracy disagree on where
      the best point is; watch the quantity you will report.
    - **The plateau, `--dataset shapes --train-size 8000 --label-noise 0
      --epochs 40` (~10 min).** Validation accuracy climbs to ~74% by epoch
      18, then creeps up to 77.8% at epoch 37 while training accuracy reaches
      100% at epoch 30 and the validation loss, lowest at epoch 18, drifts
      up. Keeping the best point gains 0.4 points (76.5% vs 76.2% test),
      `EarlyStopping(patience=5)` never stops (new, slightly higher maxima
      keep coming), PQ3 and UP3 never stop, and GL5 stops at epoch 8 on an
      early wobble, keeping a model 26 points worse. On a plateau the rules
      save little and a touchy one can cost much: patience and thresholds
      must exceed the epoch-to-epoch noise of the validation curve.
    """
    es = stops["early_stopping"]
    run.check(
        "keeping the best point pays: the weights of the best validation accuracy beat "
        "the last epoch's on the test set",
        test_best > test_last,
        f"test accuracy {test_best:.4f} (epoch {best_epoch}) vs {test_last:.4f} (epoch {budget})",
    )
    loss = test_best - es["test_accuracy"]
    run.check(
        f"early stopping saves >= {SAVED_FRACTION_CLAIM:.0%} of the epochs and loses <= "
        f"{LOSS_CLAIM_POINTS * 100:g} point of test accuracy against the best point of the budget",
        es["saved_fraction"] >= SAVED_FRACTION_CLAIM and loss <= LOSS_CLAIM_POINTS,
        f"{es['label']} ran {es['epochs_run']} of {budget} epochs "
        f"(saved {es['saved_fraction']:.0%}); test accuracy {es['test_accuracy']:.4f} vs "
        f"{test_best:.4f} (loss {loss * 100:+.1f} points)",
    )
    for rule in ("GL", "PQ", "UP"):
        stop = stops[rule]
        loss = test_best - stop["test_accuracy"]
        where = ("never stops" if stop["stop_epoch"] is None
                 else f"stops at epoch {stop['stop_epoch']}")
        run.check(
            f"Prechelt's {stop['label']} stops within the budget and loses <= "
            f"{LOSS_CLAIM_POINTS * 100:g} point of test accuracy",
            stop["stop_epoch"] is not None and loss <= LOSS_CLAIM_POINTS,
            f"{where}, keeps epoch {stop['restored_epoch']}: test accuracy "
            f"{stop['test_accuracy']:.4f} vs {test_best:.4f} (loss {loss * 100:+.1f} points)",
        )
    agree = all(
        offline[rule] == (None if stop["stop_epoch"] is None else stop["stop_epoch"] - 1)
        for rule, stop in stops.items() if rule != "early_stopping"
    )
    run.check(
        "the callbacks stop where prechelt_stop_epochs() says, from the curves alone",
        agree,
        f"callbacks (1-based) { {r: stops[r]['stop_epoch'] for r in ('GL', 'PQ', 'UP')} }, "
        f"prechelt_stop_epochs (0-based) {offline}",
    )
    run.check(
        "the best model saved on disk reloads with the test accuracy of the restored weights",
        abs(reloaded_accuracy - stops["GL"]["test_accuracy"]) < 1e-6,
        f"reloaded {reloaded_accuracy:.4f}, restored {stops['GL']['test_accuracy']:.4f}",
    )

    metrics = {
        "epochs": budget,
        "train_examples": info.split_sizes["train"],
        "wrong_labels": wrong_labels,
        "final_train_accuracy": float(history["accuracy"][-1]),
        "best_val_epoch": best_epoch,
        "best_val_accuracy": float(val_accuracy[best_epoch - 1]),
        "test_accuracy_best": test_best,
        "test_accuracy_last": test_last,
    }
    for rule in RULES:
        prefix = "es" if rule == "early_stopping" else rule.lower()
        stop = stops[rule]
        metrics[f"{prefix}_stop_epoch"] = stop["stop_epoch"]
        metrics[f"{prefix}_epochs_saved"] = stop["epochs_saved"]
        metrics[f"{prefix}_restored_epoch"] = stop["restored_epoch"]
        metrics[f"{prefix}_test_accuracy"] = stop["test_accuracy"]
    metrics["best_model_reloaded_test_accuracy"] = reloaded_accuracy
    metrics["seconds_per_epoch"] = train_seconds / budget

    es_where = "never stops" if es["stop_epoch"] is None else f"stops at epoch {es['stop_epoch']}"
    run.finish(
        metrics,
        headline=f"{setup}: best epoch {best_epoch} "
        f"of {budget} (test {test_best:.1%} vs {test_last:.1%} at the last); "
        f"{es['label']} {es_where} (test {es['test_accuracy']:.1%})",
    )


if __name__ == "__main__":
    runs.main(main)
