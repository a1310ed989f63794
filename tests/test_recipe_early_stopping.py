"""recipes/early_stopping.py: its replay of stopping callbacks, and its run folder."""

import importlib.util
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import callbacks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "early_stopping.py")


def load_recipe():
    spec = importlib.util.spec_from_file_location("early_stopping_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def noise_data():
    # Random labels: the model memorizes the training set and the validation
    # loss soon rises, so every stopping rule below stops within the budget.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(96, 8)).astype("float32"), rng.integers(0, 3, 96)
    return (x[:64], y[:64]), (x[64:], y[64:])


@pytest.mark.parametrize(
    "make_stopper",
    [
        lambda: keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=3,
                                              restore_best_weights=True),
        lambda: callbacks.PrecheltStopping("GL", alpha=5.0),
        lambda: callbacks.PrecheltStopping("UP", strips=1, strip_length=2),
    ],
    ids=["EarlyStopping", "GL", "UP"],
)
def test_replay_stops_and_restores_like_a_live_fit(make_stopper):
    recipe = load_recipe()
    (x, y), val = noise_data()
    epochs = 12
    fit = dict(x=x, y=y, validation_data=val, epochs=epochs, batch_size=32, shuffle=False,
               verbose=0)

    live_model, live = tiny_model(), make_stopper()
    live_history = live_model.fit(**fit, callbacks=[live]).history
    live_epochs = len(live_history["loss"])
    assert live_epochs < epochs, "the set-up must make the rule stop"

    model, keep = tiny_model(), recipe.KeepWeights()
    history = model.fit(**fit, callbacks=[keep]).history
    assert len(keep.weights) == epochs
    stopped = recipe.replay(make_stopper(), model, history, keep.weights)

    assert stopped == live_epochs - 1
    for key in live_history:  # the same run up to the stop
        np.testing.assert_allclose(history[key][:live_epochs], live_history[key], rtol=1e-5)
    for ours, theirs in zip(model.get_weights(), live_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert model.stop_training is False


def test_replay_of_a_rule_that_never_stops_returns_none_and_the_best_weights():
    recipe = load_recipe()
    model = tiny_model()
    weights = [[np.full_like(w, epoch) for w in model.get_weights()] for epoch in range(4)]
    history = {"val_loss": [1.0, 0.5, 0.6, 0.55], "loss": [1.0, 0.9, 0.8, 0.7]}
    stopper = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    assert recipe.replay(stopper, model, history, weights) is None
    assert recipe.holds_weights(model, weights[1])  # the best val_loss
    assert not recipe.holds_weights(model, weights[3])


def test_label_noise_mislabels_a_fixed_share_the_same_way_in_every_epoch():
    recipe = load_recipe()
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(2000, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 10, size=2000)
    clean = {image.tobytes(): label for image, label in zip(images, labels)}
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))

    def noisy_labels(fraction, shuffle_seed):
        noise = recipe.label_noise((8, 8, 1), fraction, 10, seed=0)
        batches = dataset.shuffle(2000, seed=shuffle_seed).batch(64).map(noise)
        return {
            image.tobytes(): label
            for x, y in batches
            for image, label in zip(x.numpy(), y.numpy())
        }

    first, second = noisy_labels(0.3, shuffle_seed=1), noisy_labels(0.3, shuffle_seed=2)
    assert first == second  # an image keeps its label, whatever the order of the batches
    wrong = [key for key in clean if first[key] != clean[key]]
    assert 0.26 < len(wrong) / len(clean) < 0.34
    shifts = {(first[key] - clean[key]) % 10 for key in wrong}
    assert shifts == set(range(1, 10))  # every other class, never the right one
    assert noisy_labels(0.0, shuffle_seed=1) == clean


def test_quick_run_reports_consistent_stops_and_a_reloadable_best_model(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, RECIPE, "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    history = json.loads((out / "history.json").read_text())
    stopping = json.loads((out / "stopping.json").read_text())
    metrics = results["metrics"]
    budget = metrics["epochs"]
    assert budget == len(history["val_accuracy"]) == stopping["budget"] == 2

    best = int(np.argmax(history["val_accuracy"])) + 1
    assert metrics["best_val_epoch"] == stopping["best_val_epoch"] == best
    assert metrics["best_val_accuracy"] == pytest.approx(max(history["val_accuracy"]))
    by_epoch = stopping["test_accuracy_by_epoch"]
    assert metrics["test_accuracy_best"] == by_epoch[str(best)]
    assert metrics["test_accuracy_last"] == by_epoch[str(budget)]

    config = json.loads((out / "config.json").read_text())
    val_error = {"val_loss": history["val_loss"],
                 "val_error": [1 - a for a in history["val_accuracy"]]}[config["prechelt_monitor"]]
    offline = callbacks.prechelt_stop_epochs(val_error, history["loss"])
    for rule, prefix in [("early_stopping", "es"), ("GL", "gl"), ("PQ", "pq"), ("UP", "up")]:
        entry = stopping["rules"][rule]
        stop = metrics[f"{prefix}_stop_epoch"]  # present: an epoch, or null
        assert stop == entry["stop_epoch"]
        assert stop is None or 1 <= stop <= budget
        assert entry["epochs_run"] == (budget if stop is None else stop)
        saved = budget - entry["epochs_run"]
        assert metrics[f"{prefix}_epochs_saved"] == entry["epochs_saved"] == saved
        assert 1 <= entry["restored_epoch"] <= entry["epochs_run"]
        assert metrics[f"{prefix}_test_accuracy"] == by_epoch[str(entry["restored_epoch"])]
        if rule != "early_stopping":
            assert stop == (None if offline[rule] is None else offline[rule] + 1)
            assert stopping["prechelt_stop_epochs"][rule] == offline[rule]

    # GL keeps the weights of the lowest validation error it saw (the first, on ties).
    gl = stopping["rules"]["GL"]
    assert gl["restored_epoch"] == int(np.argmin(val_error[: gl["epochs_run"]])) + 1

    best_model = keras.saving.load_model(out / "best_model.keras")
    assert best_model.output_shape == (None, 10)
    reloaded = metrics["best_model_reloaded_test_accuracy"]
    assert reloaded == pytest.approx(gl["test_accuracy"], abs=1e-6)
    assert {"stopping.png", "learning_curves.png", "model.keras"} <= set(os.listdir(out))
    claims = {c["claim"]: c["holds"] for c in results["claims"]}
    assert any("reloads" in claim and holds for claim, holds in claims.items())
    assert "results ==" in proc.stdout


def test_bad_label_noise_is_one_clear_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, RECIPE, "--quick", "--label-noise", "1.0", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 2
    assert "--label-noise" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
