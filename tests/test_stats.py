"""mean ± sd over seeds, and the rule a comparison must pass to hold."""

import pytest

from kerasrec import runs, stats


def test_mean_sd_and_format():
    summary = stats.mean_sd([0.70, 0.72, 0.74])
    assert summary["mean"] == pytest.approx(0.72) and summary["sd"] == pytest.approx(0.02)
    assert summary["values"] == [0.70, 0.72, 0.74] and summary["n"] == 3
    assert stats.format_mean_sd([0.70, 0.72, 0.74]) == "72.0 ± 2.0% (70.0, 72.0, 74.0)"
    assert stats.format_mean_sd([0.5]) == "50.0% (1 seed)"
    assert stats.mean_sd([1.0, None])["mean"] is None
    with pytest.raises(stats.ArgumentError, match="`values`"):
        stats.mean_sd([])


@pytest.mark.parametrize(
    "a, b, holds",
    [
        ([0.80, 0.82, 0.84], [0.70, 0.72, 0.74], True),  # 10 points apart, spread 4
        ([0.74, 0.78, 0.82], [0.70, 0.72, 0.74], False),  # 6 apart, spread 6: not beyond it
        ([0.70, 0.72, 0.74], [0.80, 0.82, 0.84], False),  # worse
        ([0.90], [0.10], False),  # one seed: no spread, a smoke test
    ],
)
def test_compare_holds_only_beyond_the_spread(a, b, holds):
    comparison = stats.compare(a, b, names=("tuned", "baseline"))
    assert comparison.holds is holds
    assert comparison.evidence.startswith("tuned ")


def test_runs_reexports_the_rule():
    assert runs.compare is stats.compare and runs.mean_sd is stats.mean_sd


def test_compare_lower_is_better_for_a_loss():
    assert stats.compare([0.1, 0.11, 0.12], [0.3, 0.31, 0.32], higher_is_better=False).holds
