"""The benchmark scaffold: runs, writes JSON and a table, computes the ratio."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import run as bench  # noqa: E402


def test_pipeline_benchmark_quick_writes_json_and_table(tmp_path):
    report = bench.main(["--only", "pipeline", "--quick", "--repeats", "1", "--out", str(tmp_path)])
    (row,) = report["benchmarks"]
    assert row["name"] == "pipeline"
    assert row["value"] > 0 and row["baseline"] > 0
    assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=0.01)
    assert row["holds"] == (row["ratio"] >= 10)
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["benchmarks"] == report["benchmarks"] and saved["machine"] and saved["date"]
    table = (tmp_path / "bench.md").read_text()
    assert table.startswith("| benchmark |") and "| pipeline |" in table


def test_schedule_overhead_benchmark_quick_row_is_a_consistent_ratio(tmp_path):
    report = bench.main(
        ["--only", "schedule_overhead", "--quick", "--repeats", "1", "--out", str(tmp_path)]
    )
    (row,) = report["benchmarks"]
    assert row["name"] == "schedule_overhead" and row["unit"] == "CPU ms/step"
    assert row["value"] > 0 and row["baseline"] > 0
    assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=0.01)
    assert row["goal"] == "<= 1.03x"
    assert row["holds"] == (row["ratio"] <= 1.03)
    # Same model, same batches: whatever the load on the machine, the two
    # variants cannot differ by a factor of 2 unless one does extra work.
    assert 0.5 < row["ratio"] < 2.0
    table = (tmp_path / "bench.md").read_text()
    assert "| schedule_overhead |" in table and "CPU ms/step" in table
    assert row["wall_value"] > 0 and row["wall_baseline"] > 0


def test_bench_rejects_unknown_benchmark_and_bad_repeats(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--only", "nope", "--out", str(tmp_path)])
    assert "unknown benchmark" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0", "--out", str(tmp_path)])
    assert "--repeats" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
