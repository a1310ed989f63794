"""Every recipe in its quick mode, run as a user would: a fresh process."""

import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = sorted(glob.glob(os.path.join(ROOT, "recipes", "*.py")))
PROMISED = {"config.json", "history.json", "results.json", "learning_curves.png", "model.keras"}


def run_recipe(name, *argv, check=True):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"), *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_every_recipe_has_a_make_target_and_header():
    assert RECIPES, "no recipes found"
    for path in RECIPES:
        with open(path) as f:
            text = f.read()
        for field in ("Title:", "Description:", "Lecture section:", "Run: make recipe-"):
            assert field in text, f"{path} lacks {field!r}"
        description = next(l for l in text.splitlines() if l.startswith("Description:"))
        assert len(description) - len("Description: ") < 100
        target = text.split("Run: make ")[1].split()[0]
        dry_run = subprocess.run(
            ["make", "-n", target, "ARGS=--quick"], cwd=ROOT, capture_output=True, text=True
        )
        assert dry_run.returncode == 0, f"no Makefile target {target} for {path}"
        assert f"recipes/{os.path.basename(path)} --quick" in dry_run.stdout
        assert "from recipes" not in text and "import recipes" not in text


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: os.path.basename(p)[:-3])
def test_smoke_every_recipe_quick_writes_its_run_folder(path, tmp_path):
    name = os.path.basename(path)[:-3]
    out = tmp_path / "run"
    proc = run_recipe(name, "--quick", "--out", str(out))
    assert PROMISED <= set(os.listdir(out))
    results = json.loads((out / "results.json").read_text())
    assert results["quick"] is True and results["metrics"] and results["claims"]
    assert "== " in proc.stdout and "results ==" in proc.stdout  # the printed table


def test_quick_baseline_beats_chance_by_a_clear_margin(tmp_path):
    # `shapes` needs its full training set to generalize (see render.py), so
    # the learning check of the quick mode runs on the real digits.
    out = tmp_path / "run"
    run_recipe("baseline", "--quick", "--dataset", "digits", "--out", str(out))
    results = json.loads((out / "results.json").read_text())
    metrics = results["metrics"]
    assert metrics["chance"] == pytest.approx(0.1)
    assert metrics["test_accuracy"] >= 0.5, metrics  # chance is 0.1
    assert all(c["holds"] for c in results["claims"])
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 2 and config["dataset_info"]["split_sizes"]["train"] == 1078


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "-1"], "--batch-size"),
        (["--dataset", "no_such_dataset_xyz"], "Embedded datasets"),
        (["--dataset", "folder:/no/such/folder"], "not a directory"),
        (["--quick", "--dataset", "digits", "--train-size", "0"], "--train-size"),
    ],
)
def test_bad_input_is_one_clear_line_and_loses_nothing(tmp_path, argv, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "earlier.json").write_text('{"keep": true}')
    proc = run_recipe("baseline", *argv, "--out", str(out), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert os.listdir(out) == ["earlier.json"]
    assert (out / "earlier.json").read_text() == '{"keep": true}'
