"""Reading a sweep of constant learning rates: which curve is which, which LR is best.

The lecture's loss-curve figure names four learning rates by the shape of
their training loss: too high a learning rate makes the loss *explode*, a
*high* one converges fast and then stalls above the optimum, a *low* one is
stable but slow, a *good* one is fast and ends lowest. `judge_sweep` names
each curve of a sweep that way from the loss of every batch
(`kerasrec.callbacks.BatchLoss`), and `sweep_claims` turns the verdicts into
the lecture's three claims with their numbers. `tail_mean` and
`best_learning_rate` judge a sweep by the training loss of its last batches,
with a diverged run ranked worst.

Every function takes plain Python lists and dicts, as a recipe's step gives
them back from JSON: a non-finite loss may come back as `None`, and counts
as non-finite.
"""

import math

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_greater, check_positive_int

__all__ = [
    "EXPLODE_FACTOR",
    "best_learning_rate",
    "judge_sweep",
    "sweep_claims",
    "tail_mean",
    "within_factor",
]

EXPLODE_FACTOR = 1.5


def _floats(values, name):
    """`values` as a list of floats, `None` (JSON's non-finite) as NaN."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ArgumentError(
            f"Argument `{name}` must be a list of numbers. Received: {name}={values!r}"
        )
    return [math.nan if v is None else float(v) for v in values]


def _mean(values):
    return math.fsum(values) / len(values)


def tail_mean(losses, tail):
    """Returns the mean of the last `tail` losses, NaN if one is not finite.

    A run judged by the end of its training loss: the mean over its last
    batches is steadier than the last batch alone. A diverged run (a NaN or
    `None` among them) gives NaN, which `best_learning_rate` ranks worst.

    Args:
        losses: List of numbers (or `None`): the loss of every batch.
        tail: Int > 0. How many of the last batches to average; all of
            them if there are fewer.

    Returns:
        A Python float.

    Raises:
        ValueError: If `losses` is empty or `tail` is not an int > 0.

    Example:

    >>> tail_mean([2.3, 1.0, 0.5, 0.3], tail=2)
    0.4
    """
    check_positive_int("tail", tail)
    values = _floats(losses, "losses")
    if not values:
        raise ArgumentError("Argument `losses` must hold at least one loss. Received: losses=[]")
    last = values[-tail:]
    if not all(math.isfinite(v) for v in last):
        return math.nan
    return _mean(last)


def best_learning_rate(scores):
    """Returns the learning rate with the lowest score, a diverged run ranked worst.

    Args:
        scores: Dict `{learning_rate: score}`, a loss to minimize; `None`,
            NaN and infinite scores (a run that diverged) rank below every
            finite one.

    Returns:
        The key of the lowest finite score; if no score is finite, the
        first key.

    Raises:
        ValueError: If `scores` is not a non-empty dict.

    Example:

    >>> best_learning_rate({0.01: 0.8, 0.1: 0.3, 1.0: None})
    0.1
    """
    if not isinstance(scores, dict) or not scores:
        raise ArgumentError(
            "Argument `scores` must be a non-empty dict {learning_rate: score}. "
            f"Received: scores={scores!r}"
        )

    def rank(lr):
        score = scores[lr]
        return score if score is not None and math.isfinite(score) else math.inf

    return min(scores, key=rank)


def within_factor(learning_rate, scores, factor=3.0):
    """Whether `learning_rate` lies within `factor` of a sweep's best one.

    The claim of a learning-rate range test: its suggestion is within
    `factor` (either way) of the best constant learning rate of a sweep,
    `best_learning_rate(scores)`. When the best lies at an end of the
    sweep's grid the true best may lie beyond it, and the evidence says so.

    Args:
        learning_rate: Float > 0, the learning rate to judge, or `None` (no
            suggestion: the claim does not hold).
        scores: Dict `{learning_rate: score}` of the sweep, a loss to
            minimize (see `best_learning_rate`).
        factor: Float > 1. Defaults to `3.0`.

    Returns:
        `(holds, evidence)`: a bool, and a sentence with the numbers.

    Raises:
        ValueError: If `scores` is not a non-empty dict, `factor` is not
            > 1, or `learning_rate` is neither `None` nor > 0.

    Example:

    >>> within_factor(0.59, {0.1: 0.15, 0.464: 0.115, 1.0: 0.21})
    (True, 'suggestion 0.59, best 0.464 (score 0.1150), ratio 1.27')
    """
    check_greater("factor", factor, 1)
    best = best_learning_rate(scores)
    if learning_rate is None:
        return False, "the range test recorded too few points to suggest a learning rate"
    check_greater("learning_rate", learning_rate, 0)
    score = scores[best]
    score = "nan" if score is None else f"{score:.4f}"
    ratio = learning_rate / best
    evidence = f"suggestion {learning_rate:.3g}, best {best:g} (score {score}), ratio {ratio:.2f}"
    if len(scores) > 1 and best in (min(scores), max(scores)):
        evidence += "; the best is at the end of the grid, the true best may lie beyond"
    return 1 / factor <= ratio <= factor, evidence


def judge_sweep(losses, *, explode_factor=EXPLODE_FACTOR):
    """Names each learning rate's loss curve: explodes, high, good or low.

    Per curve, from the loss of every batch: `first`, the first loss
    (before any update: the same for every learning rate from the same
    weights); `peak`, the highest loss (NaN if one is not finite); `early`,
    the mean loss around 20% of the run; `end`, the mean over its last 10%;
    `early_share`, the share of the whole drop `first - end` done by 20% of
    the run (NaN without a drop); `first_non_finite`, the batch where the
    loss first became non-finite, or `None`. A curve *explodes* if a loss
    became non-finite or rose above `explode_factor * first`. Of the other
    curves, the one with the lowest `end` is *good*, those of a larger
    learning rate *high* and of a smaller one *low*. With BatchNorm a
    too-high learning rate may spike to several times the first loss and
    then hover near chance instead of going to NaN; it still explodes.

    Args:
        losses: Dict `{learning_rate: list of batch losses}` (`None` entries
            are non-finite losses, as JSON gives them back).
        explode_factor: Float > 1. A loss above this multiple of the first
            one has exploded. Defaults to `1.5`.

    Returns:
        Dict `{learning_rate: {"first", "peak", "early", "end",
        "early_share", "first_non_finite", "explodes", "verdict"}}`, with
        `verdict` one of `"explodes"`, `"high"`, `"good"`, `"low"`.

    Raises:
        ValueError: If `losses` is not a non-empty dict of non-empty lists,
            a learning rate is not > 0, or `explode_factor` is not > 1.

    Example:

    >>> verdicts = judge_sweep({1.0: [2.3, 9.0, 2.4], 0.1: [2.3, 1.0, 0.5],
    ...                         0.01: [2.3, 2.0, 1.8]})
    >>> {lr: v["verdict"] for lr, v in verdicts.items()}
    {1.0: 'explodes', 0.1: 'good', 0.01: 'low'}
    """
    check_greater("explode_factor", explode_factor, 1)
    if not isinstance(losses, dict) or not losses:
        raise ArgumentError(
            "Argument `losses` must be a non-empty dict {learning_rate: batch losses}. "
            f"Received: losses={losses!r}"
        )
    verdicts = {}
    for lr, curve in losses.items():
        check_greater("learning_rate", lr, 0)
        loss = _floats(curve, "losses")
        if not loss:
            raise ArgumentError(
                f"Argument `losses` must hold at least one loss per learning rate. "
                f"Received: losses[{lr!r}]=[]"
            )
        n = len(loss)
        tail, at = max(1, n // 10), max(1, n // 5)
        bad = next((i for i, v in enumerate(loss) if not math.isfinite(v)), None)
        first, end = loss[0], _mean(loss[-tail:])
        early = _mean(loss[max(0, at - tail // 2) : at + tail // 2 + 1])
        peak = math.nan if bad is not None else max(loss)
        drop = first - end
        verdicts[lr] = {
            "first": first,
            "peak": peak,
            "early": early,
            "end": end,
            "early_share": (first - early) / drop if drop > 0 else math.nan,
            "first_non_finite": bad,
            "explodes": bad is not None or not peak <= explode_factor * first,
        }
    calm = [lr for lr, v in verdicts.items() if not v["explodes"]]
    good = min(calm, key=lambda lr: verdicts[lr]["end"]) if calm else None
    for lr, v in verdicts.items():
        if v["explodes"]:
            v["verdict"] = "explodes"
        elif lr == good:
            v["verdict"] = "good"
        else:
            v["verdict"] = "high" if lr > good else "low"
    return verdicts


def _describe(lr, v):
    share = v["early_share"]
    share = f"{share:.0%} of its drop" if math.isfinite(share) else "no drop"
    bad = v["first_non_finite"]
    return (
        f"lr={lr:g}: loss {v['first']:.2f} first, {v['peak']:.3g} peak, {v['early']:.2f} "
        f"at 20% of the run ({share}), {v['end']:.2f} at the end"
        + (f", non-finite from batch {bad}" if bad is not None else "")
    )


def sweep_claims(verdicts, *, explode_factor=EXPLODE_FACTOR):
    """The lecture's loss-curve claims, judged on `judge_sweep`'s verdicts.

    1. Too high a learning rate makes the loss explode: the largest
       learning rate's curve explodes.
    2. A low learning rate is stable but slow: the smallest learning rate's
       curve is "low" (it did not explode, and ended above the good one)
       and its loss fell.
    3. A high learning rate converges fast, then stalls above the good one:
       the "high" curve closest to the good learning rate did a larger
       share of its drop by 20% of the run, and ended higher. Without a
       "high" curve (every learning rate above the good one exploded) the
       claim does not hold, and the evidence says why.

    Args:
        verdicts: What `judge_sweep` returned.
        explode_factor: The factor `judge_sweep` used, for the claim's
            text. Defaults to `1.5`.

    Returns:
        A list of `(claim, holds, evidence)` tuples, for `Run.check`.

    Example:

    >>> for claim, holds, evidence in sweep_claims(judge_sweep(losses)):
    ...     run.check(claim, holds, evidence)
    """
    lrs = sorted(verdicts, reverse=True)
    top, bottom = verdicts[lrs[0]], verdicts[lrs[-1]]
    claims = [
        (
            "too high a learning rate makes the loss explode (the highest LR's loss goes "
            f"non-finite or above {explode_factor:g}x its first value)",
            top["explodes"],
            _describe(lrs[0], top),
        )
    ]
    good = next((lr for lr in lrs if verdicts[lr]["verdict"] == "good"), None)
    low_claim = (
        "a low learning rate is stable but slow (the lowest LR's loss falls without "
        "exploding, but ends above the good LR's)"
    )
    high_claim = (
        "a high learning rate converges fast, then stalls above the good one (a larger "
        "share of its drop done by 20% of the run, a higher final loss)"
    )
    if good is None:
        evidence = "the loss exploded at every learning rate of the sweep"
        return claims + [(low_claim, False, evidence), (high_claim, False, evidence)]
    g = verdicts[good]
    claims.append(
        (
            low_claim,
            bottom["verdict"] == "low" and bottom["end"] < bottom["first"],
            f"{_describe(lrs[-1], bottom)}; good {_describe(good, g)}",
        )
    )
    high = [lr for lr in lrs if verdicts[lr]["verdict"] == "high"]
    if not high:
        claims.append(
            (
                high_claim,
                False,
                f"no learning rate of the sweep lies between exploding and good ({good:g})",
            )
        )
        return claims
    h = verdicts[high[-1]]  # the high learning rate closest to the good one
    claims.append(
        (
            high_claim,
            h["early_share"] > g["early_share"] and h["end"] > g["end"],
            f"{_describe(high[-1], h)}; good {_describe(good, g)}",
        )
    )
    return claims
