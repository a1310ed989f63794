"""recipes/tuning_playbook.py: the whole procedure, its report, and its resume."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "tuning_playbook.py")
STEPS = ["step0_baseline.json", "step1_initial_loss.json", "step2_overfit.json",
         "step3_lr_range_test.json", "step4_coarse.json", "step5_refine.json",
         "step6_diagnosis.json", "step7_final.json"]


def run(*argv):
    proc = subprocess.run([sys.executable, RECIPE, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_quick_playbook_reports_every_step_and_a_rerun_skips_them_all(tmp_path):
    out = tmp_path / "run"
    argv = ["--quick", "--dataset", "digits", "--out", str(out)]
    first = run(*argv)
    files = set(os.listdir(out))
    assert set(STEPS) <= files
    assert {"report.md", "report.html", "step3_lr_range_test.png", "step4_coarse.png",
            "step5_refine.png", "coarse", "refine"} <= files
    for step in (0, 1, 2, 3, 4, 5, 7):
        assert f"step {step}:" in first.stdout
    assert "step 6 (final):" in first.stdout
    report = (out / "report.md").read_text()
    for section in ("## 1. Initial loss", "## 2. Overfit", "## 3. LR range test",
                    "## 4. Coarse grid", "## 5. Refine", "## 6. Learning curves",
                    "## 7. Final fit", "## Claims"):
        assert section in report
    assert "<table>" in (out / "report.html").read_text()
    results = json.loads((out / "results.json").read_text())
    metrics = results["metrics"]
    assert metrics["coarse_trials"] == 4 and metrics["refine_trials"] == 2
    # The initial loss of the untrained model is about ln(10) on digits.
    assert abs(metrics["initial_loss"] - metrics["ln_classes"]) < 0.25 * metrics["ln_classes"]
    trials = json.loads((out / "coarse" / "trials.json").read_text())["trials"]
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)

    # A rerun with the same --out reuses every step: no training at all.
    before = {name: (out / name).read_text() for name in STEPS}
    second = run(*argv)
    for step in (0, 1, 2, 3, 4, 5, 7):
        assert f"step {step}: reusing" in second.stdout, second.stdout
    assert {name: (out / name).read_text() for name in STEPS if name != STEPS[6]} == {
        name: text for name, text in before.items() if name != STEPS[6]}
    again = json.loads((out / "results.json").read_text())["metrics"]
    assert again == metrics

    # Other flags: every step is redone, and the searches start afresh
    # instead of resuming the trials made with the old settings.
    third = run(*argv, "--warmup-epochs", "0")
    assert "reusing" not in third.stdout, third.stdout
    assert "coarse/ holds trials made with other settings: starting it afresh" in third.stdout
    assert "refine/ holds trials made with other settings: starting it afresh" in third.stdout
    trials = json.loads((out / "coarse" / "trials.json").read_text())["trials"]
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)
    assert "no warmup" in (out / "report.md").read_text()


@pytest.mark.parametrize("flags, name", [
    (["--quick", "--grid-points", "1"], "--grid-points"),
    (["--quick", "--warmup-epochs", "-1"], "--warmup-epochs"),
    # The 1-epoch default warmup must be shorter than every training run.
    (["--coarse-epochs", "1"], "--warmup-epochs"),
])
def test_bad_flags_are_one_line_and_write_nothing(tmp_path, flags, name):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, RECIPE, *flags, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: Argument `{name}`")
    assert not out.exists()
