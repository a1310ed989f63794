"""kerasrec.lr_sweep: naming a sweep's loss curves, and judging it by its last batches."""

import math

import pytest

from kerasrec import lr_sweep


def curve(first, end, n=50, early=None, spike=None):
    """A falling loss curve from `first` to `end` (reached by 20% if `early`)."""
    out = []
    for i in range(n):
        if early is not None and i >= n // 5:
            out.append(end + (early - end) * (n - i) / n)
        else:
            out.append(first + (end - first) * i / (n - 1))
    if spike is not None:
        out[n // 10] = spike
    return out


def test_judge_sweep_names_the_lectures_four_curves():
    losses = {
        10.0: curve(2.6, 2.5, spike=15.0),  # BatchNorm: spikes, then hovers near chance
        1.0: curve(2.6, 1.0, early=1.05),  # most of the drop done early, ends higher
        0.1: curve(2.6, 0.4),
        0.01: curve(2.6, 1.8),
    }
    verdicts = lr_sweep.judge_sweep(losses)
    assert {lr: v["verdict"] for lr, v in verdicts.items()} == {
        10.0: "explodes", 1.0: "high", 0.1: "good", 0.01: "low",
    }
    assert verdicts[10.0]["peak"] == 15.0 and verdicts[10.0]["first_non_finite"] is None
    assert verdicts[0.1]["end"] == pytest.approx(sum(losses[0.1][-5:]) / 5)
    assert verdicts[1.0]["early_share"] > verdicts[0.1]["early_share"]
    claims = lr_sweep.sweep_claims(verdicts)
    assert len(claims) == 3 and all(holds for _, holds, _ in claims), claims
    assert "lr=10" in claims[0][2] and "15 peak" in claims[0][2]


def test_a_non_finite_loss_explodes_also_as_none_from_json():
    # A step's result comes back from JSON with NaN as None.
    verdicts = lr_sweep.judge_sweep({1.0: [2.3, 5.0, None, None], 0.1: [2.3, 1.0, 0.8, 0.7]})
    assert verdicts[1.0]["explodes"] and verdicts[1.0]["first_non_finite"] == 2
    assert math.isnan(verdicts[1.0]["peak"])
    assert verdicts[0.1]["verdict"] == "good"
    claims = lr_sweep.sweep_claims(verdicts)
    assert "non-finite from batch 2" in claims[0][2]


def test_the_explode_factor_draws_the_line():
    losses = {1.0: [2.0, 2.9, 1.5], 0.1: [2.0, 1.8, 1.0]}
    assert not lr_sweep.judge_sweep(losses)[1.0]["explodes"]  # 2.9 < 1.5 * 2.0
    assert lr_sweep.judge_sweep(losses, explode_factor=1.4)[1.0]["explodes"]


def test_sweep_claims_say_why_when_no_curve_is_high_or_good():
    # As on digits: lr=1 already explodes, so no "high" curve is left.
    verdicts = lr_sweep.judge_sweep(
        {10.0: curve(2.6, 5.0, spike=30.0), 1.0: curve(2.6, 1.0, spike=4.0),
         0.1: curve(2.6, 0.5), 0.01: curve(2.6, 0.8)}
    )
    claims = lr_sweep.sweep_claims(verdicts)
    assert [holds for _, holds, _ in claims] == [True, True, False]
    assert "no learning rate of the sweep lies between exploding and good (0.1)" in claims[2][2]
    all_explode = lr_sweep.judge_sweep({1.0: [2.0, 9.0], 0.1: [2.0, None]})
    claims = lr_sweep.sweep_claims(all_explode)
    assert [holds for _, holds, _ in claims] == [True, False, False]
    assert "exploded at every learning rate" in claims[1][2]


def test_a_low_curve_that_did_not_fall_is_not_stable_but_slow():
    verdicts = lr_sweep.judge_sweep({1.0: [2.0, 9.0], 0.1: [2.0, 0.5], 0.01: [2.0, 2.1]})
    assert verdicts[0.01]["verdict"] == "low"
    assert not lr_sweep.sweep_claims(verdicts)[1][1]  # it ends above its first loss


@pytest.mark.parametrize(
    "losses, kwargs, match",
    [
        ({}, {}, "losses"),
        ([1.0, 2.0], {}, "losses"),
        ({0.1: []}, {}, "at least one loss"),
        ({-0.1: [1.0]}, {}, "learning_rate"),
        ({0.1: "abc"}, {}, "list of numbers"),
        ({0.1: [1.0]}, {"explode_factor": 1.0}, "explode_factor"),
    ],
)
def test_judge_sweep_rejects_bad_input(losses, kwargs, match):
    with pytest.raises(ValueError, match=match):
        lr_sweep.judge_sweep(losses, **kwargs)


def test_tail_mean_averages_the_last_batches_and_is_nan_after_divergence():
    assert lr_sweep.tail_mean([2.3, 1.0, 0.5, 0.3], 2) == pytest.approx(0.4)
    assert lr_sweep.tail_mean([0.5], 50) == 0.5  # fewer batches than the tail: all
    assert math.isnan(lr_sweep.tail_mean([1.0, float("nan"), 0.5], 2))
    assert math.isnan(lr_sweep.tail_mean([1.0, None], 2))
    assert lr_sweep.tail_mean([float("nan"), 1.0, 0.5], 2) == 0.75  # only the tail counts
    with pytest.raises(ValueError, match="tail"):
        lr_sweep.tail_mean([1.0], 0)
    with pytest.raises(ValueError, match="at least one loss"):
        lr_sweep.tail_mean([], 3)


def test_best_learning_rate_ranks_a_diverged_run_worst():
    assert lr_sweep.best_learning_rate({0.01: 0.8, 0.1: 0.3, 1.0: None}) == 0.1
    assert lr_sweep.best_learning_rate({0.01: 0.8, 1.0: float("nan"), 10.0: 0.1}) == 10.0
    assert lr_sweep.best_learning_rate({0.01: None, 0.1: float("inf")}) == 0.01
    with pytest.raises(ValueError, match="scores"):
        lr_sweep.best_learning_rate({})


def test_within_factor_judges_the_ratio_both_ways_and_flags_the_grid_ends():
    scores = {0.1: 0.15, 0.464: 0.115, 1.0: 0.21}
    holds, evidence = lr_sweep.within_factor(0.591, scores)
    assert holds and "best 0.464" in evidence and "ratio 1.27" in evidence
    assert "end of the grid" not in evidence
    assert lr_sweep.within_factor(0.464 / 2.9, scores)[0]
    assert not lr_sweep.within_factor(0.464 / 3.1, scores)[0]
    assert not lr_sweep.within_factor(1.96, scores)[0]  # 4.2x: steepest on shapes
    holds, evidence = lr_sweep.within_factor(0.2, {0.1: 0.2, 1.0: 0.3})
    assert holds and "end of the grid" in evidence
    holds, evidence = lr_sweep.within_factor(None, scores)
    assert not holds and "too few points" in evidence
    with pytest.raises(ValueError, match="factor"):
        lr_sweep.within_factor(0.5, scores, factor=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        lr_sweep.within_factor(-0.5, scores)
