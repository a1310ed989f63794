"""Grid vs random search on a synthetic objective (Bergstra & Bengio 2012, Fig. 1).

A function of two hyperparameters in [0, 1], of which only the first
matters much:

```python
f(x, y) = (1 - w) * g(x) + w * h(y)           # the score to maximize, max f = 1
g(x) = exp(-0.5 * ((x - x_opt) / 0.1) ** 2)   # important: a narrow peak
h(y) = exp(-0.5 * ((y - y_opt) / 0.5) ** 2)   # unimportant: a broad bump
w = 0.05                                      # h moves f by at most 0.05
```

With a budget of `B = k * k` trials, grid search tries the `k x k` grid and
random search `B` uniform points of the square; each reports the best `f`
it saw. The grid tries only `k` distinct values of the important
hyperparameter, random search `B`: that is the whole argument.

If the objective were fixed, the grid would find the same point every time
and "how often random wins" would only measure where the optimum happens to
sit relative to the grid. The searcher does not know where the optimum is,
so each problem draws its own optimum, uniform in the square. The grid gets
its most favourable placement: the centers of a `k x k` partition of the
square (for `k = 3`: 1/6, 1/2, 5/6), which minimizes the largest distance
from any optimum to the nearest grid value. Problem `i` of a run with seed
`s` comes from `numpy.random.default_rng([s, i])`, so the same problems
appear at every budget and a run with fewer problems repeats the first
problems of a longer one.

Example:

>>> from kerasrec import search_simulation as sim
>>> summary = sim.summarize(sim.compare_layouts(9, 200))
>>> summary["random_wins"], summary["grid_distinct_important"]
(128, 3)
"""

import math
import numbers

import numpy as np

from kerasrec._checks import ArgumentError, check_positive_int

__all__ = [
    "IMPORTANT_WIDTH",
    "UNIMPORTANT_WIDTH",
    "UNIMPORTANT_WEIGHT",
    "compare_layouts",
    "draw_problem",
    "grid_layout",
    "grid_side",
    "important_part",
    "objective",
    "random_layout",
    "summarize",
    "unimportant_part",
]

IMPORTANT_WIDTH = 0.1  # standard deviation of g's peak, in units of the range
UNIMPORTANT_WIDTH = 0.5  # standard deviation of h's broad bump
UNIMPORTANT_WEIGHT = 0.05  # w: h moves the objective by at most this much
_RESULT_KEYS = (
    "optimum", "grid_best", "random_best", "grid_point", "random_point",
    "grid_distinct", "random_distinct",
)


def _check_optimum(optimum):
    try:
        values = np.asarray(optimum, dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != (2,) or not np.all((values >= 0) & (values <= 1)):
        raise ArgumentError(
            "Argument `optimum` must be a pair `(x_opt, y_opt)` of numbers in [0, 1]. "
            f"Received: optimum={optimum!r}"
        )
    return values


def _check_seed(seed):
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ArgumentError(f"Argument `seed` must be an int >= 0. Received: seed={seed!r}")
    return int(seed)


def important_part(x, x_opt):
    """`(1 - w) * g(x)`: the important hyperparameter's share of the objective.

    The marginal curve of `x`: a narrow Gaussian peak of standard deviation
    `IMPORTANT_WIDTH` at `x_opt`, scaled to `1 - UNIMPORTANT_WEIGHT`.

    Args:
        x: the important hyperparameter (a float or an array).
        x_opt: where its peak is.

    Returns:
        A float array of the shape of `x`.
    """
    g = np.exp(-0.5 * ((np.asarray(x, float) - x_opt) / IMPORTANT_WIDTH) ** 2)
    return (1 - UNIMPORTANT_WEIGHT) * g


def unimportant_part(y, y_opt):
    """`w * h(y)`: the unimportant hyperparameter's share of the objective.

    The marginal curve of `y`: a broad Gaussian bump of standard deviation
    `UNIMPORTANT_WIDTH` at `y_opt`, scaled to `UNIMPORTANT_WEIGHT`.

    Args:
        y: the unimportant hyperparameter (a float or an array).
        y_opt: where its bump is.

    Returns:
        A float array of the shape of `y`.
    """
    h = np.exp(-0.5 * ((np.asarray(y, float) - y_opt) / UNIMPORTANT_WIDTH) ** 2)
    return UNIMPORTANT_WEIGHT * h


def objective(x, y, optimum):
    """The synthetic score: a narrow peak in `x`, a broad low bump in `y`.

    `f(x, y) = important_part(x, x_opt) + unimportant_part(y, y_opt)`; its
    maximum is 1, at `optimum`.

    Args:
        x: the important hyperparameter, in [0, 1] (a float or an array).
        y: the unimportant hyperparameter, in [0, 1] (a float or an array).
        optimum: `(x_opt, y_opt)`, two numbers in [0, 1].

    Returns:
        `f(x, y)`, broadcast over `x` and `y`.

    Raises:
        ArgumentError: `optimum` is not a pair of numbers in [0, 1].

    Example:

    >>> float(objective(0.3, 0.8, optimum=(0.3, 0.8)))
    1.0
    """
    x_opt, y_opt = _check_optimum(optimum)
    return important_part(x, x_opt) + unimportant_part(y, y_opt)


def grid_side(budget, name="budget"):
    """`k` such that `k * k == budget`, for a grid of at least 2 x 2.

    Args:
        budget: the number of trials.
        name: what error messages call it (a flag, say). Defaults to
            `"budget"`.

    Returns:
        `k`, an int >= 2.

    Raises:
        ArgumentError: `budget` is not the square of an integer >= 2.
    """
    is_int = isinstance(budget, int) and not isinstance(budget, bool)
    k = math.isqrt(budget) if is_int and budget > 0 else 0
    if k < 2 or budget != k * k:
        raise ArgumentError(
            f"Argument `{name}` must be a square number >= 4 (a k x k grid). "
            f"Received: {name}={budget!r}"
        )
    return k


def grid_layout(budget):
    """The `k x k` grid at the centers of a partition of the unit square.

    Args:
        budget: the number of trials, `k * k` with `k >= 2`.

    Returns:
        A `(budget, 2)` array of `(x, y)` points, `x` varying fastest.

    Raises:
        ArgumentError: `budget` is not a square number >= 4.

    Example:

    >>> grid_layout(4).tolist()
    [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]
    """
    k = grid_side(budget)
    centers = (np.arange(k) + 0.5) / k
    x, y = np.meshgrid(centers, centers)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def random_layout(budget, rng):
    """`budget` points drawn uniformly from the unit square.

    Args:
        budget: the number of trials, a positive int.
        rng: a `numpy.random.Generator`.

    Returns:
        A `(budget, 2)` array of `(x, y)` points.

    Raises:
        ArgumentError: `budget` is not a positive int, or `rng` not a
            `numpy.random.Generator`.
    """
    check_positive_int("budget", budget)
    if not isinstance(rng, np.random.Generator):
        raise ArgumentError(
            f"Argument `rng` must be a numpy.random.Generator. Received: rng={rng!r}"
        )
    return rng.uniform(size=(budget, 2))


def draw_problem(seed, index, budget):
    """Problem `index` of a run with `seed`: its optimum and its random points.

    Both come from `numpy.random.default_rng([seed, index])`, the optimum
    first, so problem `index` has the same optimum at every budget, and the
    random points of a smaller budget are the first points of a larger one.

    Args:
        seed: the run's seed, an int >= 0.
        index: which problem, an int >= 0.
        budget: how many random points, a positive int.

    Returns:
        `(optimum, random_points)`: arrays of shape `(2,)` and `(budget, 2)`.

    Raises:
        ArgumentError: an argument is out of range.
    """
    seed = _check_seed(seed)
    if not isinstance(index, numbers.Integral) or isinstance(index, bool) or index < 0:
        raise ArgumentError(f"Argument `index` must be an int >= 0. Received: index={index!r}")
    rng = np.random.default_rng([seed, int(index)])
    optimum = rng.uniform(size=2)
    return optimum, random_layout(budget, rng)


def compare_layouts(budget, num_problems, seed=0):
    """Grid and random search on `num_problems` random problems, at one budget.

    Each problem has its own optimum (`draw_problem`); both searches spend
    `budget` trials on it, the grid on `grid_layout(budget)`, random search
    on the problem's random points, and each keeps its best trial.

    Args:
        budget: trials per search, a square number >= 4.
        num_problems: how many problems, a positive int.
        seed: the run's seed, an int >= 0. Defaults to `0`.

    Returns:
        A dict of NumPy arrays, one row per problem: `optimum` (n, 2),
        `grid_best` and `random_best` (the best `f` each found),
        `grid_point` and `random_point` (where, (n, 2)), `grid_distinct`
        and `random_distinct` (how many distinct values of the important
        hyperparameter each tried).

    Raises:
        ArgumentError: `budget` is not a square number >= 4, `num_problems`
            not a positive int or `seed` not an int >= 0.

    Example:

    >>> result = compare_layouts(9, 200)
    >>> float((result["random_best"] > result["grid_best"]).mean())
    0.64
    """
    grid = grid_layout(budget)
    check_positive_int("num_problems", num_problems)
    seed = _check_seed(seed)
    out = {key: [] for key in _RESULT_KEYS}
    for index in range(num_problems):
        optimum, points = draw_problem(seed, index, budget)
        out["optimum"].append(optimum)
        for name, layout in (("grid", grid), ("random", points)):
            values = objective(layout[:, 0], layout[:, 1], optimum)
            best = int(np.argmax(values))
            out[f"{name}_best"].append(values[best])
            out[f"{name}_point"].append(layout[best])
            out[f"{name}_distinct"].append(len(np.unique(layout[:, 0])))
    return {key: np.asarray(values) for key, values in out.items()}


def summarize(result):
    """The numbers one `compare_layouts` result comes down to.

    Regret is `1 - best f`: how far a search's best trial falls short of
    the true optimum.

    Args:
        result: what `compare_layouts` returned.

    Returns:
        A dict of Python numbers: `problems`; `random_wins` (problems where
        random search's best `f` is strictly higher than the grid's),
        `random_win_fraction` and its standard error `win_fraction_se`;
        `grid_mean_regret`, `grid_median_regret`, `random_mean_regret`,
        `random_median_regret`; `mean_margin` and `median_margin` (random's
        best minus grid's best); `grid_mean_distance` and
        `random_mean_distance` (`|x_best - x_opt|`, how far the best trial
        lies from the optimum along the important axis); and
        `grid_distinct_important`, `random_distinct_important` (the median
        number of distinct important values tried).

    Raises:
        ArgumentError: `result` is not a `compare_layouts` result.

    Example:

    >>> summarize(compare_layouts(9, 200))["random_win_fraction"]
    0.64
    """
    if not isinstance(result, dict) or any(key not in result for key in _RESULT_KEYS):
        raise ArgumentError(
            f"Argument `result` must be a dict returned by `compare_layouts`, with keys "
            f"{list(_RESULT_KEYS)}. Received: result={type(result).__name__}"
        )
    n = len(result["grid_best"])
    if n == 0:
        raise ArgumentError("Argument `result` must hold at least one problem. Received: none")
    wins = int(np.sum(result["random_best"] > result["grid_best"]))
    p = wins / n
    margin = np.asarray(result["random_best"]) - np.asarray(result["grid_best"])
    summary = {
        "problems": n,
        "random_wins": wins,
        "random_win_fraction": p,
        "win_fraction_se": math.sqrt(p * (1 - p) / n),
    }
    for name in ("grid", "random"):
        regret = 1.0 - np.asarray(result[f"{name}_best"])
        points = np.asarray(result[f"{name}_point"])
        distance = np.abs(points[:, 0] - np.asarray(result["optimum"])[:, 0])
        summary[f"{name}_mean_regret"] = float(np.mean(regret))
        summary[f"{name}_median_regret"] = float(np.median(regret))
        summary[f"{name}_mean_distance"] = float(np.mean(distance))
    summary["mean_margin"] = float(np.mean(margin))
    summary["median_margin"] = float(np.median(margin))
    for name in ("grid", "random"):
        summary[f"{name}_distinct_important"] = int(np.median(result[f"{name}_distinct"]))
    return summary
