"""kerasrec.playbook: each step of the tuning procedure on its own.

The last section runs `recipes/tuning_playbook.py` itself, as a user would
(a subprocess): its resume and its bad flags.
"""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import data, models, playbook, tuning


@pytest.fixture(scope="module")
def digits():
    train, val, test, info = data.load("digits", batch_size=32, seed=0)
    return train, val, info


def mlp(info, **kwargs):
    return lambda: models.build_mlp(info.input_shape, info.num_classes, **kwargs)


# Step 1 ---------------------------------------------------------------------


def test_initial_loss_of_an_untrained_classifier_is_ln_c(digits):
    train, _, info = digits
    result = playbook.check_initial_loss(mlp(info)(), train)
    assert result.expected == pytest.approx(math.log(10))
    assert result.ok, result.message
    assert abs(result.loss - math.log(10)) < 0.25 * math.log(10)


def test_initial_loss_flags_a_confidently_wrong_model(digits):
    train, _, info = digits
    model = mlp(info)()
    last = model.layers[-1]
    kernel, bias = last.get_weights()
    last.set_weights([kernel * 100.0, bias])  # huge last-layer weights: confident at init
    result = playbook.check_initial_loss(model, train)
    assert not result.ok
    assert result.loss > 2 * math.log(10)
    assert "too large" in result.message


def test_initial_loss_flags_labels_leaking_into_inputs():
    # The label is written into the input: a one-hot input and an identity
    # "model" that already predicts it.
    y = np.arange(64) % 4
    x = np.eye(4, dtype="float32")[y] * 0.97 + 0.01
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Activation("linear")(inputs))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = playbook.check_initial_loss(model, ds)
    assert not result.ok and result.loss < 0.1
    assert "leak" in result.message


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_batches": 0}, "num_batches"), ({"tolerance": -1}, "tolerance"),
     ({"num_classes": 1}, "num_classes")],
)
def test_initial_loss_bad_arguments(digits, kwargs, name):
    train, _, info = digits
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.check_initial_loss(mlp(info)(), train, **kwargs)


def test_initial_loss_empty_dataset(digits):
    train, _, info = digits
    with pytest.raises(ValueError, match="`dataset`"):
        playbook.check_initial_loss(mlp(info)(), train.take(0))


# Step 2 ---------------------------------------------------------------------


def test_overfit_small_sample_memorizes_five_batches(digits):
    train, _, info = digits
    result = playbook.overfit_small_sample(mlp(info), train, num_batches=5, max_epochs=100,
                                           learning_rate=3e-3)
    assert result.reached, result.message
    assert result.examples == 160 and result.accuracy >= 0.99
    assert result.epochs < 100 and len(result.history["loss"]) == result.epochs


def test_overfit_small_sample_reports_failure_with_suggestions(digits):
    train, _, info = digits
    # A far too low learning rate cannot memorize anything in 5 epochs.
    result = playbook.overfit_small_sample(mlp(info), train, max_epochs=5, learning_rate=1e-7)
    assert not result.reached
    assert result.epochs == 5
    assert "raise the learning rate" in result.message


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_batches": 0}, "num_batches"), ({"max_epochs": -2}, "max_epochs"),
     ({"target_accuracy": 1.5}, "target_accuracy"), ({"learning_rate": 0}, "learning_rate"),
     ({"optimizer": "rmsprop"}, "name")],
)
def test_overfit_bad_arguments(digits, kwargs, name):
    train, _, info = digits
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.overfit_small_sample(mlp(info), train, **kwargs)


# Step 7 ---------------------------------------------------------------------


def test_train_final_cosine_decays_to_zero_and_keeps_the_best_epoch(digits):
    train, val, info = digits
    result = playbook.train_final(mlp(info), train, val, learning_rate=3e-3,
                                  weight_decay=1e-4, epochs=6, patience=6)
    lrs = result.history["learning_rate"]
    assert lrs[0] < 3e-3 and lrs[-1] == pytest.approx(0.0, abs=1e-9)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # cosine only decays
    best = int(np.argmax(result.history["val_accuracy"])) + 1
    assert result.best_epoch == best and result.epochs == 6
    _, accuracy = result.model.evaluate(val, verbose=0)  # the best weights were restored
    assert accuracy == pytest.approx(max(result.history["val_accuracy"]), abs=1e-6)


def test_train_final_stops_early(digits):
    train, val, info = digits
    # With lr 1e-7 nothing improves: EarlyStopping stops after `patience`.
    result = playbook.train_final(mlp(info), train, val, learning_rate=1e-7, epochs=30,
                                  patience=2)
    assert result.epochs < 30


def test_make_optimizer_names():
    assert isinstance(tuning.make_optimizer("sgd", 0.1), keras.optimizers.SGD)
    adamw = tuning.make_optimizer("adamw", 1e-3, 1e-4)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="sgd, adam, adamw"):
        tuning.make_optimizer("lion", 1e-3)
    with pytest.raises(ValueError, match="`weight_decay`"):
        tuning.make_optimizer("sgd", 0.1, -1.0)


def test_initial_loss_leaves_every_weight_unchanged():
    # Training mode updates BatchNorm's moving statistics: they must be put back.
    model = models.build_cnn((16, 16, 3), 4, width=4)
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).uniform(0, 255, (32, 16, 16, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(32) % 4)).batch(16)
    result = playbook.check_initial_loss(model, ds)
    assert result.ok, result.message
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# Steps 3-5 ------------------------------------------------------------------


def test_find_learning_rate_suggests_a_sane_sgd_rate(digits):
    train, _, info = digits
    result = playbook.find_learning_rate(mlp(info), train, num_steps=60)
    assert 1e-4 < result.suggested_learning_rate < 1.0
    assert len(result.losses) <= 60


def row(lr, wd, score, status="COMPLETED"):
    return {"status": status, "score": score,
            "hyperparameters": {"learning_rate": lr, "weight_decay": wd}}


def test_narrow_ranges_spans_the_best_trials_widened():
    table = [row(0.01, 1e-5, 0.5), row(0.1, 1e-4, 0.9), row(1.0, 1e-3, 0.8),
             row(0.001, 1e-3, 0.95, status="RUNNING"), row(0.1, 1e-3, 0.7)]
    ranges = playbook.narrow_ranges(table, direction="max", top_k=2, widen=2.0)
    assert ranges["learning_rate"] == pytest.approx((0.05, 2.0))
    assert ranges["weight_decay"] == pytest.approx((5e-5, 2e-3))


def test_narrow_ranges_with_a_loss_objective_keeps_the_lowest_scores():
    # Regression: `narrow_ranges` sorted every table by descending score,
    # as if higher were always better: with a loss objective (`coarse_search`
    # accepts objective="val_loss") it spanned the *worst* trials.
    table = [row(0.01, 1e-5, 2.2), row(0.1, 1e-4, 0.3), row(1.0, 1e-3, 0.4),
             row(10.0, 1e-3, 9.0), row(0.1, 1e-3, 1.5)]
    ranges = playbook.narrow_ranges(table, direction="min", top_k=2, widen=2.0)
    assert ranges["learning_rate"] == pytest.approx((0.05, 2.0))  # losses 0.3 and 0.4
    assert ranges["weight_decay"] == pytest.approx((5e-5, 2e-3))
    worst_first = playbook.narrow_ranges(table, direction="max", top_k=2, widen=2.0)
    assert worst_first["learning_rate"] == pytest.approx((0.005, 20.0))  # 9.0 and 2.2
    assert playbook.best_trial(table, direction="min")["score"] == 0.3
    assert playbook.best_trial(table, direction="max")["score"] == 9.0


def test_narrow_ranges_needs_the_direction():
    # No silent default: the caller says which scores are better.
    with pytest.raises(TypeError, match="direction"):
        playbook.narrow_ranges([row(0.1, 1e-4, 0.5)])


@pytest.mark.parametrize(
    "kwargs, name",
    [({"table": []}, "table"), ({"table": [row(0.1, 0, 0.5)]}, "table"),
     ({"table": [row(0.1, 1e-4, 0.5)], "top_k": 0}, "top_k"),
     ({"table": [row(0.1, 1e-4, 0.5)], "widen": 0.5}, "widen"),
     ({"table": [row(0.1, 1e-4, 0.5)], "direction": "up"}, "direction"),
     ({"table": [row(0.1, 1e-4, 0.5)], "direction": None}, "direction")],
)
def test_narrow_ranges_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.narrow_ranges(**{"direction": "max", **kwargs})


def test_best_trial_bad_arguments():
    with pytest.raises(ValueError, match="`direction`"):
        playbook.best_trial([row(0.1, 1e-4, 0.5)], direction="maximize")
    with pytest.raises(ValueError, match="`table`.*none completed"):
        playbook.best_trial([row(0.1, 1e-4, None, status="RUNNING")], direction="max")


def test_coarse_then_refine_search_and_resume(digits, tmp_path):
    train, val, info = digits
    coarse = playbook.coarse_search(mlp(info), train, val, learning_rate=0.05,
                                    directory=str(tmp_path), grid_points=2, epochs=1,
                                    weight_decay=(1e-5, 1e-3))
    lrs = sorted({r["hyperparameters"]["learning_rate"] for r in coarse.table})
    assert lrs == pytest.approx([0.005, 0.5])
    assert len(coarse.table) == 4 and all(r["status"] == "COMPLETED" for r in coarse.table)
    assert coarse.best_score == max(r["score"] for r in coarse.table)
    assert (tmp_path / "coarse" / "trials.csv").exists()
    # Rerun in the same directory: the finished grid is reused, nothing retrains.
    again = playbook.coarse_search(mlp(info), train, val, learning_rate=0.05,
                                   directory=str(tmp_path), grid_points=2, epochs=1,
                                   weight_decay=(1e-5, 1e-3))
    assert [r["trial_id"] for r in again.table] == [r["trial_id"] for r in coarse.table]
    assert [r["seconds"] for r in again.table] == [r["seconds"] for r in coarse.table]
    assert (coarse.objective, coarse.direction) == ("val_accuracy", "max")
    assert coarse.to_dict()["direction"] == "max"
    ranges = playbook.narrow_ranges(coarse.table, direction=coarse.direction, top_k=2)
    refine = playbook.refine_search(mlp(info), train, val, directory=str(tmp_path),
                                    max_trials=2, epochs=2, warmup_epochs=1, **ranges)
    assert len(refine.table) == 2
    for r in refine.table:
        lo, hi = ranges["learning_rate"]
        assert lo <= r["hyperparameters"]["learning_rate"] <= hi
        assert r["epochs"] == 2 and len(r["history"]["val_accuracy"]) == 2
        # One epoch of warmup: the learning rate reaches the trial's value at
        # the end of epoch 1 and stays there.
        lr = r["hyperparameters"]["learning_rate"]
        assert r["history"]["learning_rate"] == pytest.approx([lr, lr], rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"learning_rate": 0}, "learning_rate"), ({"span": 1.0}, "span"),
     ({"weight_decay": (1e-3, 1e-5)}, "weight_decay"), ({"epochs": 0}, "epochs"),
     ({"epochs": 2, "warmup_epochs": 2}, "warmup_epochs"),
     ({"warmup_epochs": -0.5}, "warmup_epochs")],
)
def test_coarse_search_bad_arguments(digits, tmp_path, kwargs, name):
    train, val, info = digits
    args = {"learning_rate": 0.05, "directory": str(tmp_path), **kwargs}
    with pytest.raises(ValueError, match=f"`{name}`"):
        playbook.coarse_search(mlp(info), train, val, **args)


def test_warmup_needs_a_dataset_of_known_length(digits, tmp_path):
    train, val, info = digits
    with pytest.raises(ValueError, match="Argument `train` must be a finite dataset"):
        playbook.coarse_search(mlp(info), train.repeat(), val, learning_rate=0.05,
                               directory=str(tmp_path), epochs=2, warmup_epochs=1)
    with pytest.raises(ValueError, match="Argument `train` must be a finite dataset"):
        playbook.train_final(mlp(info), train.repeat(), val, learning_rate=0.05, epochs=2)
    assert not list(tmp_path.iterdir())  # failed before any trial


def test_coarse_search_with_a_loss_objective_reports_min_and_narrows_around_the_lowest(
        digits, tmp_path):
    # Regression (narrow_ranges kept the worst trials of a loss objective):
    # the search records the objective's direction, and the ranges built
    # from it span the trials with the lowest validation loss.
    train, val, info = digits
    coarse = playbook.coarse_search(mlp(info), train, val, learning_rate=0.05,
                                    directory=str(tmp_path), grid_points=2, epochs=1,
                                    objective="val_loss")
    assert (coarse.objective, coarse.direction) == ("val_loss", "min")
    scores = sorted(r["score"] for r in coarse.table)
    assert coarse.best_score == pytest.approx(scores[0])
    assert scores[0] < scores[-1]
    ranges = playbook.narrow_ranges(coarse.table, direction=coarse.direction, top_k=1,
                                    widen=1.0)
    best = playbook.best_trial(coarse.table, direction=coarse.direction)
    assert best["score"] == pytest.approx(scores[0])
    lr = best["hyperparameters"]["learning_rate"]
    assert ranges["learning_rate"] == pytest.approx((lr, lr))


# Step 6 ---------------------------------------------------------------------


def test_diagnose_curves_reads_stored_histories_with_none_as_nan():
    # A history read back from JSON holds None where a value was not finite.
    healthy = {"loss": [2.0, 1.0, 0.5, 0.3, 0.2, 0.15], "val_loss": [2.0, 1.1, 0.6, 0.4, 0.3, 0.28],
               "accuracy": [0.3, 0.6, 0.8, 0.9, 0.95, 0.97],
               "val_accuracy": [0.3, 0.58, 0.78, 0.88, 0.92, 0.93]}
    assert [f.code for f in playbook.diagnose_curves(healthy)] != ["diverged"]
    broken = {**healthy, "loss": [2.0, 1.0, None, None, None, None]}
    assert "diverged" in [f.code for f in playbook.diagnose_curves(broken)]
    with pytest.raises(ValueError, match="`history`"):
        playbook.diagnose_curves([1.0, 2.0])


# Step 7: the best epoch ------------------------------------------------------


def test_train_final_best_epoch_is_the_stoppers_for_a_monitor_whose_name_hides_its_direction(
        digits):
    # Regression: `train_final` chose the best epoch by whether "loss" is in
    # the monitor's name (argmin) or not (argmax). A cross-entropy metric
    # named "crossentropy" falls, so EarlyStopping (mode "auto" asks the
    # metric) keeps its lowest epoch, while the name rule took the highest:
    # the reported epoch was not the one whose weights the model holds.
    train, val, info = digits
    xent = keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")
    result = playbook.train_final(mlp(info), train, val, learning_rate=3e-3, epochs=5,
                                  patience=5, monitor="val_crossentropy",
                                  metrics=["accuracy", xent])
    values = result.history["val_crossentropy"]
    assert int(np.argmin(values)) != int(np.argmax(values))  # the two rules disagree
    assert result.best_epoch == int(np.argmin(values)) + 1
    assert result.monitor == "val_crossentropy"
    assert result.best_value == pytest.approx(min(values), rel=1e-6)
    metrics = result.model.evaluate(val, verbose=0, return_dict=True)
    assert metrics["crossentropy"] == pytest.approx(min(values), rel=1e-4)  # weights restored


def test_train_final_follows_an_explicit_mode(digits):
    # mode="max" on a falling quantity: the stopper keeps the first epoch,
    # and so does the result.
    train, val, info = digits
    result = playbook.train_final(mlp(info), train, val, learning_rate=3e-3, epochs=3,
                                  patience=3, monitor="val_loss", mode="max")
    values = result.history["val_loss"]
    assert result.best_epoch == int(np.argmax(values)) + 1


def test_train_final_bad_monitor_and_mode(digits):
    train, val, info = digits
    with pytest.raises(ValueError, match="Argument `mode`"):
        playbook.train_final(mlp(info), train, val, learning_rate=3e-3, epochs=1, mode="up")
    with pytest.raises(ValueError, match="Argument `monitor` must name a quantity"):
        playbook.train_final(mlp(info), train, val, learning_rate=3e-3, epochs=1,
                             monitor="val_top5", mode="max")


# The recipe, run as a user would ---------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "tuning_playbook.py")
# Shorter than --quick's own budgets: this test runs the recipe three times.
SMALL = ["--quick", "--lr-steps", "60", "--overfit-epochs", "30", "--refine-trials", "1",
         "--baseline-epochs", "2", "--epochs", "1", "--warmup-epochs", "0",
         "--coarse-epochs", "1", "--refine-epochs", "1"]


def run_recipe(*argv, check=True):
    proc = subprocess.run([sys.executable, RECIPE, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_recipe_resumes_every_step_and_redoes_from_step_4_when_coarse_epochs_change(tmp_path):
    out = tmp_path / "run"
    first = run_recipe(*SMALL, "--out", str(out))
    results = json.loads((out / "results.json").read_text())
    assert results["steps_reused"] == 0 and results["steps_run"] >= 8
    for name in ("report.md", "report.html", "step3_lr_range_test.png", "step4_coarse.png",
                 "step5_refine.png", "model.keras", "learning_curves.png"):
        assert (out / name).exists(), name
    report_text = (out / "report.md").read_text()
    for section in ("## 1. Initial loss", "## 4. Coarse grid", "## 7. Final fit", "## Claims"):
        assert section in report_text
    assert "<table>" in (out / "report.html").read_text()
    assert "step 1:" in first.stdout and "step 7:" in first.stdout
    steps = {p.name for p in (out / "steps").iterdir()}
    assert {"step1_initial_loss.json", "step4_coarse.json", "step7_final"} <= steps
    work = {p.name for p in (out / "work").iterdir()}
    assert len([w for w in work if w.startswith("step4_coarse-")]) == 1

    # The same flags: every step is reused, nothing trains.
    run_recipe(*SMALL, "--out", str(out))
    again = json.loads((out / "results.json").read_text())
    assert again["steps_run"] == 0 and again["steps_reused"] == results["steps_run"]
    assert again["metrics"] == results["metrics"]

    # Another --coarse-epochs: steps 1-3 are kept, the coarse grid runs in a
    # fresh tuner folder (the old one is left alone, never resumed).
    early = {n: (out / "steps" / f"{n}.json").read_text()
             for n in ("step1_initial_loss", "step2_overfit", "step3_lr_range_test")}
    third = run_recipe(*SMALL, "--coarse-epochs", "2", "--out", str(out))
    assert "step step4_coarse: inputs changed since it ran (epochs: 1 -> 2)" in third.stdout
    for n, text in early.items():
        assert (out / "steps" / f"{n}.json").read_text() == text, n
    now = {p.name for p in (out / "work").iterdir()}
    assert work < now and len([w for w in now if w.startswith("step4_coarse-")]) == 2
    coarse = json.loads((out / "steps" / "step4_coarse.json").read_text())["result"]
    assert {r["epochs"] for r in coarse["table"]} == {2}


@pytest.mark.parametrize("flags, name", [
    (["--quick", "--grid-points", "1"], "--grid-points"),
    (["--quick", "--warmup-epochs", "-1"], "--warmup-epochs"),
    # The 1-epoch default warmup must be shorter than every training run.
    (["--coarse-epochs", "1"], "--warmup-epochs"),
    (["--quick", "--baseline", "no/such/results.json"], "--baseline"),
])
def test_recipe_bad_flags_are_one_line_and_write_nothing(tmp_path, flags, name):
    out = tmp_path / "run"
    proc = run_recipe(*flags, "--out", str(out), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: Argument `{name}`")
    assert "Traceback" not in proc.stderr
    assert not out.exists()
