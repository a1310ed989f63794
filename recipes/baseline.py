"""
Title: Baseline: the reference CNN at a constant learning rate
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
"""

"""
## Setup
"""

import time

import keras
import numpy as np

from kerasrec import data, models, runs

CALIBRATED_RANGE = (0.80, 0.92)  # shapes/source, 10 epochs (see kerasrec/data/render.py)


def main():
    parser = runs.make_parser(__doc__, epochs=10, batch_size=128, learning_rate=1e-3)
    parser.add_argument("--model", choices=["cnn", "mlp"], default="cnn",
                        help="reference model (default: %(default)s)")
    args = parser.parse_args()
    run = runs.start("baseline", args)

    """
    ## Data

    `kerasrec.data.load` returns batched `tf.data` pipelines (cached,
    shuffled each epoch, prefetched) and the facts the model needs.
    """
    train, val, test, info = data.load(
        args.dataset, batch_size=args.batch_size, quick=args.quick,
        train_size=args.train_size, seed=args.seed,
    )
    run.record(dataset_info=info.to_dict())
    run.log(f"{info.name}: {info.split_sizes}, {info.num_classes} classes, input {info.input_shape}")

    """
    ## Model and training

    Adam with a constant learning rate: a plain float, so Keras keeps it fixed
    for the whole run.
    """
    model = models.build(args.model, info.input_shape, info.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    train_seconds = time.time() - start
    run.save_history(history, title=f"baseline on {info.name}")
    run.save_model(model)

    """
    ## Results

    Test accuracy of the final weights (no early stopping: what a plain
    `fit` gives), against chance (1 / number of classes).
    """
    test_loss, test_accuracy = model.evaluate(test, verbose=0)
    val_accuracy = history.history["val_accuracy"]
    chance = 1.0 / info.num_classes
    metrics = {
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "final_train_accuracy": float(history.history["accuracy"][-1]),
        "best_val_accuracy": float(max(val_accuracy)),
        "best_val_epoch": int(np.argmax(val_accuracy)) + 1,
        "epochs": args.epochs,
        "chance": chance,
        "parameters": model.count_params(),
        "seconds_per_epoch": train_seconds / args.epochs,
    }
    run.check(
        "the model learns: test accuracy is at least twice chance",
        test_accuracy >= 2 * chance,
        f"test accuracy {test_accuracy:.3f}, chance {chance:.3f}",
    )
    if info.name in ("shapes", "shapes/source") and args.epochs == 10 and not args.quick:
        low, high = CALIBRATED_RANGE
        run.check(
            "shapes is calibrated: 10 epochs reach 80-92% test accuracy",
            low <= test_accuracy <= high,
            f"test accuracy {test_accuracy:.3f}",
        )
    run.finish(
        metrics,
        headline=f"{info.name}: test accuracy {test_accuracy:.1%} after {args.epochs} epochs "
        f"(chance {chance:.0%})",
    )


if __name__ == "__main__":
    runs.main(main)
