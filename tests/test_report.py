"""kerasrec.report: the playbook's report.md / report.html and its metrics."""

import json

import pytest

from kerasrec import report


def trial(trial_id, lr, wd, score, status="COMPLETED", seconds=12.3):
    return {"trial_id": trial_id, "status": status, "score": score, "epochs": 3,
            "seconds": seconds, "hyperparameters": {"learning_rate": lr, "weight_decay": wd},
            "history": {"loss": [2.0, 1.0, 0.5]}}


FINDING = {"code": "healthy", "evidence": "train 0.98, val 0.96", "advice": "none", "data": {}}


def results(final_seeds=(0.95, 0.96, 0.97), baseline_seeds=(0.90, 0.91, 0.89)):
    coarse_table = [trial("0000", 0.0242, 1e-5, 0.3), trial("0001", 0.242, 1e-4, 0.69),
                    trial("0002", 2.42, 1e-3, None, status="RUNNING", seconds=None)]
    return {
        "initial_loss": {"loss": 2.634, "expected": 2.303, "ok": True,
                         "message": "initial loss 2.634 is close to ln(10) = 2.303"},
        "overfit": {"reached": True, "epochs": 43, "accuracy": 0.992,
                    "message": "memorized 640 examples (5 batches)"},
        "lr_range_test": {"suggested_learning_rate": 0.242, "method": "valley",
                          "losses": [2.3] * 600, "learning_rates": [1e-3, 10.0],
                          "stopped_early": False},
        "coarse": {"best_hyperparameters": {"learning_rate": 0.242, "weight_decay": 1e-4},
                   "best_score": 0.69, "table": coarse_table, "objective": "val_accuracy",
                   "direction": "max"},
        "ranges": {"learning_rate": (0.121, 4.84), "weight_decay": (5e-6, 2e-3)},
        "refine": {"best_hyperparameters": {"learning_rate": 0.279, "weight_decay": 1.18e-5},
                   "best_score": 0.95, "table": [trial("0000", 0.279, 1.18e-5, 0.95)],
                   "objective": "val_accuracy", "direction": "max"},
        "diagnosis": [{**FINDING, "code": "train_longer"}],
        "final": [{"test_accuracy": a, "epochs": 5, "best_epoch": 5, "findings": [FINDING]}
                  for a in final_seeds],
        "baseline": {"test_accuracy": list(baseline_seeds), "epochs": 10,
                     "source": "trained here"},
    }


SETTINGS = {"dataset": "shapes", "optimizer": "sgd", "batch_size": 128, "train_examples": 20000,
            "coarse_examples": 20000, "coarse_epochs": 3, "refine_examples": 20000,
            "refine_epochs": 4, "warmup_epochs": 1.0, "epochs": 5, "patience": 3}


def test_playbook_report_has_every_step_the_seeds_and_the_claims():
    claims = [{"claim": "step 7: tuned beats baseline", "holds": True, "evidence": "96 vs 90"}]
    text = report.playbook_report(results(), settings=SETTINGS, claims=claims)
    for section in ("# Tuning playbook: shapes", "## 1. Initial loss", "## 2. Overfit",
                    "## 3. LR range test", "## 4. Coarse grid", "## 5. Refine",
                    "## 6. Learning curves", "## 7. Final fit", "## Claims"):
        assert section in text, section
    assert "Suggested learning rate **0.242**" in text
    assert "learning_rate 0.121 to 4.84" in text
    # Over seeds: mean ± sd and each seed.
    assert "**96.0 ± 1.0% (95.0, 96.0, 97.0)**" in text
    assert "90.0 ± 1.0% (90.0, 91.0, 89.0) after 10 epochs" in text
    assert "- [holds] step 7: tuned beats baseline: 96 vs 90" in text
    assert "**train_longer**" in text and "**healthy**" in text
    assert "a linear warmup over 1 epoch," in text
    assert "decoupled weight decay" in text
    assert "![coarse grid](step4_coarse.png)" in text
    assert "--quick" not in text
    assert "--quick" in report.playbook_report(results(), settings=SETTINGS, quick=True)


def test_playbook_report_one_seed_and_no_warmup():
    text = report.playbook_report(results(final_seeds=(0.9,), baseline_seeds=(0.8,)),
                                  settings={**SETTINGS, "warmup_epochs": 0})
    assert "over 1 seed: test accuracy **90.0% (1 seed)**" in text
    assert "no warmup" in text


def test_trials_markdown_rows_and_missing_values():
    table = results()["coarse"]["table"]
    lines = report.trials_markdown(table, objective="val_loss").splitlines()
    assert lines[0] == "| trial | learning_rate | weight_decay | val_loss | epochs | seconds |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert lines[3] == "| 0001 | 0.242 | 0.0001 | 0.6900 | 3 | 12 |"
    assert lines[4] == "| 0002 | 2.42 | 0.001 | - | 3 | - |"  # still running
    with pytest.raises(ValueError, match="`table`"):
        report.trials_markdown({"trials": table})


def test_playbook_metrics_are_flat_and_per_seed():
    metrics = report.playbook_metrics(results())
    assert metrics["final_test_accuracy"] == pytest.approx(0.96)
    assert metrics["final_test_accuracy_sd"] == pytest.approx(0.01)
    assert metrics["final_test_accuracy_per_seed"] == [0.95, 0.96, 0.97]
    assert metrics["baseline_test_accuracy"] == pytest.approx(0.90)
    assert metrics["baseline_epochs"] == 10 and metrics["final_epochs"] == 5
    assert metrics["coarse_best_learning_rate"] == 0.242
    assert metrics["coarse_best_val_accuracy"] == 0.69
    assert metrics["chosen_weight_decay"] == 1.18e-5
    assert metrics["diagnosis_refine"] == "train_longer"
    assert metrics["diagnosis_final"] == "healthy"
    json.dumps(metrics, allow_nan=False)


@pytest.mark.parametrize(
    "call, name",
    [(lambda: report.playbook_report({}, settings=SETTINGS), "results"),
     (lambda: report.playbook_report(results(), settings={"dataset": "x"}), "settings"),
     (lambda: report.playbook_report({**results(), "final": []}, settings=SETTINGS), "results"),
     (lambda: report.playbook_metrics({"coarse": {}}), "results"),
     (lambda: report.format_hyperparameters([0.1]), "values"),
     (lambda: report.markdown_to_html(None), "text")],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Argument `{name}`"):
        call()


def test_markdown_to_html_renders_tables_and_escapes_the_title():
    page = report.markdown_to_html("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", title="a<b")
    assert page.startswith("<!doctype html>") and "<title>a&lt;b</title>" in page
    assert "<table>" in page and "<td>1</td>" in page


def test_format_hyperparameters():
    assert report.format_hyperparameters({"learning_rate": 0.27867, "weight_decay": 0,
                                          "optimizer": "sgd"}) == (
        "learning_rate=0.279, weight_decay=0, optimizer=sgd")


def test_read_baseline_per_seed_one_seed_and_bad_files(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"metrics": {"test_accuracy": 0.87, "epochs": 10,
                                            "test_accuracy_per_seed": [0.86, 0.88]}}))
    assert report.read_baseline(str(path)) == {"test_accuracy": [0.86, 0.88], "epochs": 10,
                                               "source": str(path)}
    path.write_text(json.dumps({"metrics": {"test_accuracy": 0.87, "epochs": 10}}))
    assert report.read_baseline(str(path))["test_accuracy"] == [0.87]
    for text in ('{"metrics": {"epochs": 10}}', "not json", "[1, 2]"):
        path.write_text(text)
        with pytest.raises(ValueError, match="Argument `--baseline` must be the results.json"):
            report.read_baseline(str(path), argument="--baseline")
    with pytest.raises(ValueError, match="Argument `path`.*Received: path='no/such'"):
        report.read_baseline("no/such")
