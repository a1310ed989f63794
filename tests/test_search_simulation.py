"""kerasrec.search_simulation: Bergstra & Bengio's grid-vs-random simulation."""

import numpy as np
import pytest

from kerasrec import search_simulation as sim


def test_objective_matches_its_formula_and_peaks_at_the_optimum():
    optimum = (0.3, 0.8)
    w = sim.UNIMPORTANT_WEIGHT
    x, y = 0.42, 0.1
    expected = (1 - w) * np.exp(-0.5 * ((x - 0.3) / sim.IMPORTANT_WIDTH) ** 2) + w * np.exp(
        -0.5 * ((y - 0.8) / sim.UNIMPORTANT_WIDTH) ** 2
    )
    assert sim.objective(x, y, optimum) == pytest.approx(expected)
    assert sim.objective(0.3, 0.8, optimum) == pytest.approx(1.0)
    xs, ys = np.meshgrid(np.linspace(0, 1, 101), np.linspace(0, 1, 101))
    assert sim.objective(xs, ys, optimum).max() <= 1.0 + 1e-12
    # The unimportant hyperparameter moves f by at most w; the important one by almost 1.
    span_y = np.ptp(sim.objective(0.3, np.linspace(0, 1, 101), optimum))
    span_x = np.ptp(sim.objective(np.linspace(0, 1, 101), 0.8, optimum))
    assert span_y <= w and span_x > 0.9


def test_the_marginals_add_up_to_the_objective():
    axis = np.linspace(0, 1, 11)
    total = sim.important_part(axis, 0.2) + sim.unimportant_part(axis[::-1], 0.7)
    np.testing.assert_allclose(total, sim.objective(axis, axis[::-1], (0.2, 0.7)))


def test_grid_layout_is_the_cell_centers():
    grid = sim.grid_layout(9)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(np.unique(grid[:, 0]), [1 / 6, 1 / 2, 5 / 6])
    np.testing.assert_allclose(np.unique(grid[:, 1]), [1 / 6, 1 / 2, 5 / 6])
    assert len({tuple(p) for p in grid}) == 9
    # x varies fastest, as the docstring says.
    np.testing.assert_allclose(grid[:3, 1], 1 / 6)


@pytest.mark.parametrize("budget, grid_values", [(9, 3), (16, 4), (25, 5)])
def test_grid_tries_sqrt_budget_important_values_random_tries_budget(budget, grid_values):
    result = sim.compare_layouts(budget, 20, seed=0)
    assert set(result["grid_distinct"]) == {grid_values}
    assert set(result["random_distinct"]) == {budget}
    summary = sim.summarize(result)
    assert summary["grid_distinct_important"] == grid_values
    assert summary["random_distinct_important"] == budget


def test_random_beats_grid_in_most_problems_at_budget_9():
    summary = sim.summarize(sim.compare_layouts(9, 200, seed=0))
    # The number the recipe reports (recipes/grid_vs_random.py): 128 of 200.
    assert summary["problems"] == 200
    assert summary["random_wins"] == 128
    assert summary["random_win_fraction"] - 2 * summary["win_fraction_se"] > 0.5
    assert summary["random_mean_regret"] < summary["grid_mean_regret"]
    assert summary["random_median_regret"] < summary["grid_median_regret"]
    assert summary["median_margin"] > 0


def test_randoms_advantage_grows_with_the_budget():
    fractions = [
        sim.summarize(sim.compare_layouts(b, 200))["random_win_fraction"] for b in (9, 16, 25)
    ]
    assert fractions == sorted(fractions) and fractions[-1] > 0.75, fractions


def test_best_value_and_point_agree_with_the_objective():
    result = sim.compare_layouts(9, 5, seed=1)
    for i in range(5):
        for name in ("grid", "random"):
            x, y = result[f"{name}_point"][i]
            assert sim.objective(x, y, result["optimum"][i]) == pytest.approx(
                result[f"{name}_best"][i]
            )
    grid_values = sim.objective(*sim.grid_layout(9).T, result["optimum"][0])
    assert result["grid_best"][0] == pytest.approx(grid_values.max())


def test_simulation_is_deterministic_given_the_seed():
    a = sim.compare_layouts(9, 30, seed=3)
    b = sim.compare_layouts(9, 30, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    # Fewer problems repeat the first problems of a longer run.
    short = sim.compare_layouts(9, 10, seed=3)
    for key in a:
        np.testing.assert_array_equal(short[key], a[key][:10])
    # The same problems at every budget; another seed, other problems.
    np.testing.assert_array_equal(sim.compare_layouts(16, 30, seed=3)["optimum"], a["optimum"])
    assert not np.array_equal(sim.compare_layouts(9, 30, seed=4)["optimum"], a["optimum"])


def test_draw_problem_smaller_budgets_are_prefixes_of_larger_ones():
    optimum9, points9 = sim.draw_problem(0, 5, 9)
    optimum25, points25 = sim.draw_problem(0, 5, 25)
    np.testing.assert_array_equal(optimum9, optimum25)
    np.testing.assert_array_equal(points9, points25[:9])
    assert points25.min() >= 0 and points25.max() <= 1


def test_summary_numbers_are_plain_python_for_json():
    import json

    summary = sim.summarize(sim.compare_layouts(4, 3))
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize("budget", [8, 1, 0, -9, 9.0, True, "9"])
def test_a_budget_that_is_not_a_square_grid_raises(budget):
    with pytest.raises(sim.ArgumentError, match="Argument `budget` must be a square number >= 4"):
        sim.grid_layout(budget)


def test_grid_side_names_the_flag_in_its_error():
    assert sim.grid_side(16) == 4
    with pytest.raises(ValueError, match=r"Argument `--trials` must be .* Received: --trials=8"):
        sim.grid_side(8, "--trials")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sim.compare_layouts(9, 0), "Argument `num_problems` must be a positive integer"),
        (lambda: sim.compare_layouts(9, 2.5), "Argument `num_problems` must be a positive"),
        (lambda: sim.compare_layouts(9, 5, seed=-1), "Argument `seed` must be an int >= 0"),
        (lambda: sim.draw_problem(0, -1, 9), "Argument `index` must be an int >= 0"),
        (lambda: sim.random_layout(0, np.random.default_rng(0)), "Argument `budget` must be"),
        (lambda: sim.random_layout(4, 0), "Argument `rng` must be a numpy.random.Generator"),
        (lambda: sim.objective(0.5, 0.5, (0.5,)), "Argument `optimum` must be a pair"),
        (lambda: sim.objective(0.5, 0.5, (0.5, 1.5)), "Argument `optimum` must be a pair"),
        (lambda: sim.summarize({"grid_best": []}), "Argument `result` must be a dict"),
    ],
)
def test_bad_arguments_raise_in_the_keras_template(call, message):
    with pytest.raises(sim.ArgumentError, match=message):
        call()
