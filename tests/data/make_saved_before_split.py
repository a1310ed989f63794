"""Writes the fixtures of `tests/test_callbacks_saved.py` (run once, by hand).

They were written at commit ad7fc21, when `kerasrec.callbacks` was still one
module (`kerasrec/callbacks.py`), so that the tests prove that what was saved
before it became a package still loads after:

- `callbacks_before_split.json`: `keras.saving.serialize_keras_object()` of
  each kerasrec callback (Keras does not save callbacks in a `.keras` file;
  this is what a run folder or a tuner keeps of them), with the `module`
  Keras recorded then, `kerasrec.callbacks`.
- `prechelt_best_before_split.keras`: the best model that
  `PrecheltStopping(filepath=...)` saved during a short `fit()`, compiled
  with a kerasrec schedule (`Warmup(StepDecay)`), so that its compile config
  names kerasrec objects; `prechelt_best_before_split.json` holds its test
  loss, its kernel and the epochs the callback reported.

Run from the repository root: `.venv/bin/python tests/data/make_saved_before_split.py`.
"""

import json
import os

import keras
import numpy as np

from kerasrec import callbacks, schedules

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    keras.utils.set_random_seed(0)
    configs = {
        "LearningRateLogger": callbacks.LearningRateLogger(),
        "PrecheltStopping": callbacks.PrecheltStopping(
            "UP", strip_length=4, strips=2, monitor="val_mae", train_monitor="mae",
            restore_best_weights=False, filepath="best.keras", verbose=1,
        ),
        "LRFinder": callbacks.LRFinder(1e-5, 3.0, num_steps=200, smoothing=0.9,
                                       divergence_factor=5.0, restore_weights=False),
        "BatchLoss": callbacks.BatchLoss(64, 1000),
    }
    serialized = {name: keras.saving.serialize_keras_object(c) for name, c in configs.items()}
    with open(os.path.join(HERE, "callbacks_before_split.json"), "w") as f:
        json.dump(serialized, f, indent=2, sort_keys=True)
        f.write("\n")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0]])).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    schedule = schedules.Warmup(schedules.StepDecay(0.05, [8], factor=0.5), warmup_steps=4)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    path = os.path.join(HERE, "prechelt_best_before_split.keras")
    stopper = callbacks.PrecheltStopping("GL", alpha=5.0, filepath=path)
    # Validation targets of the opposite sign: the validation loss rises as
    # the model fits, so GL stops and the best model is an early one.
    model.fit(x, y, batch_size=8, epochs=20, verbose=0, validation_data=(x, -y),
              callbacks=[stopper])
    best = keras.saving.load_model(path)
    record = {
        "best_epoch": stopper.best_epoch,
        "stopped_epoch": stopper.stopped_epoch,
        "val_loss": float(best.evaluate(x, -y, verbose=0)),
        "kernel": best.get_weights()[0].tolist(),
        "bias": best.get_weights()[1].tolist(),
    }
    with open(os.path.join(HERE, "prechelt_best_before_split.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
