"""recipes/lr_schedules.py in its quick mode: what it writes, checked against
the schedules it says it used."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import keras
import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import schedules  # noqa: F401  (registers the schedules for deserialization)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "lr_schedules.py")
PLOTS = ("lr_sweep.png", "compare_sgd.png", "compare_adam.png",
         "schedules_sgd.png", "schedules_adam.png", "learning_curves.png")


def run_recipe(*argv):
    return subprocess.run([sys.executable, RECIPE, *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lr_schedules") / "run"
    proc = run_recipe("--quick", "--out", str(out))
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"

    def load(name):
        return json.loads((out / name).read_text())

    return {"out": out, "proc": proc, "load": load, "config": load("config.json"),
            "results": load("results.json")}


def schedules_run(config):
    return {"sgd": config["schedules"], "adam": config["adam_schedules"]}


def test_every_schedule_of_both_optimizers_has_its_accuracies(quick_run):
    config, metrics = quick_run["config"], quick_run["results"]["metrics"]
    for opt, names in schedules_run(config).items():
        assert "constant" in names and any(n.endswith("_warmup") for n in names)
        tests = {}
        for name in names:
            for split in ("val", "test"):
                value = metrics[f"{opt}/{name}/{split}_accuracy"]
                assert isinstance(value, float) and 0.0 <= value <= 1.0, (opt, name, value)
            tests[name] = metrics[f"{opt}/{name}/test_accuracy"]
        best = max(tests.values())
        assert metrics[f"{opt}/best_schedule"] in names
        assert tests[metrics[f"{opt}/best_schedule"]] == best
        assert metrics[f"{opt}/best_minus_constant"] == pytest.approx(best - tests["constant"])
        assert metrics[f"{opt}/spread"] == pytest.approx(best - min(tests.values()))


def test_logged_learning_rate_is_the_schedule_at_each_epoch_end(quick_run):
    config, load = quick_run["config"], quick_run["load"]
    steps_per_epoch, epochs = config["steps_per_epoch"], config["epochs"]
    warmup_steps, total_steps = config["warmup_steps"], config["total_steps"]
    assert total_steps == steps_per_epoch * epochs
    used = load("schedules.json")
    peaks = {"sgd": config["learning_rate"], "adam": config["adam_learning_rate"]}
    for opt, names in schedules_run(config).items():
        for name in names:
            schedule = keras.saving.deserialize_keras_object(used[f"{opt}/{name}"])
            history = load(f"history_{opt}_{name}.json")
            assert len(history["learning_rate"]) == epochs
            # LearningRateLogger logs the LR of the next step: schedule(iterations).
            expected = [float(schedule(steps_per_epoch * (e + 1))) for e in range(epochs)]
            np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-5)
            assert float(schedule(0)) == pytest.approx(0.0 if "warmup" in name else peaks[opt])
            if name.endswith("_warmup"):  # linear from 0 to the peak
                half = warmup_steps // 2
                assert float(schedule(half)) == pytest.approx(peaks[opt] * half / warmup_steps)
                assert float(schedule(warmup_steps)) == pytest.approx(peaks[opt])
            if name.startswith("step"):  # x0.1 at 30%, 60% and 90% of the decay
                lrs = history["learning_rate"]
                assert lrs[-1] < lrs[0] and lrs[-1] == pytest.approx(peaks[opt] * 1e-3)
            if name == "constant":
                assert history["learning_rate"] == pytest.approx([peaks[opt]] * epochs)


def test_sweep_records_every_batch_loss_for_each_learning_rate(quick_run):
    config, metrics = quick_run["config"], quick_run["results"]["metrics"]
    sweep = quick_run["load"]("sweep.json")
    lrs = config["sweep_learning_rates"]
    assert len(lrs) >= 2 and set(sweep["batch_loss"]) == {f"{lr:g}" for lr in lrs}
    for lr in lrs:
        losses = [float(v) for v in sweep["batch_loss"][f"{lr:g}"]]  # "nan" after divergence
        assert len(losses) == config["sweep_steps"]
        # Before any update the loss of a 10-class softmax is about ln(10).
        assert abs(losses[0] - math.log(10)) < 1.0, losses[0]
        assert metrics[f"sweep/lr={lr:g}/verdict"] in ("explodes", "high", "good", "low")
        finite = [v for v in losses if math.isfinite(v)]
        assert metrics[f"sweep/lr={lr:g}/peak_loss"] in (max(finite), "nan", "inf")


def test_plots_are_pngs_and_claims_are_reported(quick_run):
    out, results = quick_run["out"], quick_run["results"]
    for name in PLOTS:
        assert matplotlib.image.imread(str(out / name)).ndim == 3, name
    assert results["quick"] is True and (out / "model.keras").exists()
    claims = {c["claim"]: c for c in results["claims"]}
    assert any("Adam" in c for c in claims) and any("explode" in c for c in claims)
    assert all(isinstance(c["holds"], bool) and c["evidence"] for c in claims.values())
    stdout = quick_run["proc"].stdout
    assert "schedule" in stdout and "SGD test" in stdout  # the comparison table
    assert "lr-schedules: results ==" in stdout


def test_rerun_in_the_same_folder_reuses_finished_runs(quick_run):
    out, config = quick_run["out"], quick_run["config"]
    proc = run_recipe("--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "sweep: reusing sweep.json" in proc.stdout
    for opt, names in schedules_run(config).items():
        for name in names:
            assert f"{opt}/{name}: reusing history_{opt}_{name}.json" in proc.stdout
    again = json.loads((out / "results.json").read_text())["metrics"]
    assert again == quick_run["results"]["metrics"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--adam-schedules", "cosine", "step"], "must include 'constant'"),
        (["--warmup-epochs", "3"], "--warmup-epochs"),  # --quick caps --epochs at 2
    ],
)
def test_bad_flags_are_one_clear_line_and_write_nothing(tmp_path, argv, message):
    out = tmp_path / "run"
    proc = run_recipe("--quick", *argv, "--out", str(out))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def _recipe_module():
    spec = importlib.util.spec_from_file_location("lr_schedules_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the pieces; main() runs only as a script
    return module


