"""Tests for kerasrec.lr_range (`lr_range_test`, `LRRangeResult`) and its plot.

`tests/test_callbacks_lr_finder.py` tests the callback, `LRFinder`, and
`smooth`; these run the one-call version, on synthetic data and on `digits`.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import data, lr_range, models
from kerasrec.callbacks import lr_finder
from kerasrec.lr_range import LRRangeResult, lr_range_test
from kerasrec.plots import plot_lr_range_test

import tiny


def tiny_model(learning_rate=0.01, momentum=0.0, batch_norm=False, **compile_kwargs):
    return tiny.tiny_model(learning_rate, momentum, hidden=4, batch_norm=batch_norm, **compile_kwargs)


def tiny_data(n=40, seed=0):
    return tiny.tiny_data(n, seed, bias=0.5)

def assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------------------
# lr_range_test() and its plot.


def tiny_dataset(n=40, batch_size=8):
    x, y = tiny_data(n)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def test_lr_range_test_rejects_bad_input():
    dataset = tiny_dataset()
    uncompiled = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="must be compiled"):
        lr_range_test(uncompiled, dataset)
    scheduled = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    scheduled.compile(
        optimizer=keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
        loss="mse",
    )
    with pytest.raises(ValueError, match="lr_range_test sets the optimizer's learning rate"):
        lr_range_test(scheduled, dataset)
    x, y = tiny_data()
    with pytest.raises(ValueError, match="Argument `dataset` must be a batched tf.data.Dataset"):
        lr_range_test(tiny_model(), (x, y))
    with pytest.raises(ValueError, match="Argument `method` must be one of"):
        lr_range_test(tiny_model(), dataset, method="lowest")
    with pytest.raises(ValueError, match="Argument `max_learning_rate` must be >"):
        lr_range_test(tiny_model(), dataset, min_learning_rate=1.0, max_learning_rate=0.5)


def test_lr_range_test_too_few_points_still_plots(tmp_path):
    # Starting far too high, the loss never falls: no suggestion, but the plot.
    path = tmp_path / "curve.png"
    with pytest.raises(ValueError, match="too few points"):
        lr_range_test(tiny_model(), tiny_dataset(), min_learning_rate=5.0,
                      max_learning_rate=1e3, num_steps=20, smoothing=0.0, plot_path=path)
    assert path.stat().st_size > 0


def test_lr_range_result_to_dict_is_json():
    result = LRRangeResult(0.1, (0.01, 0.1), (2.0, 1.0), (2.0, 1.5), True, "steepest",
                           "diverged")
    d = result.to_dict()
    assert d == {
        "suggested_learning_rate": 0.1, "learning_rates": [0.01, 0.1], "losses": [2.0, 1.0],
        "smoothed_losses": [2.0, 1.5], "stopped_early": True, "method": "steepest",
        "stop_reason": "diverged",
    }
    json.dumps(d)
    with pytest.raises(Exception):
        result.method = "minimum"  # frozen


def test_plot_lr_range_test_rejects_bad_curves(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        plot_lr_range_test([0.1, 1.0], [1.0], [1.0], tmp_path / "a.png")
    with pytest.raises(ValueError, match="finite learning rates > 0"):
        plot_lr_range_test([0.1, 1.0], [1.0, 2.0], [1.0, 1.5], tmp_path / "a.png",
                           suggested_learning_rate=0.0)


def test_digits_suggestion_is_sane_and_trains(tmp_path):
    # SGD + momentum on a small MLP over the real digits: the suggested
    # learning rate lies in the usual range for this optimizer, and training
    # from the same initial weights at that rate cuts the loss by more than
    # half in two epochs (chance is ln(10) = 2.30).
    train, _, _, info = data.load("digits", batch_size=32)
    model = models.build_mlp(info.input_shape, info.num_classes, hidden_units=(64,))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    weights = [w.copy() for w in model.get_weights()]
    plot = tmp_path / "lr_range_test.png"
    result = lr_range_test(model, train, min_learning_rate=1e-5, max_learning_rate=10.0,
                           num_steps=100, smoothing=0.9, plot_path=plot)
    assert plot.stat().st_size > 0
    assert 1e-4 <= result.suggested_learning_rate <= 1.0, result.suggested_learning_rate
    # The sweep went past the learning rates where the loss stops improving.
    assert result.smoothed_losses[-1] > 2 * min(result.smoothed_losses)
    assert_same(model.get_weights(), weights)
    assert float(model.optimizer.learning_rate) == np.float32(0.01)
    before = model.evaluate(train, verbose=0)
    model.optimizer.learning_rate = result.suggested_learning_rate
    model.fit(train, epochs=2, verbose=0)
    after = model.evaluate(train, verbose=0)
    assert after < 0.5 * before, (before, after)


def test_smooth_is_the_finder_one():
    assert lr_range.smooth is lr_finder.smooth
    assert "smooth" in lr_range.__all__
