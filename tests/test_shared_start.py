"""Comparing LR schedules from a shared start: steps, reuse, pairing, the whole-run schedule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import runs
from kerasrec.shared_start import compare_schedules, paired_differences


def _load(seed):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    batches = lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    return batches(), batches(), batches(), None


def _model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])


def _compare(run, built, **overrides):
    def build():
        built.append(1)
        return _model()

    settings = dict(
        name="sgd",
        optimizer=keras.optimizers.SGD,
        learning_rate=0.1,
        schedules=["constant", "cosine"],
        epochs=3,
        start_epochs=1,
        warmup_epochs=0.5,
        steps_per_epoch=4,
        inputs={"dataset": "toy"},
    )
    settings.update(overrides)
    return compare_schedules(run, build, _load, **settings)


def _run(path, seeds=2):
    return runs.start("test", runs.make_parser(), argv=["--out", str(path), "--seeds", str(seeds)])


def test_each_schedule_starts_from_its_seeds_start_and_reruns_are_reused(tmp_path):
    built = []
    comparison = _compare(_run(tmp_path / "run"), built)
    assert len(built) == 2 * 3  # 2 seeds x (start + 2 schedules)
    assert comparison.seeds == [0, 1]
    assert set(comparison.results) == {"constant", "cosine"}
    # Each schedule's run continues from the start's weights: its history has
    # the remaining 2 epochs, and the start's final weights are what it loaded.
    for seed_index in range(2):
        history = comparison.history("cosine", seed_index)
        assert len(history["loss"]) == 3
        assert len(comparison.results["cosine"][seed_index]["history"]["loss"]) == 2
    start = _model()
    start.load_weights(comparison.start[0]["weights"])
    continued = _model()
    continued.load_weights(comparison.results["constant"][0]["weights"])
    assert not np.allclose(start.get_weights()[0], continued.get_weights()[0])

    again = _compare(_run(tmp_path / "run"), built)
    assert len(built) == 6  # every run was reused
    assert again.values("cosine") == comparison.values("cosine")

    _compare(_run(tmp_path / "run"), built, schedules=["constant", "cosine", "step"])
    assert len(built) == 6 + 2  # only the new schedule ran, once per seed


def test_the_whole_run_schedule_is_the_start_then_each_decay(tmp_path):
    comparison = _compare(_run(tmp_path / "run", seeds=1), [])
    lr = comparison.learning_rate("cosine")
    assert comparison.start_steps == 4
    assert lr(0) == pytest.approx(0.0)  # the warmup rises from 0
    assert lr(2) == pytest.approx(0.1)  # warmup of 2 steps done: the peak
    assert lr(4) == pytest.approx(0.1)  # the decay starts at the peak
    assert lr(4 + 8) == pytest.approx(0.0, abs=1e-7)  # and ends at 0
    assert comparison.learning_rate("constant")(11) == pytest.approx(0.1)


def test_gains_are_paired_by_seed(tmp_path):
    comparison = _compare(_run(tmp_path / "run"), [])
    a, b = comparison.values("cosine"), comparison.values("constant")
    assert comparison.gains("cosine") == [x - y for x, y in zip(a, b)]
    losses = comparison.values("constant", "test_loss"), comparison.values("cosine", "test_loss")
    assert comparison.gains("cosine", "test_loss", lower_is_better=True) == [
        x - y for x, y in zip(*losses)
    ]
    assert comparison.best_decay() == "cosine"
    with pytest.raises(ValueError, match="`schedule` must be one of"):
        comparison.values("step")


def test_paired_differences():
    assert paired_differences([3.0, None, 1.0], [1.0, 2.0, None]) == [2.0, None, None]
    with pytest.raises(ValueError, match="one value per seed"):
        paired_differences([1.0], [1.0, 2.0])


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"schedules": ["cosine", "step"]}, "'constant' and a decaying one"),
        ({"schedules": ["constant"]}, "'constant' and a decaying one"),
        ({"schedules": ["constant", "wavy"]}, "'constant' and a decaying one"),
        ({"start_epochs": 3}, "`start_epochs` must be below `epochs`"),
        ({"warmup_epochs": 1}, "`warmup_epochs` must be a number in"),
        ({"optimizer": "sgd"}, "`optimizer` must be callable"),
        ({"learning_rate": -1.0}, "`learning_rate` must be a number > 0"),
    ],
)
def test_bad_arguments_are_refused_before_training(tmp_path, overrides, match):
    built = []
    with pytest.raises(ValueError, match=match):
        _compare(_run(tmp_path / "run"), built, **overrides)
    assert built == []
