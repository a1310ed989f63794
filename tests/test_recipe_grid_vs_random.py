"""recipes/grid_vs_random.py: its grid-vs-random simulation, its hypermodel, its run folder."""

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "grid_vs_random.py")


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("grid_vs_random_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- part 1: the synthetic objective --------------------------------------------------------


def test_objective_matches_its_formula_and_peaks_at_the_optimum(recipe):
    optimum = (0.3, 0.8)
    w = recipe.UNIMPORTANT_WEIGHT
    x, y = 0.42, 0.1
    expected = ((1 - w) * np.exp(-0.5 * ((x - 0.3) / recipe.IMPORTANT_WIDTH) ** 2)
                + w * np.exp(-0.5 * ((y - 0.8) / recipe.UNIMPORTANT_WIDTH) ** 2))
    assert recipe.objective(x, y, optimum) == pytest.approx(expected)
    assert recipe.objective(0.3, 0.8, optimum) == pytest.approx(1.0)
    xs, ys = np.meshgrid(np.linspace(0, 1, 101), np.linspace(0, 1, 101))
    values = recipe.objective(xs, ys, optimum)
    assert values.max() <= 1.0 + 1e-12
    # The unimportant hyperparameter moves f by at most w; the important one by almost 1.
    span_y = np.ptp(recipe.objective(0.3, np.linspace(0, 1, 101), optimum))
    span_x = np.ptp(recipe.objective(np.linspace(0, 1, 101), 0.8, optimum))
    assert span_y <= w and span_x > 0.9


def test_grid_layout_is_the_cell_centers(recipe):
    grid = recipe.grid_layout(9)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(np.unique(grid[:, 0]), [1 / 6, 1 / 2, 5 / 6])
    np.testing.assert_allclose(np.unique(grid[:, 1]), [1 / 6, 1 / 2, 5 / 6])
    assert len({tuple(p) for p in grid}) == 9


@pytest.mark.parametrize("budget, grid_values", [(9, 3), (16, 4), (25, 5)])
def test_grid_tries_sqrt_budget_important_values_random_tries_budget(recipe, budget, grid_values):
    result = recipe.compare_layouts(budget, 20, seed=0)
    assert set(result["grid_distinct"]) == {grid_values}
    assert set(result["random_distinct"]) == {budget}
    summary = recipe.summarize(result)
    assert summary["grid_distinct_important"] == grid_values
    assert summary["random_distinct_important"] == budget


def test_random_beats_grid_in_most_problems_at_budget_9(recipe):
    summary = recipe.summarize(recipe.compare_layouts(9, 200, seed=0))
    # Measured when the recipe was written: 128 of 200 (64%).
    assert summary["random_wins"] == 128
    assert summary["random_win_fraction"] - 2 * summary["win_fraction_se"] > 0.5
    assert summary["random_mean_regret"] < summary["grid_mean_regret"]
    assert summary["random_median_regret"] < summary["grid_median_regret"]
    assert summary["median_margin"] > 0


def test_randoms_advantage_grows_with_the_budget(recipe):
    fractions = [recipe.summarize(recipe.compare_layouts(b, 200))["random_win_fraction"]
                 for b in (9, 16, 25)]
    assert fractions == sorted(fractions) and fractions[-1] > 0.75, fractions


def test_best_value_and_point_agree_with_the_objective(recipe):
    result = recipe.compare_layouts(9, 5, seed=1)
    for i in range(5):
        for name in ("grid", "random"):
            x, y = result[f"{name}_point"][i]
            assert recipe.objective(x, y, result["optimum"][i]) == pytest.approx(
                result[f"{name}_best"][i])
    grid_values = recipe.objective(*recipe.grid_layout(9).T, result["optimum"][0])
    assert result["grid_best"][0] == pytest.approx(grid_values.max())


def test_simulation_is_deterministic_given_the_seed(recipe):
    a = recipe.compare_layouts(9, 30, seed=3)
    b = recipe.compare_layouts(9, 30, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    # Fewer seeds repeat the first problems of a longer run.
    short = recipe.compare_layouts(9, 10, seed=3)
    for key in a:
        np.testing.assert_array_equal(short[key], a[key][:10])
    # The same problems at every budget; another seed, other problems.
    np.testing.assert_array_equal(recipe.compare_layouts(16, 30, seed=3)["optimum"], a["optimum"])
    assert not np.array_equal(recipe.compare_layouts(9, 30, seed=4)["optimum"], a["optimum"])


@pytest.mark.parametrize("budget", [8, 1, 0, -9, 9.0, True, "9"])
def test_a_budget_that_is_not_a_square_grid_raises(recipe, budget):
    with pytest.raises(ValueError, match="Argument `budget` must be a square number >= 4"):
        recipe.grid_layout(budget)


def test_bad_num_seeds_raises(recipe):
    with pytest.raises(ValueError, match="Argument `num_seeds` must be a positive integer"):
        recipe.compare_layouts(9, 0)


# ---- part 2: the trials' model ----------------------------------------------------------------


def test_every_trial_starts_from_the_same_weights(recipe):
    build_model = recipe.seeded_cnn((8, 8, 1), 10, seed=7)
    first = build_model().get_weights()
    keras.utils.set_random_seed(123)  # whatever ran in between
    keras.random.normal((3,))
    second = build_model().get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = recipe.seeded_cnn((8, 8, 1), 10, seed=8)().get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_trial_row_flattens_a_trials_table_row(recipe):
    row = {"trial_id": "03", "status": "COMPLETED", "score": 0.5, "best_step": 1,
           "hyperparameters": {"learning_rate": 1e-3, "weight_decay": 1e-5},
           "history": {"val_accuracy": [0.2, 0.5, 0.4]}, "seconds": 12.0}
    flat = recipe.trial_row("grid", row)
    assert flat["tuner"] == "grid" and flat["trial"] == "03"
    assert (flat["learning_rate"], flat["weight_decay"]) == (1e-3, 1e-5)
    assert flat["best_val_accuracy"] == 0.5 and flat["best_epoch"] == 2
    assert flat["final_val_accuracy"] == 0.4 and flat["seconds"] == 12.0


# ---- the recipe, run as a user would --------------------------------------------------------


def run_recipe(*argv):
    return subprocess.run([sys.executable, RECIPE, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_quick_run_writes_the_comparison_and_resumes(recipe, tmp_path, monkeypatch):
    out = tmp_path / "run"
    argv = ["--quick", "--dataset", "digits", "--out", str(out)]
    proc = run_recipe(*argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    metrics = results["metrics"]

    # Part 1: 50 problems in quick mode, the same numbers as the functions give.
    assert metrics["sim_seeds"] == 50
    summary = recipe.summarize(recipe.compare_layouts(9, 50, seed=0))
    assert metrics["sim_b9_random_win_fraction"] == pytest.approx(summary["random_win_fraction"])
    assert metrics["sim_b9_random_win_fraction"] > 0.5
    assert metrics["sim_b9_grid_distinct_important"] == 3
    assert metrics["sim_b9_random_distinct_important"] == 9
    assert metrics["sim_b25_random_distinct_important"] == 25

    # Part 2: 2 x 2 grid against 4 random trials, one epoch each, same data.
    assert metrics["trials_per_tuner"] == 4 and metrics["epochs_per_trial"] == 1
    assert metrics["grid_distinct_learning_rates"] == 2
    assert metrics["random_distinct_learning_rates"] == 4
    with open(out / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["tuner"] for r in rows] == ["grid"] * 4 + ["random"] * 4
    grid_rates = sorted({float(r["learning_rate"]) for r in rows if r["tuner"] == "grid"})
    assert grid_rates == [1e-4, 1e-2]
    for r in rows:
        assert 1e-4 <= float(r["learning_rate"]) <= 1e-2
        assert 1e-5 <= float(r["weight_decay"]) <= 1e-1
    best = {t: max(float(r["best_val_accuracy"]) for r in rows if r["tuner"] == t)
            for t in ("grid", "random")}
    assert metrics["grid_best_val_accuracy"] == pytest.approx(best["grid"])
    assert metrics["random_best_val_accuracy"] == pytest.approx(best["random"])
    claims = {c["claim"]: c["holds"] for c in results["claims"]}
    assert len(claims) == 3 + 3  # one per budget, three for the search
    assert all(holds for claim, holds in claims.items() if "problems at budget" in claim)
    history = json.loads((out / "history.json").read_text())
    assert max(history["val_accuracy"]) == pytest.approx(max(best.values()))
    for name in ("grid_vs_random.png", "search.png", "model.keras", "trials.json",
                 "simulation.json"):
        assert (out / name).exists(), name

    # Rerunning into the same folder resumes: no trial runs again, same table.
    again = run_recipe(*argv)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Running Trial" not in again.stdout
    with open(out / "trials.csv") as f:
        assert list(csv.DictReader(f)) == rows

    # Other settings in the same folder: a clear error before anything is written.
    before = {name: (out / name).read_bytes() for name in os.listdir(out) if (out / name).is_file()}
    monkeypatch.setattr(sys, "argv", ["grid_vs_random.py", *argv, "--trials", "9"])
    with pytest.raises(ValueError, match=r"Argument `--out` holds searches run with other "
                       r"settings \(trials\)"):
        recipe.main()
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--trials", "8"], "Argument `--trials` must be a square number"),
        (["--budgets", "9,10"], "Argument `--budgets` must be a square number"),
        (["--budgets", "nine"], "Argument `--budgets` must be comma-separated"),
        (["--seeds", "0"], "Argument `--seeds` must be a positive integer"),
        (["--val-size", "-1"], "Argument `--val-size` must be a positive integer"),
        (["--min-learning-rate", "0.1", "--max-learning-rate", "0.01"],
         "Argument `--max-learning-rate` must be > `--min-learning-rate`. "
         "Received: min_learning_rate=0.1, max_learning_rate=0.01"),
        (["--min-weight-decay", "0"], "Argument `--min-weight-decay` must be > 0"),
        (["--train-size", "0"], "Argument `--train-size` must be a positive integer"),
    ],
)
def test_bad_flags_raise_before_anything_is_written(recipe, tmp_path, monkeypatch, argv, message):
    # `runs.main` turns the ValueError into one line and exit status 2
    # (tests/test_recipes.py); here the recipe's own checks, in process.
    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["grid_vs_random.py", "--quick", "--dataset", "digits",
                                      "--out", str(out), *argv])
    with pytest.raises(ValueError, match=re.escape(message)):
        recipe.main()
    assert not out.exists()
