"""tools/results.py: RESULTS.md is written from results.json files, never typed."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import results  # noqa: E402


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "ROOT", str(tmp_path))
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "demo.py").write_text(
        '"""\nTitle: Demo\nLecture section: 1. Demo\nRun: make recipe-demo\n"""\n'
    )
    monkeypatch.setattr(results, "ENTRIES", {
        "fresh": ("recipes/demo.py", ["--seeds", "3"]),
        "old": ("recipes/demo.py", []),
        "never": ("recipes/demo.py", []),
    })
    (tmp_path / "README.md").write_text(
        "<!-- results:begin -->\n| old row | s | t | old headline |\n<!-- results:end -->\n"
    )
    (tmp_path / "RESULTS.md").write_text(
        "# kerasrec results\n\n## old: Demo\n\n- Machine: m\n\n**old headline**\n\n| a | b |\n"
    )
    kept = tmp_path / results.KEPT
    kept.mkdir(parents=True)
    (kept / "fresh.json").write_text(json.dumps({
        "machine": "here", "finished": "2026-12-01T20:00:00", "seconds": 12.0,
        "seeds": [0, 1, 2], "headline": "new headline", "metrics": {"acc": [0.5, 0.25]},
        "claims": [{"claim": "c", "holds": False, "evidence": "e"}],
    }))
    return tmp_path


def test_render_keeps_entries_it_has_no_results_for(tree):
    text, rows = results.render_results()
    assert "**new headline**" in text and "- Seeds: 0, 1, 2" in text
    assert "| acc | 0.5, 0.25 |" in text and "| c | **no** | e |" in text
    # Regression: ONLY=<entry> on a fresh clone wiped every other entry.
    assert "**old headline**" in text and results.KEPT_NOTE in text
    assert text.count(results.KEPT_NOTE) == 1
    assert "Not run yet: `make results ONLY=never`." in text
    assert rows[0].endswith("| new headline |") and rows[1] == "| old row | s | t | old headline |"
    # Writing it again does not stack the note.
    (tree / "RESULTS.md").write_text(text)
    assert results.render_results()[0].count(results.KEPT_NOTE) == 1


def test_row_column_metrics_become_one_table_with_their_sds():
    metrics = {
        "single model/accuracy": 0.9, "single model/accuracy_sd": 0.01,
        "single model/accuracy_per_seed": [0.89, 0.91],
        "final snapshot/accuracy": 0.8, "final snapshot/nll": 0.5,
        "independent ensemble/accuracy": 0.95, "cycles": 3,
    }
    table, flat = results.grouped_tables(metrics)
    assert table == [
        "| | accuracy | nll |",
        "|---|---|---|",
        "| single model | 0.9 ± 0.01 |  |",
        "| final snapshot | 0.8 | 0.5 |",
        "| independent ensemble | 0.95 |  |",
    ]
    assert flat == {"single model/accuracy_per_seed": [0.89, 0.91], "cycles": 3}
    assert results.grouped_tables({"a/b": 1.0, "c": 2}) == ([], {"a/b": 1.0, "c": 2})
