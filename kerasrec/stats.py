"""Judging a comparison over seeds: mean ± sd, and the rule a claim must pass.

One training run here is noisy (on `shapes`, two seeds of the same run
differed by 15.9 points), so a claim that one set-up beats another is made
over several seeds and holds only when the difference of the means exceeds
the spread: the sum of the two sample standard deviations, i.e. the
mean ± sd intervals do not overlap. `kerasrec.runs` re-exports these for
recipes (`Run.check_difference` records a claim with them).
"""

import dataclasses
import math
import statistics

from kerasrec._checks import ArgumentError


def mean_sd(values):
    """`{"mean", "sd", "n", "values"}` of a list of numbers (sd = 0 for one value).

    The sample standard deviation (n - 1); `None` entries (a run that
    diverged to nan) make mean and sd `None`.
    """
    values = list(values)
    if not values:
        raise ArgumentError("Argument `values` must hold at least one number. Received: values=[]")
    if any(v is None or not math.isfinite(v) for v in values):
        return {"mean": None, "sd": None, "n": len(values), "values": values}
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "sd": sd, "n": len(values), "values": values}


def format_mean_sd(values, *, scale=100.0, unit="%", digits=1):
    """`"72.0 ± 3.1% (68.5, 72.9, 74.6)"`: mean ± sd and the single values."""
    stats = values if isinstance(values, dict) else mean_sd(values)
    f = lambda v: "nan" if v is None else f"{v * scale:.{digits}f}"  # noqa: E731
    single = ", ".join(f(v) for v in stats["values"])
    if stats["n"] == 1:
        return f"{f(stats['values'][0])}{unit} (1 seed)"
    return f"{f(stats['mean'])} ± {f(stats['sd'])}{unit} ({single})"


@dataclasses.dataclass
class Comparison:
    """The outcome of `compare`: is `a` better than `b` beyond the seed spread?"""

    holds: bool
    difference: float | None
    spread: float | None
    a: dict
    b: dict
    evidence: str


def compare(a, b, *, names=("A", "B"), higher_is_better=True, scale=100.0, unit="%", digits=1):
    """Whether `a` beats `b` by more than the spread of their seeds.

    The rule of kerasrec's claims: the difference of the means must exceed
    the spread, the sum of the two sample standard deviations (the mean ± sd
    intervals do not overlap). With fewer than 2 values on either side
    there is no spread to judge by, and the claim does not hold.

    Args:
        a, b: the values (one per seed) of the two set-ups.
        names: how the evidence names them. Defaults to `("A", "B")`.
        higher_is_better: `False` for a loss. Defaults to `True`.
        scale, unit, digits: how the evidence prints values. Default to
            `100.0`, `"%"` and `1` (accuracies as percentages).

    Returns:
        A `Comparison`.
    """
    sa, sb = mean_sd(a), mean_sd(b)
    text = (f"{names[0]} {format_mean_sd(sa, scale=scale, unit=unit, digits=digits)} vs "
            f"{names[1]} {format_mean_sd(sb, scale=scale, unit=unit, digits=digits)}")
    if sa["mean"] is None or sb["mean"] is None:
        return Comparison(False, None, None, sa, sb, text + ": a run is not finite")
    difference = (sa["mean"] - sb["mean"]) * (1 if higher_is_better else -1)
    spread = sa["sd"] + sb["sd"]
    f = lambda v: f"{v * scale:.{digits}f}{unit}"  # noqa: E731
    if min(sa["n"], sb["n"]) < 2:
        return Comparison(False, difference, None, sa, sb,
                          text + f": difference {f(difference)}, one seed: a smoke test, "
                          "no spread to judge by")
    holds = difference > spread
    relation = ">" if holds else "<="
    return Comparison(holds, difference, spread, sa, sb,
                      text + f": difference {f(difference)} {relation} spread {f(spread)}")
