"""Tests for kerasrec.callbacks.lr_finder (`LRFinder` and `smooth`).

Hooks are called directly on a tiny model with hand-made logs (as Keras's own
callback tests do), plus short real `fit()` runs on synthetic data.
`tests/test_lr_range.py` tests `kerasrec.lr_range.lr_range_test`.
"""

import json
import math

import keras
import numpy as np
import pytest

from kerasrec.callbacks import LRFinder
from kerasrec.callbacks.lr_finder import smooth
from kerasrec.lr_range import smooth as lr_range_smooth

import tiny


def tiny_model(learning_rate=0.01, momentum=0.0, batch_norm=False, **compile_kwargs):
    return tiny.tiny_model(learning_rate, momentum, hidden=4, batch_norm=batch_norm, **compile_kwargs)


def tiny_data(n=40, seed=0):
    return tiny.tiny_data(n, seed, bias=0.5)


def expected_learning_rates(low, high, num_steps):
    return [low * (high / low) ** (i / (num_steps - 1)) for i in range(num_steps)]


def reference_smoothing(losses, beta):
    """Bias-corrected exponential moving average, in plain Python."""
    out, average = [], 0.0
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return out


class LearningRateSpy(keras.callbacks.Callback):
    """Placed after LRFinder: the learning rate and the loss each batch sees.

    At batch begin, `losses` gets the loss of the batch about to run under
    the current weights: the loss that `train_step` computes before its
    update (the batches come in order: `shuffle=False`).
    """

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.learning_rates, self.losses = [], []
        self._offset = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.learning_rates.append(float(self.model.optimizer.learning_rate))
        start = self._offset % len(self.x)
        xb = self.x[start:start + self.batch_size]
        yb = self.y[start:start + self.batch_size]
        prediction = keras.ops.convert_to_numpy(self.model(xb, training=False))
        self.losses.append(float(np.mean((prediction - yb) ** 2)))
        self._offset += self.batch_size


def feed(finder, losses):
    """Calls the finder's batch hooks with fake logs, as `fit()` would."""
    for i, loss in enumerate(losses):
        finder.on_train_batch_begin(i)
        finder.on_train_batch_end(i, {"loss": loss})
        if finder.model.stop_training:
            break


def hooked_finder(**kwargs):
    model = tiny_model()
    model.stop_training = False
    finder = LRFinder(**kwargs)
    finder.set_model(model)
    finder.on_train_begin()
    return finder


# ---------------------------------------------------------------------------
# The sweep: learning rates, losses, smoothing, stopping.


def test_learning_rates_are_exponential_across_epochs():
    x, y = tiny_data(40)
    model = tiny_model(0.01)
    finder = LRFinder(1e-4, 1e-1, num_steps=12, smoothing=0.0, divergence_factor=1e6)
    spy = LearningRateSpy(x, y, batch_size=8)
    # 5 batches per epoch: the sweep runs across epochs and stops in the third.
    history = model.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0,
                        callbacks=[finder, spy])
    expected = expected_learning_rates(1e-4, 1e-1, 12)
    assert finder.learning_rates == pytest.approx(expected, rel=1e-12, abs=0)
    assert finder.learning_rates[0] == pytest.approx(1e-4, rel=1e-12)
    assert finder.learning_rates[-1] == pytest.approx(1e-1, rel=1e-12)
    # The optimizer really ran each batch at that learning rate (float32).
    assert spy.learning_rates == pytest.approx(expected, rel=1e-6)
    assert len(history.history["loss"]) == 3  # 5 + 5 + 2 batches
    assert finder.stop_reason == "num_steps" and finder.stopped_early is False
    assert len(finder.losses) == len(finder.smoothed_losses) == 12


def test_losses_are_each_batch_own_loss_not_the_running_mean():
    x, y = tiny_data(40)
    model = tiny_model(0.01)
    finder = LRFinder(1e-3, 1e-1, num_steps=10, smoothing=0.0, divergence_factor=1e6)
    spy = LearningRateSpy(x, y, batch_size=8)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[finder, spy])
    assert finder.losses == pytest.approx(spy.losses, rel=1e-4)
    # The running mean of the epoch differs: the losses fall batch to batch.
    running = np.cumsum(spy.losses[:5]) / np.arange(1, 6)
    assert not np.allclose(finder.losses[:5], running, rtol=1e-3)


def test_smoothed_loss_matches_bias_corrected_reference():
    losses = [2.3, 2.1, 2.4, 1.9, 1.7, 1.8, 1.2, 1.1, 1.3, 0.9]
    finder = hooked_finder(num_steps=10, smoothing=0.9, divergence_factor=100.0)
    feed(finder, losses)
    assert finder.losses == losses
    assert finder.smoothed_losses == pytest.approx(reference_smoothing(losses, 0.9), rel=1e-12)
    # Bias correction: the first smoothed loss is the first loss, not 0.1 x it.
    assert finder.smoothed_losses[0] == pytest.approx(2.3, rel=1e-12)
    assert finder.stop_reason == "num_steps"


def test_smoothing_zero_is_the_raw_loss():
    losses = [3.0, 2.0, 1.0, 0.5]
    finder = hooked_finder(num_steps=4, smoothing=0.0)
    feed(finder, losses)
    assert finder.smoothed_losses == losses


def test_stops_when_smoothed_loss_exceeds_divergence_factor_times_best():
    losses = [2.0, 1.5, 1.0, 1.2, 2.0, 3.9, 4.1, 5.0, 6.0, 7.0]
    finder = hooked_finder(num_steps=10, smoothing=0.0, divergence_factor=4.0)
    feed(finder, losses)
    # 4.1 > 4 x 1.0 at the 7th batch: stop there, not before.
    assert len(finder.losses) == 7
    assert finder.stopped_early is True and finder.stop_reason == "diverged"
    assert finder.model.stop_training is True


def test_stops_on_non_finite_loss():
    finder = hooked_finder(num_steps=10, smoothing=0.5)
    feed(finder, [2.0, 1.5, float("nan"), 1.0])
    assert len(finder.losses) == 3
    assert finder.stopped_early is True and finder.stop_reason == "non_finite"


def test_fit_stops_on_divergence_with_too_high_max_learning_rate():
    # Batches of 50, so that the loss varies little from batch to batch.
    x, y = tiny_data(400)
    model = tiny_model(0.01)
    finder = LRFinder(1e-4, 100.0, num_steps=60, smoothing=0.5)
    model.fit(x, y, batch_size=50, epochs=100, verbose=0, callbacks=[finder])
    assert finder.stopped_early is True
    assert finder.stop_reason in ("diverged", "non_finite")
    assert len(finder.losses) < 60
    last = finder.smoothed_losses[-1]
    assert not math.isfinite(last) or last > 4.0 * min(finder.smoothed_losses)
    # It stopped well past the learning rate where SGD on this problem is
    # stable (2 / largest curvature of the MSE is of order 0.1-1).
    assert finder.learning_rates[-1] > 0.1


def test_fit_ended_before_num_steps():
    x, y = tiny_data(16)
    finder = LRFinder(1e-4, 1e-2, num_steps=50, smoothing=0.0)
    tiny_model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[finder])
    assert len(finder.losses) == 2
    assert finder.stop_reason == "fit_ended" and finder.stopped_early is False


# ---------------------------------------------------------------------------
# Restoring the model.


def snapshot(model):
    return ([w.copy() for w in model.get_weights()],
            [keras.ops.convert_to_numpy(v).copy() for v in model.optimizer.variables])


def assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_restores_weights_optimizer_state_and_learning_rate():
    x, y = tiny_data(40)
    model = tiny_model(0.01, momentum=0.9, batch_norm=True)
    # Train first, so that momentum, iterations and BatchNorm statistics are
    # not at their initial values.
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    weights, optimizer_variables = snapshot(model)
    assert int(model.optimizer.iterations) == 10
    finder = LRFinder(1e-4, 1.0, num_steps=15, smoothing=0.5, divergence_factor=1e6)
    model.fit(x, y, batch_size=8, epochs=10, verbose=0, callbacks=[finder])
    assert len(finder.losses) == 15
    after_weights, after_optimizer = snapshot(model)
    assert_same(after_weights, weights)
    assert_same(after_optimizer, optimizer_variables)
    assert int(model.optimizer.iterations) == 10
    assert float(model.optimizer.learning_rate) == np.float32(0.01)
    # Training afterwards continues from exactly there: the same first update
    # as a twin model that never ran the test.
    twin = tiny_model(0.01, momentum=0.9, batch_norm=True)
    twin.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)  # builds it
    twin.set_weights(weights)
    for variable, value in zip(twin.optimizer.variables, optimizer_variables):
        variable.assign(value)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    twin.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert_same(model.get_weights(), twin.get_weights())


def test_restores_an_unbuilt_optimizer():
    x, y = tiny_data(40)
    model = tiny_model(0.05, momentum=0.9)
    weights = [w.copy() for w in model.get_weights()]
    assert not model.optimizer.built
    finder = LRFinder(1e-4, 1.0, num_steps=10, divergence_factor=1e6)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[finder])
    assert_same(model.get_weights(), weights)
    assert int(model.optimizer.iterations) == 0
    assert all(not np.any(keras.ops.convert_to_numpy(v))
               for v in model.optimizer.variables
               if v is not model.optimizer._learning_rate)
    assert float(model.optimizer.learning_rate) == np.float32(0.05)


def test_restore_weights_false_keeps_weights_but_restores_learning_rate():
    x, y = tiny_data(40)
    model = tiny_model(0.05)
    weights = [w.copy() for w in model.get_weights()]
    finder = LRFinder(1e-3, 1e-1, num_steps=10, divergence_factor=1e6,
                      restore_weights=False)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[finder])
    assert not all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))
    assert int(model.optimizer.iterations) == 10
    assert float(model.optimizer.learning_rate) == np.float32(0.05)


# ---------------------------------------------------------------------------
# The suggestion, on a synthetic curve.

NUM_STEPS = 50
LOW, HIGH = 1e-4, 10.0
STEEPEST, BOTTOM = 20, 35  # batch of the steepest drop; of the lowest loss


def synthetic_losses():
    """A falling sigmoid in log10(lr), steepest at batch 20, then a rise.

    The loss is lowest at batch 35 and rises linearly in log10(lr) after it;
    a sharp dip at batch 40, in the diverging tail, is steeper than the
    sigmoid and must be ignored.
    """
    x = np.log10(expected_learning_rates(LOW, HIGH, NUM_STEPS))
    x0, x1 = x[STEEPEST], x[BOTTOM]
    loss = 1.0 + 1.0 / (1.0 + np.exp((x - x0) / 0.1)) + 3.0 * np.maximum(0.0, x - x1)
    loss[40] -= 0.6
    return [float(v) for v in loss]


def test_suggestion_methods_on_a_synthetic_curve():
    finder = hooked_finder(min_learning_rate=LOW, max_learning_rate=HIGH,
                           num_steps=NUM_STEPS, smoothing=0.0)
    feed(finder, synthetic_losses())
    lrs = expected_learning_rates(LOW, HIGH, NUM_STEPS)
    assert finder.stop_reason == "diverged" and len(finder.losses) < NUM_STEPS
    assert len(finder.losses) > 41  # the dip at 40 was recorded
    assert finder.suggestion("steepest") == pytest.approx(lrs[STEEPEST], rel=1e-12)
    assert finder.suggestion("minimum") == pytest.approx(lrs[BOTTOM] / 10, rel=1e-12)
    # From the skipped 5 batches to the lowest loss the curve falls all the
    # way: 31 points, a valley of 31 (fast.ai counts it from one point
    # earlier), half-way down it: 5 - 1 + 31 // 3 + 31 // 6 = batch 19.
    assert finder.suggestion() == pytest.approx(lrs[19], rel=1e-12)
    assert finder.suggestion("valley") == finder.suggestion()


def fastai_valley(losses):
    """fast.ai's `valley` (fastai/callback/schedule.py), loop for loop."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def test_valley_matches_fastai_on_noisy_curves():
    rng = np.random.default_rng(0)
    for _ in range(50):
        num_steps = int(rng.integers(20, 120))
        # A noisy fall then a rise: the lowest loss somewhere in the middle.
        x = np.linspace(0.0, 1.0, num_steps)
        losses = 2.0 - 1.5 * x + 3.0 * np.maximum(0.0, x - 0.7) ** 2 * 10
        losses = losses + rng.normal(0.0, 0.05, num_steps)
        finder = hooked_finder(min_learning_rate=LOW, max_learning_rate=HIGH,
                               num_steps=num_steps, smoothing=0.0, divergence_factor=100.0)
        feed(finder, [float(v) for v in losses])
        lrs = np.asarray(finder.learning_rates)
        window = np.asarray(finder.smoothed_losses)[: int(np.argmin(finder.smoothed_losses)) + 1]
        skip = num_steps // 10
        expected = lrs[skip + fastai_valley(list(window[skip:]))]
        assert finder.suggestion("valley") == pytest.approx(expected, rel=1e-12)


def test_suggestion_skips_the_first_batches():
    losses = synthetic_losses()
    losses[0] = 9.0  # one wild first batch: the steepest "drop" is at batch 0-1
    finder = hooked_finder(min_learning_rate=LOW, max_learning_rate=HIGH,
                           num_steps=NUM_STEPS, smoothing=0.0, divergence_factor=100.0)
    feed(finder, losses)
    lrs = expected_learning_rates(LOW, HIGH, NUM_STEPS)
    assert finder.suggestion("steepest") == pytest.approx(lrs[STEEPEST], rel=1e-12)  # skips 5
    assert finder.suggestion("steepest", skip_begin=0) == pytest.approx(lrs[0], rel=1e-12)


def test_suggestion_needs_enough_points():
    finder = LRFinder()
    with pytest.raises(ValueError, match="too few points"):
        finder.suggestion()
    # The loss only rises: its minimum is at the first usable batch.
    finder = hooked_finder(num_steps=20, smoothing=0.0, divergence_factor=100.0)
    feed(finder, [1.0 + 0.1 * i for i in range(20)])
    with pytest.raises(ValueError, match="too few points"):
        finder.suggestion()
    with pytest.raises(ValueError, match="too few points"):
        finder.suggestion("minimum")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "fastest"}, "Argument `method` must be one of"),
        ({"skip_begin": -1}, "Argument `skip_begin` must be an int >= 0"),
        ({"skip_begin": 1.5}, "Argument `skip_begin` must be an int >= 0"),
    ],
)
def test_suggestion_rejects_bad_arguments(kwargs, message):
    finder = hooked_finder(min_learning_rate=LOW, max_learning_rate=HIGH,
                           num_steps=NUM_STEPS, smoothing=0.0)
    feed(finder, synthetic_losses())
    with pytest.raises(ValueError, match=message):
        finder.suggestion(**kwargs)


# ---------------------------------------------------------------------------
# Arguments and configuration.


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_learning_rate": 1.0, "max_learning_rate": 0.1},
         "Argument `max_learning_rate` must be > `min_learning_rate`. "
         "Received: min_learning_rate=1.0, max_learning_rate=0.1"),
        ({"min_learning_rate": 0.1, "max_learning_rate": 0.1},
         "must be > `min_learning_rate`"),
        ({"min_learning_rate": 0.0}, "Argument `min_learning_rate` must be a number > 0"),
        ({"min_learning_rate": -1e-3}, "Argument `min_learning_rate` must be a number > 0"),
        ({"max_learning_rate": float("inf")}, "Argument `max_learning_rate` must be a number > 0"),
        ({"num_steps": 1}, "Argument `num_steps` must be an int >= 2. Received: num_steps=1"),
        ({"num_steps": 10.0}, "Argument `num_steps` must be an int >= 2"),
        ({"num_steps": True}, "Argument `num_steps` must be an int >= 2"),
        ({"smoothing": 1.0}, r"Argument `smoothing` must be a number in \[0, 1\)"),
        ({"smoothing": -0.1}, r"Argument `smoothing` must be a number in \[0, 1\)"),
        ({"divergence_factor": 1.0}, "Argument `divergence_factor` must be a number > 1"),
        ({"restore_weights": "yes"}, "Argument `restore_weights` must be a bool"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LRFinder(**kwargs)


def test_schedule_in_optimizer_fails_at_train_begin():
    x, y = tiny_data(16)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    with pytest.raises(ValueError, match="LRFinder sets the optimizer's learning rate.*not settable"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LRFinder()])
    assert int(model.optimizer.iterations) == 0  # failed before any step


def test_several_steps_per_execution_fail_at_train_begin():
    x, y = tiny_data(16)
    model = tiny_model(steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=2"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[LRFinder()])


def test_config_round_trip():
    finder = LRFinder(min_learning_rate=1e-5, max_learning_rate=3.0, num_steps=200,
                      smoothing=0.9, divergence_factor=5.0, restore_weights=False)
    config = finder.get_config()
    assert config == {
        "min_learning_rate": 1e-5, "max_learning_rate": 3.0, "num_steps": 200,
        "smoothing": 0.9, "divergence_factor": 5.0, "restore_weights": False,
    }
    assert LRFinder.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(finder)))
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, LRFinder) and restored.get_config() == config
    assert LRFinder().get_config() == {
        "min_learning_rate": 1e-6, "max_learning_rate": 10.0, "num_steps": 100,
        "smoothing": 0.98, "divergence_factor": 4.0, "restore_weights": True,
    }




# ---------------------------------------------------------------------------
# smooth(), the one moving average.


def reference_without_bias_correction(values, beta):
    """The plain exponential moving average from 0, in plain Python."""
    out, average = [], 0.0
    for value in values:
        average = beta * average + (1 - beta) * value
        out.append(average)
    return out


CURVES = [
    [2.3, 2.1, 2.4, 1.9, 1.7, 1.8, 1.2, 1.1, 1.3, 0.9],
    [5.0],
    list(np.random.default_rng(0).normal(1.0, 0.3, 200)),
]


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
@pytest.mark.parametrize("values", CURVES, ids=["ten", "one", "noisy_200"])
def test_smooth_matches_plain_python_references(values, beta):
    assert smooth(values, beta=beta) == pytest.approx(
        reference_smoothing(values, beta), rel=1e-12)
    assert smooth(values, beta=beta, bias_correction=False) == pytest.approx(
        reference_without_bias_correction(values, beta), rel=1e-12)
    assert all(type(v) is float for v in smooth(values, beta=beta))


def test_smooth_properties():
    assert smooth([]) == []
    assert smooth([3.0, 3.0, 3.0], beta=0.9) == pytest.approx([3.0] * 3, rel=1e-12)
    # Without the bias correction the start is pulled towards 0.
    assert smooth([3.0, 3.0], beta=0.9, bias_correction=False) == pytest.approx([0.3, 0.57])
    assert smooth([1.0, 2.0], beta=0.0) == [1.0, 2.0]
    assert smooth([1.0, 2.0]) == smooth([1.0, 2.0], beta=0.98)  # LRFinder's default
    nan = smooth([1.0, float("nan"), 1.0], beta=0.5)
    assert nan[0] == 1.0 and all(math.isnan(v) for v in nan[1:])
    assert smooth(np.array([1.0, 2.0]), beta=0.5) == pytest.approx([1.0, 2.0 - 1.0 / 3])
    assert lr_range_smooth is smooth


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beta": 1.0}, r"Argument `beta` must be a number in \[0, 1\)"),
        ({"beta": -0.1}, r"Argument `beta` must be a number in \[0, 1\)"),
        ({"beta": float("nan")}, "Argument `beta`"),
        ({"bias_correction": 1}, "Argument `bias_correction` must be a bool"),
    ],
)
def test_smooth_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        smooth([1.0], **kwargs)


def test_finder_smooths_with_smooth():
    losses = [2.3, 2.1, 2.4, 1.9, 1.7, 1.8, 1.2, 1.1, 1.3, 0.9]
    finder = hooked_finder(num_steps=10, smoothing=0.7, divergence_factor=100.0)
    feed(finder, losses)
    assert finder.smoothed_losses == smooth(losses, beta=0.7)  # exactly
