"""Calibrates the difficulty of the `shapes` generator (maintainers' tool).

For each variant (overrides of the constants in `kerasrec/data/render.py`),
renders the splits, trains the reference CNN for 10 epochs (Adam 1e-3,
batch 128, the baseline recipe's settings) and on a 1k subset (30 epochs),
and prints test accuracy and the 1k subset's train/validation gap. Uses only
NumPy and Keras, so it also runs on the JAX backend of a GPU machine:

    KERAS_BACKEND=jax python tools/calibrate_shapes.py '[{"NOISE_RANGE": [0.02, 0.06]}]'
"""

import importlib.util
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kerasrec")


def _module(relpath):
    # By path, so that neither TensorFlow nor TFDS is needed (see docstring).
    spec = importlib.util.spec_from_file_location(relpath, os.path.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _render(args):
    variant, split, size = args
    render = _module("data/render.py")
    task = variant.get("task", "source")
    for key, value in variant.items():
        if key not in ("task", "width"):
            setattr(render, key, tuple(value) if isinstance(value, list) else value)
    return render.render(task, split, size)


def main(variants, train=20_000, test=5_000, epochs=10, out=None):
    jobs = [(v, s, n) for v in variants for s, n in (("train", train), ("test", test))]
    with ProcessPoolExecutor() as pool:
        rendered = list(pool.map(_render, jobs))
    import keras

    models = _module("models.py")

    results = []
    for i, variant in enumerate(variants):
        (x, y), (xt, yt) = rendered[2 * i], rendered[2 * i + 1]
        x, xt = x.astype("float32"), xt.astype("float32")
        row = {"variant": variant}
        for name, n, n_epochs in (("full", train, epochs), ("1k", 1000, 30)):
            keras.utils.set_random_seed(0)
            model = models.build_cnn(
                x.shape[1:], int(y.max()) + 1, width=variant.get("width", 16)
            )
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            start = time.time()
            history = model.fit(
                x[:n], y[:n], batch_size=128, epochs=n_epochs, verbose=0,
                validation_data=(xt, yt),
            ).history
            row[name] = {
                "train_acc": round(history["accuracy"][-1], 4),
                "test_acc": round(history["val_accuracy"][-1], 4),
                "best_test_acc": round(max(history["val_accuracy"]), 4),
                "curve": [round(a, 3) for a in history["val_accuracy"]],
                "seconds": round(time.time() - start, 1),
            }
        print(json.dumps(row), flush=True)
        results.append(row)
    if out:
        with open(out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), out=sys.argv[2] if len(sys.argv) > 2 else None)
