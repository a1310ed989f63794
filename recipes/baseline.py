"""
Title: Baseline: the reference CNN at a constant learning rate
Author: kerasrec contributors
Date created: 2026/10/01
Last modified: 2026/12/01
Description: Trains the reference CNN with Adam at a constant LR: the number others must beat.
Lecture section: 1. Training dynamics (constant learning rate)
Run: make recipe-baseline   (make recipe-baseline ARGS="--dataset digits")
"""

"""
## Introduction

Every technique in kerasrec is measured against this run: the reference CNN
(`kerasrec.models.build_cnn`, a small ResNet with BatchNorm) trained with
Adam at a constant learning rate, no schedule, no early stopping, no
augmentation. The lecture notes that a constant learning rate "works
surprisingly often" with adaptive optimizers; this recipe gives the number
that schedules, tuning, ensembles and averaging must improve on.

The default dataset is the embedded `shapes` (32x32x3, 10 classes,
20k/5k/5k), built offline on first use. Its difficulty is calibrated so that
this run lands between 80% and 92% test accuracy after 10 epochs, leaving
room for every later technique to show an effect; the recipe checks that.
With `--seeds 3` the run is repeated over three seeds and reported as
mean ± sd: single runs here vary by a few points.
"""

"""
## Setup

`kerasrec.runs` is the harness every recipe shares: the flags, the seeds,
the run folder and its resume (a rerun with the same `--out` reuses each
finished step). `--quick` trains 2 epochs on `digits`, which learns in
seconds; quick numbers are a smoke test, not the results.
"""

import time

import keras

from kerasrec import data, models, runs

CALIBRATED_RANGE = (
    0.80,
    0.92,
)  # shapes/source, 10 epochs (see kerasrec/data/render.py)

parser = runs.make_parser(__doc__, epochs=10, batch_size=128, learning_rate=1e-3)
parser.add_argument(
    "--model",
    choices=["cnn", "mlp"],
    default="cnn",
    help="reference model (default: %(default)s)",
)
run = runs.start("baseline", parser, quick={"dataset": "digits"})
args = run.args

"""
## Data

`kerasrec.data.load` returns batched `tf.data` pipelines (cached,
shuffled each epoch, prefetched) and the facts the model needs.
"""

train, val, test, info = data.load(
    args.dataset,
    batch_size=args.batch_size,
    quick=args.quick,
    train_size=args.train_size,
    seed=args.seed,
)
run.record(dataset_info=info.to_dict())
run.log(f"{info.name}: {info.split_sizes}, {info.num_classes} classes")

"""
## Model and training

Adam with a constant learning rate: a plain float, so Keras keeps it fixed
for the whole run. One training run per seed is one *step* of the harness:
it is seeded before it starts, and its numbers are stored in the run folder,
so a killed run resumes with the seeds that are not done yet.
"""


def train_one(seed):
    model = models.build(args.model, info.input_shape, info.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    seconds = time.time() - start
    test_loss, test_accuracy = model.evaluate(test, verbose=0)
    if seed == run.seed:
        run.save_model(model)
        run.save_history(history, title=f"baseline on {info.name}")
    return {
        "history": history.history,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "parameters": model.count_params(),
        "seconds_per_epoch": seconds / args.epochs,
    }


results = run.repeat("fit", train_one, **run.flags())

"""
## Results

Test accuracy of the final weights (no early stopping: what a plain
`fit` gives), against chance (1 / number of classes).
"""

accuracies = [r["test_accuracy"] for r in results]
stats = runs.mean_sd(accuracies)
first = results[0]
val_accuracy = first["history"]["val_accuracy"]
chance = 1.0 / info.num_classes
metrics = {
    "test_accuracy": stats["mean"],
    "test_accuracy_sd": stats["sd"],
    "test_accuracy_per_seed": accuracies,
    "test_loss": first["test_loss"],
    "final_train_accuracy": first["history"]["accuracy"][-1],
    "best_val_accuracy": max(val_accuracy),
    "best_val_epoch": val_accuracy.index(max(val_accuracy)) + 1,
    "epochs": args.epochs,
    "chance": chance,
    "parameters": first["parameters"],
    "seconds_per_epoch": first["seconds_per_epoch"],
}
run.check(
    "the model learns: test accuracy is at least twice chance in every seed",
    min(accuracies) >= 2 * chance,
    f"test accuracy {runs.format_mean_sd(accuracies)}, chance {chance:.0%}",
)
if info.name in ("shapes", "shapes/source") and args.epochs == 10 and not args.quick:
    low, high = CALIBRATED_RANGE
    run.check(
        "shapes is calibrated: 10 epochs reach 80-92% test accuracy",
        low <= stats["mean"] <= high,
        f"test accuracy {runs.format_mean_sd(accuracies)}",
    )
run.finish(
    metrics,
    headline=f"{info.name}: test accuracy {runs.format_mean_sd(accuracies)} after "
    f"{args.epochs} epochs (chance {chance:.0%})",
)
