"""Tests for kerasrec.tuning.space: log grids, grid sizes and make_hypermodel."""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from kerasrec import tuning


def tiny_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])



def test_log_grid_values():
    assert tuning.log_grid(1e-3, 1.0, 4) == [0.001, 0.01, 0.1, 1.0]
    points = tuning.log_grid(1e-6, 1e-2, 5)
    assert points[0] == 1e-6 and points[-1] == 1e-2
    ratios = np.diff(np.log(points))
    np.testing.assert_allclose(ratios, math.log(10), rtol=1e-9)
    assert tuning.log_grid(0.5, 2.0, 2) == [0.5, 2.0]


@pytest.mark.parametrize("low, high, num, name", [
    (0.0, 1.0, 3, "low"), (-1.0, 1.0, 3, "low"), (1.0, 1.0, 3, "high"),
    (1.0, 0.1, 3, "high"), (1e-3, 1.0, 1, "num"), (1e-3, 1.0, 0, "num"),
    (1e-3, 1.0, 2.0, "num"), (1e-3, float("inf"), 3, "high"),
])
def test_log_grid_rejects_bad_arguments(low, high, num, name):
    with pytest.raises(ValueError, match=f"Argument `{name}`"):
        tuning.log_grid(low, high, num)


def test_make_hypermodel_grid_is_exactly_the_log_points():
    build = tuning.make_hypermodel(tiny_model, learning_rate=(1e-3, 1.0),
                                   weight_decay=(1e-5, 1e-2), grid_points=4)
    hp = keras_tuner.HyperParameters()
    model = build(hp)
    lr, wd = hp.space
    assert (lr.name, wd.name) == ("learning_rate", "weight_decay")
    assert list(lr.values) == [0.001, 0.01, 0.1, 1.0]
    assert list(wd.values) == [1e-5, 1e-4, 1e-3, 1e-2]
    # The default is the first point, so the grid adds no extra one.
    assert lr.default == 0.001 and wd.default == 1e-5
    assert tuning.grid_size(build) == 16
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.001)
    assert model.optimizer.weight_decay == pytest.approx(1e-5)
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert build.logged_metrics == ("loss", "accuracy")

    # KerasTuner's grid visits the points in increasing order.
    oracle = tuning.GridSearchOracle(hyperparameters=hp)
    values = [{"learning_rate": 0.001, "weight_decay": 1e-5}]
    while (nxt := oracle._get_next_combination(values[-1])) is not None:
        values.append(dict(nxt))
    assert len(values) == 16
    assert [v["learning_rate"] for v in values[::4]] == [0.001, 0.01, 0.1, 1.0]
    assert [v["weight_decay"] for v in values[:4]] == [1e-5, 1e-4, 1e-3, 1e-2]


def test_keras_tuner_grids_a_stepless_log_float_as_unsorted_quantiles():
    # Why make_hypermodel grids with hp.Choice, and GridSearch warns.
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-3, 1.0, sampling="log")
    values = list(hp.space[0].values)
    assert len(values) == 10 and values != sorted(values)
    assert hp.space[0].default not in values
    assert tuning.grid_size(hp) == 11


def test_make_hypermodel_random_is_log_uniform_in_range():
    build = tuning.make_hypermodel(tiny_model, optimizer="adamw", learning_rate=(1e-4, 1e-0),
                                   weight_decay=(1e-6, 1e-2))
    hp = keras_tuner.HyperParameters()
    model = build(hp)
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    lr = hp.space[0]
    assert isinstance(lr, keras_tuner.engine.hyperparameters.Float)
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1.0, "log")
    samples = np.array([lr.random_sample(seed) for seed in range(4000)])
    assert samples.min() >= 1e-4 and samples.max() <= 1.0
    # Log-uniform: each decade holds a quarter of the samples.
    counts = np.histogram(np.log10(samples), bins=4, range=(-4, 0))[0] / len(samples)
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_make_hypermodel_fixed_and_absent_weight_decay():
    hp = keras_tuner.HyperParameters()
    model = tuning.make_hypermodel(tiny_model, learning_rate=0.05, weight_decay=0.0)(hp)
    assert hp.values == {"learning_rate": 0.05, "weight_decay": 0.0}
    assert model.optimizer.weight_decay is None
    hp = keras_tuner.HyperParameters()
    model = tuning.make_hypermodel(tiny_model, weight_decay=None, grid_points=3)(hp)
    assert [p.name for p in hp.space] == ["learning_rate"]
    assert model.optimizer.weight_decay is None


def test_make_hypermodel_warmup_rises_linearly_then_stays_at_the_trials_rate():
    hp = keras_tuner.HyperParameters()
    model = tuning.make_hypermodel(tiny_model, learning_rate=0.05, weight_decay=None,
                                   warmup_steps=10)(hp)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
    values = [float(schedule(step)) for step in (0, 5, 10, 11, 1000)]
    np.testing.assert_allclose(values, [0.0, 0.025, 0.05, 0.05, 0.05], rtol=1e-6)
    # Without warmup the learning rate stays a float variable.
    model = tuning.make_hypermodel(tiny_model, learning_rate=0.05)(keras_tuner.HyperParameters())
    assert not isinstance(model.optimizer._learning_rate,
                          keras.optimizers.schedules.LearningRateSchedule)


def test_make_hypermodel_passes_hp_to_a_one_argument_builder():
    def build_model(hp):
        units = hp.Choice("units", [2, 4])
        return keras.Sequential([keras.Input((4,)),
                                 keras.layers.Dense(units, activation="softmax")])

    hp = keras_tuner.HyperParameters()
    tuning.make_hypermodel(build_model, grid_points=2)(hp)
    assert sorted(p.name for p in hp.space) == ["learning_rate", "units", "weight_decay"]
    assert tuning.grid_size(hp) == 8


@pytest.mark.parametrize("kwargs, name", [
    (dict(learning_rate=(1.0, 0.1)), "learning_rate"),  # inverted
    (dict(learning_rate=(0.1, 0.1)), "learning_rate"),  # empty
    (dict(learning_rate=(0.0, 1.0)), "learning_rate"),  # not positive
    (dict(learning_rate=(1e-3, 1.0, 3)), "learning_rate"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(learning_rate="0.1"), "learning_rate"),
    (dict(weight_decay=(-1e-4, 1e-2)), "weight_decay"),
    (dict(weight_decay=(0.0, 1e-2)), "weight_decay"),  # no 0 on a log range
    (dict(weight_decay=-0.1), "weight_decay"),
    (dict(grid_points=1), "grid_points"),
    (dict(grid_points=2.5), "grid_points"),
    (dict(optimizer="lion"), "optimizer"),
    (dict(momentum=1.0), "momentum"),
    (dict(metrics="accuracy"), "metrics"),
    (dict(warmup_steps=-1), "warmup_steps"),
    (dict(warmup_steps=2.5), "warmup_steps"),
])
def test_make_hypermodel_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument `{name}`"):
        tuning.make_hypermodel(tiny_model, **kwargs)


def test_make_hypermodel_rejects_a_non_callable_builder():
    with pytest.raises(ValueError, match="Argument `build_model`"):
        tuning.make_hypermodel(tiny_model())
