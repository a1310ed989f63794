"""
Title: Early stopping: keep the best epoch, stop when validation stops improving
Author: kerasrec contributors
Date created: 2026/11/25
Last modified: 2026/12/01
Description: One overfitting run; where EarlyStopping and Prechelt's GL, PQ, UP stop, at what cost.
Lecture section: 1. Training dynamics (early stopping)
Run: make recipe-early-stopping   (make recipe-early-stopping ARGS="--patience 10")
"""

"""
## Introduction

The lecture's advice: check validation accuracy periodically, keep the
weights of the best point, and stop when it no longer improves; Prechelt
(1998, "Early stopping - but when?") gives criteria with numbers. This recipe
measures, on a run that overfits:

1. **Keeping the best point pays**: the test accuracy of the weights of the
   epoch with the best validation accuracy, against the weights of the last
   epoch of the budget.
2. **Stopping saves epochs and costs little accuracy**: where Keras's
   `EarlyStopping(patience=...)` stops, how much of the budget that saves,
   and how much test accuracy its restored weights give up against the best
   point of the whole run.
3. **Where Prechelt's criteria stop**, with strips of `k = 5` epochs, on a
   validation error `E_va` (by default the classification error
   `1 - val_accuracy`; or the validation loss): `GL_alpha` (stop when
   `E_va` is more than `alpha` percent above its minimum so far), `PQ_alpha`
   (that generalization loss divided by the training progress of the last
   strip, at strip ends) and `UP_s` (`E_va` went up at `s` strip ends in a
   row), and the test accuracy of the weights each keeps.

All the rules are compared on **one** training run per seed. The run goes
the whole budget and keeps a copy of every epoch's weights in memory
(`kerasrec.callbacks.EpochWeights`; the reference CNN has about 80k
parameters: 100 epochs take about 30 MB). Then each stopping rule, the real
callback (`keras.callbacks.EarlyStopping`,
`kerasrec.callbacks.PrecheltStopping`), is *replayed* on the recorded run
(`kerasrec.callbacks.replay`): its hooks are called epoch by epoch with that
epoch's logs while the model holds that epoch's weights, as `fit()` calls
them, until it sets `model.stop_training`. A callback decides only from
what it is shown and training does not depend on it until it stops, so the
replay stops where a live run with that callback would have, and leaves in
the model the weights it would have restored (`tests/test_callbacks_replay.py`
checks this against live `fit()` runs). Test accuracy is computed only for
the few epochs that some rule keeps.

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

(The wrong-label rows used an earlier version of `label_noise`: same
fractions, other examples. `shapes` with 1-2k examples stays near chance on
validation; with all 20k it generalizes, 85-91% test accuracy after 10
epochs, see the baseline.) In the clean runs validation accuracy stalls
rather than falls, so there is little for a stopping rule to win. The
textbook curve appears when part of the training labels are wrong: the
network fits the clean patterns first, then memorizes the wrong labels
(Zhang et al. 2017, "Understanding deep learning requires rethinking
generalization"; Arpit et al. 2017, "A closer look at memorization in deep
networks"), and that second phase costs validation accuracy. That is where
early stopping matters most, so the default is `digits` (all 1,078 training
examples, validation and test untouched) with `--label-noise 0.3` (30% of
the training labels replaced by a wrong class, the same ones every epoch)
and a long budget, `--epochs 100`: under a minute a seed on two CPU cores.
Validation and test hold 359 and 360 examples: differences under ~2 points
are noise, which is why the full run repeats it over `--seeds 3`.

For the plateau case, run
`--dataset shapes --train-size 8000 --label-noise 0 --epochs 40` (about 10
to 15 minutes here).
"""

"""
## Setup

`kerasrec.runs` is the harness every recipe shares: flags, seeds, the run
folder and its resume (a rerun with the same `--out` reuses each finished
seed). `--quick` trains 30 epochs on the same noisy `digits`, over 2 seeds:
enough for the validation accuracy to peak and fall, for the fast rules to
stop and for the best-versus-last comparison to have a spread; PQ needs
longer (it does not stop in 30 epochs, and its claim fails there).
"""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from kerasrec import callbacks, data, models, plots, runs

SAVED_FRACTION_CLAIM = 0.25  # "early stopping saves >= 25% of the epochs ..."
LOSS_CLAIM_POINTS = 0.01  # "... losing <= 1 point of test accuracy"
MONITORS = ["val_accuracy", "val_loss"]

parser = runs.make_parser(
    __doc__, dataset="digits", epochs=100, batch_size=128, learning_rate=1e-3
)
add = parser.add_argument
for flag, kind, default, text in (
    ("--label-noise", float, 0.3, "share of training labels made wrong, per example"),
    ("--patience", int, 5, "EarlyStopping's patience in epochs"),
    ("--alpha-gl", float, 5.0, "GL threshold, percent above the best validation error"),
    ("--alpha-pq", float, 3.0, "PQ threshold"),
    ("--strips-up", int, 3, "UP: strips in a row with a rising validation error"),
    ("--strip-length", int, 5, "Prechelt's strip length k, in epochs"),
):
    add(flag, type=kind, default=default, help=f"{text} (default: %(default)s)")
for flag, text in (
    ("--monitor", "what EarlyStopping watches"),
    ("--prechelt-monitor", "what Prechelt's criteria watch (val_accuracy: its error)"),
):
    add(
        flag,
        choices=MONITORS,
        default=MONITORS[0],
        help=f"{text} (default: %(default)s)",
    )


def check_flags(args):
    """Raises `runs.ArgumentError` for a flag out of range."""
    runs.require(
        args,
        (0 <= args.label_noise < 1, "label-noise", "a number in [0, 1)"),
        (args.patience > 0, "patience", "a positive integer"),
        (0 < args.alpha_gl < math.inf, "alpha-gl", "a finite number > 0"),
        (0 < args.alpha_pq < math.inf, "alpha-pq", "a finite number > 0"),
        (args.strips_up > 0, "strips-up", "a positive integer"),
        (args.strip_length > 0, "strip-length", "a positive integer"),
    )


run = runs.start(
    "early-stopping", parser, quick={"epochs": 30, "seeds": 2}, check=check_flags
)
args = run.args

"""
## Data

`kerasrec.data.load` gives the batched splits (the first `--train-size`
training examples, if given). `kerasrec.data.label_noise` makes
`--label-noise` of the training labels wrong: which ones, and the wrong
class, follow from the image and the seed alone, so an example keeps its
wrong label in every epoch however the batches are shuffled, and the
network can memorize it. The validation and test splits stay clean. Each
seed draws its own wrong labels.
"""

load = dict(batch_size=args.batch_size, quick=args.quick, train_size=args.train_size)
*_, info = data.load(args.dataset, seed=args.seed, **load)
shape, classes = info.input_shape, info.num_classes
run.record(dataset_info=info.to_dict())
run.log(f"{info.name}: {info.split_sizes}, {info.num_classes} classes")
setup = (
    f"{info.name}, {info.split_sizes['train']} training examples, "
    f"{args.label_noise:.0%} wrong labels"
)

"""
## The stopping rules

Keras's `EarlyStopping` watches `--monitor` with `--patience`; the three
`PrecheltStopping` criteria watch `--prechelt-monitor`. On `val_accuracy`
(`mode="auto"` reads it as a quantity to maximize) they run on its error
rate `1 - val_accuracy`, Prechelt's classification error; PQ also reads the
training loss. All restore the best weights they saw. The GL one of the
first seed also saves the best model to disk (`filepath=`) every time its
validation error improves, atomically (a temporary file, then
`os.replace`): in a live run a crash leaves either the previous best model
or the new one, never half a file.
"""

on, k = args.prechelt_monitor, args.strip_length
error = "1 - val_accuracy" if on == "val_accuracy" else on
best_path = run.file("best_model.keras")
LABELS = {
    "early_stopping": f"EarlyStopping({args.monitor}, patience={args.patience})",
    "GL": f"GL{args.alpha_gl:g} ({error})",
    "PQ": f"PQ{args.alpha_pq:g} ({error}, k={k})",
    "UP": f"UP{args.strips_up} ({error}, k={k})",
}
prechelt = dict(strip_length=k, monitor=on)
stop_text = lambda s: "never stops" if s is None else f"stops at {s + 1}"  # noqa: E731
stoppers = lambda path: {  # noqa: E731
    "early_stopping": keras.callbacks.EarlyStopping(
        monitor=args.monitor, patience=args.patience, restore_best_weights=True
    ),
    "GL": callbacks.PrecheltStopping(
        "GL", alpha=args.alpha_gl, filepath=path, **prechelt
    ),
    "PQ": callbacks.PrecheltStopping("PQ", alpha=args.alpha_pq, **prechelt),
    "UP": callbacks.PrecheltStopping("UP", strips=args.strips_up, **prechelt),
}

"""
## Training the whole budget, then replaying the rules

One step per seed: the reference CNN with Adam at a constant learning rate,
as in the baseline, for the whole `--epochs` budget, `EpochWeights`
recording every epoch's weights; nothing stops the run. The training
accuracy is measured against the noisy labels: 100% means the wrong labels
are memorized. Then `callbacks.replay` runs each rule on the recorded run
(0-based epochs, as Keras's callbacks count them), and the test accuracy is
measured for the epochs that matter: the best validation epoch, the last
one, and each epoch a rule keeps. The first seed's `model.keras` holds the
weights `EarlyStopping` restored, and `best_model.keras`, which
`PrecheltStopping(filepath=...)` wrote, is reloaded in a fresh model (no
`custom_objects`) and scored.
"""


def train_and_replay(seed):
    train, val, test, _ = data.load(args.dataset, seed=seed, **load)
    noise = data.label_noise(shape, args.label_noise, classes, seed=seed)
    wrong = sum(int(np.sum(noise(x, y)[1].numpy() != y.numpy())) for x, y in train)
    noisy = train.map(noise, num_parallel_calls=tf.data.AUTOTUNE)
    model = models.build_cnn(shape, classes)
    adam = keras.optimizers.Adam(args.learning_rate)
    model.compile(adam, "sparse_categorical_crossentropy", metrics=["accuracy"])
    keep, started = callbacks.EpochWeights(), time.time()
    fit = dict(validation_data=val, epochs=args.epochs, callbacks=[keep], verbose=0)
    history = model.fit(noisy, **fit).history
    seconds = time.time() - started
    primary = seed == run.seed
    rules = stoppers(best_path if primary else None)
    stops = {
        rule: callbacks.replay(stopper, history, model=model, weights=keep.weights)
        for rule, stopper in rules.items()
    }
    best = int(np.argmax(history["val_accuracy"]))
    kept = {best, args.epochs - 1, *(restored for _, restored in stops.values())}
    test_accuracy = [None] * args.epochs
    for epoch in sorted(kept):
        model.set_weights(keep.weights[epoch])
        test_accuracy[epoch] = float(model.evaluate(test, verbose=0)[1])
    reloaded = None
    if primary:
        model.set_weights(keep.weights[stops["early_stopping"].restored_epoch])
        run.save_model(model)
        saved = keras.saving.load_model(best_path)  # a fresh model, from disk
        reloaded = float(saved.evaluate(test, verbose=0)[1])
    run.log(
        f"seed {seed}: {wrong} wrong labels, best validation epoch {best + 1}; "
        + "; ".join(f"{r} {stop_text(s)}, keeps {e + 1}" for r, (s, e) in stops.items())
    )
    return {
        "history": history,
        "wrong_labels": wrong,
        "best_epoch": best,
        "stops": stops,
        "best_epoch_of": {rule: stopper.best_epoch for rule, stopper in rules.items()},
        "test_accuracy": test_accuracy,
        "reloaded_test_accuracy": reloaded,
        "seconds_per_epoch": seconds / args.epochs,
    }


results = run.repeat("fit", train_and_replay, **run.flags())
first = results[0]
history = run.save_history(first["history"], title=f"early-stopping: {setup}")
plots.plot_stops(
    history,
    {LABELS[rule]: stop for rule, stop in first["stops"].items()},
    run.file("stopping.png"),
    best_epoch=first["best_epoch"],
    title=f"early stopping: {setup} (seed {run.seed})",
)
run.save_json("stopping.json", {"labels": LABELS, "seeds": run.seeds, "runs": results})

"""
## Results

The claims, each checked on every seed (epochs below are 1-based, as `fit()`
prints them). "The best point" is the epoch of the best validation accuracy
of the whole budget; a rule "loses" the test accuracy its kept weights give
up against that point's. Whether the best point beats the last epoch is a
comparison of two set-ups, so it is judged over the seeds by the harness's
rule (the difference of the means must exceed the sum of the sds): with one
seed it is a smoke test and does not hold. `prechelt_stop_epochs` applies
the same criteria to the recorded curves alone, and must agree with the
replayed callbacks.

What the full run gave for seed 0 when this recipe was written (two CPU
cores; `make results` repeats it over `--seeds 3`; the `--quick` run of
this version reproduces seed 0's first 30 epochs: best epoch 7, the same
stops): 315 of the 1,078 training labels are wrong. Validation accuracy
peaks at epoch 7 (93.9%), then falls to 82-86% as the network memorizes the
wrong labels (training accuracy reaches 100% at epoch 22). The weights of
epoch 7 score 93.6% on test, those of epoch 100 83.1%: keeping the best
point is worth 10 points. `EarlyStopping(val_accuracy, patience=5)` stops
after epoch 12 of 100 (88% of the budget saved) and keeps epoch 7: nothing
lost. On the classification error, GL5 stops at epoch 8, UP3 at 20 and PQ3
at 75, and all keep epoch 7. PQ is slow because the training loss keeps
falling fast under Adam, so the training progress `P` stays in the hundreds
and `GL / P` small. GL5 on the error is touchy: 5% above a 6% error is one
more mistake on 359 examples. With `--prechelt-monitor val_loss` the
validation loss is lowest at epoch 29, long after the accuracy peak: all
three criteria keep epoch 29 (86.4% test, 7 points below the peak).
Cross-entropy and accuracy disagree on where the best point is; watch the
quantity you will report. On the plateau (`--dataset shapes --train-size
8000 --label-noise 0 --epochs 40`) keeping the best point gains 0.4 points,
`EarlyStopping` never stops (new, slightly higher maxima keep coming) and
GL5 stops at epoch 8 on an early wobble, keeping a model 26 points worse:
patience and thresholds must exceed the epoch-to-epoch noise of the
validation curve. `results.json` and `stopping.png` hold your numbers.
"""

budget = args.epochs
at = lambda r, epoch: r["test_accuracy"][epoch]  # noqa: E731
one = lambda epoch: None if epoch is None else epoch + 1  # noqa: E731 (1-based)
mean = lambda values: runs.mean_sd(values)["mean"]  # noqa: E731
best = [at(r, r["best_epoch"]) for r in results]
last = [at(r, budget - 1) for r in results]
run.check_difference(
    "keeping the best point pays: the weights of the epoch with the best validation "
    "accuracy beat the last epoch's on the test set",
    best,
    last,
    names=("best epoch", f"epoch {budget}"),
)
metrics = {
    "epochs": budget,
    "train_examples": info.split_sizes["train"],
    "wrong_labels": [r["wrong_labels"] for r in results],
    "final_train_accuracy": [r["history"]["accuracy"][-1] for r in results],
    "best_val_epoch": [one(r["best_epoch"]) for r in results],
    "best_val_accuracy": [max(r["history"]["val_accuracy"]) for r in results],
    "test_accuracy_best": mean(best),
    "test_accuracy_best_per_seed": best,
    "test_accuracy_last": mean(last),
    "test_accuracy_last_per_seed": last,
    "test_accuracy_best_minus_last": mean([b - a for b, a in zip(best, last)]),
}
for rule, label in LABELS.items():
    stopped = [r["stops"][rule][0] for r in results]
    kept = [r["stops"][rule][1] for r in results]
    accuracy = [at(r, e) for r, e in zip(results, kept)]
    losses = [b - a for b, a in zip(best, accuracy)]
    saved = [(budget - (budget if s is None else s + 1)) / budget for s in stopped]
    prefix = "es" if rule == "early_stopping" else rule.lower()
    metrics[f"{prefix}_stop_epoch"] = [one(s) for s in stopped]
    metrics[f"{prefix}_kept_epoch"] = [one(e) for e in kept]
    metrics[f"{prefix}_saved_fraction"] = mean(saved)
    metrics[f"{prefix}_test_accuracy"] = mean(accuracy)
    metrics[f"{prefix}_test_accuracy_per_seed"] = accuracy
    where = " / ".join(f"{stop_text(s)}, keeps {e + 1}" for s, e in zip(stopped, kept))
    cost = (
        f"test accuracy {runs.format_mean_sd(accuracy)} vs the best point's "
        f"{runs.format_mean_sd(best)} (loss {', '.join(f'{x * 100:+.1f}' for x in losses)} "
        "points)"
    )
    if rule == "early_stopping":
        run.check(
            f"early stopping saves >= {SAVED_FRACTION_CLAIM:.0%} of the epochs and loses "
            f"<= {LOSS_CLAIM_POINTS * 100:g} point of test accuracy against the best point",
            min(saved) >= SAVED_FRACTION_CLAIM and max(losses) <= LOSS_CLAIM_POINTS,
            f"{label} of {budget} epochs: {where} (saved "
            f"{', '.join(f'{x:.0%}' for x in saved)}); {cost}",
        )
    else:
        run.check(
            f"Prechelt's {label} stops within the budget and loses <= "
            f"{LOSS_CLAIM_POINTS * 100:g} point of test accuracy",
            None not in stopped and max(losses) <= LOSS_CLAIM_POINTS,
            f"{where}; {cost}",
        )
mode = "max" if on == "val_accuracy" else "min"
criteria = run.flags("alpha_gl", "alpha_pq", "strips_up", "strip_length")
offline = [
    callbacks.prechelt_stop_epochs(h[on], h["loss"], **criteria, mode=mode)
    for h in (r["history"] for r in results)
]
replayed = [{rule: r["stops"][rule][0] for rule in ("GL", "PQ", "UP")} for r in results]
run.check(
    "the replayed callbacks stop where prechelt_stop_epochs() says, from the curves alone",
    offline == replayed,
    f"callbacks {replayed}, prechelt_stop_epochs {offline} (0-based, one dict a seed)",
)
restored = [
    r["stops"][rule][1] == r["best_epoch_of"][rule] for r in results for rule in LABELS
]
reloaded = first["reloaded_test_accuracy"]
gl_accuracy = at(first, first["stops"]["GL"][1])
run.check(
    "every rule leaves the weights of the best epoch it saw, and the best model GL saved "
    "on disk reloads with the test accuracy of those weights",
    all(restored) and abs(reloaded - gl_accuracy) < 1e-6,
    f"restored == best_epoch for {sum(restored)} of {len(restored)} (rule, seed) pairs; "
    f"best_model.keras {reloaded:.4f}, GL's restored weights {gl_accuracy:.4f}",
)
metrics["best_model_reloaded_test_accuracy"] = reloaded
metrics["seconds_per_epoch"] = mean([r["seconds_per_epoch"] for r in results])
es_stops = ", ".join(str(s or "never") for s in metrics["es_stop_epoch"])
run.finish(
    metrics,
    headline=f"{setup}: the best epoch scores {runs.format_mean_sd(best)} on test, the "
    f"last ({budget}) {runs.format_mean_sd(last)}; {LABELS['early_stopping']} stops at "
    f"epoch {es_stops} (test {runs.format_mean_sd(metrics['es_test_accuracy_per_seed'])})",
)
