"""Tests for kerasrec.callbacks.batch_loss (`BatchLoss`).

The hooks are called directly on a compiled model whose loss tracker is fed
by hand, plus real `fit()` runs at a zero learning rate, so that every
batch's loss can be computed directly afterwards with `evaluate()`.
"""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec.callbacks import BatchLoss, LRFinder

NUM_EXAMPLES, BATCH_SIZE = 1000, 64  # 16 batches per pass, the last of 40


def classifier():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    # A zero learning rate keeps the weights, so every batch can be evaluated after.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    return model


def batches():
    rng = np.random.default_rng(0)
    x = rng.random((NUM_EXAMPLES, 8), dtype=np.float32)
    y = rng.integers(0, 3, NUM_EXAMPLES)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH_SIZE)


def direct_losses(model, dataset):
    """The loss of every batch of one pass, computed directly, and its size."""
    return [(float(model.evaluate(xb, yb, verbose=0)), len(yb)) for xb, yb in dataset]


def loss_tracker(model):
    (tracker,) = [m for m in model.metrics if m.name == "loss"]
    return tracker


def test_hooks_read_the_running_total_and_count():
    model = classifier()
    tracker = loss_tracker(model)
    recorder = BatchLoss()
    recorder.set_model(model)
    recorder.on_train_begin()
    for epoch, batches_of_epoch in enumerate([[(2.0, 4), (1.0, 2), (4.0, 8)], [(3.0, 5)]]):
        model.reset_metrics()  # as fit() does before on_epoch_begin
        recorder.on_epoch_begin(epoch)
        for batch, (loss, size) in enumerate(batches_of_epoch):
            recorder.on_train_batch_begin(batch)
            tracker.update_state(loss, sample_weight=size)
            recorder.on_train_batch_end(batch, {"loss": float(tracker.result())})
    assert recorder.losses == pytest.approx([2.0, 1.0, 4.0, 3.0], rel=1e-6)
    assert recorder.num_batches == [1, 1, 1, 1]


def test_recovers_each_batch_loss_from_the_running_mean():
    model = classifier()
    recorder = BatchLoss()
    model.fit(batches().repeat(), epochs=1, steps_per_epoch=40, verbose=0,
              callbacks=[recorder])
    expected = [loss for loss, _ in direct_losses(model, batches())] * 3  # wraps around
    np.testing.assert_allclose(recorder.losses, expected[:40], rtol=1e-4)
    assert recorder.num_batches == [1] * 40


def test_regression_epochs_that_start_inside_a_pass():
    # Regression: BatchLoss assumed every epoch starts at the beginning of
    # the data, so with steps_per_epoch (10) smaller than a pass (16
    # batches) over a repeated dataset it put the short batch of 40 at the
    # wrong place in later epochs (the running mean restarts each epoch, the
    # data does not) and got those losses wrong.
    model = classifier()
    recorder = BatchLoss()
    model.fit(batches().repeat(), epochs=4, steps_per_epoch=10, verbose=0,
              callbacks=[recorder])
    expected = [loss for loss, _ in direct_losses(model, batches())] * 3
    np.testing.assert_allclose(recorder.losses, expected[:40], rtol=1e-4)


def test_regression_several_steps_per_execution():
    # Regression: with steps_per_execution=2 Keras calls the batch hooks once
    # per 2 batches; BatchLoss took each call for one batch of `batch_size`,
    # so it gave half as many "batch" losses as batches, each in fact the
    # mean of two, and the one holding the short batch of 40 wrong. Each
    # entry is now the mean loss of the batches it covers, and
    # `num_batches` says how many.
    model = classifier()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  steps_per_execution=2)
    recorder = BatchLoss()
    model.fit(batches(), epochs=2, verbose=0, callbacks=[recorder])
    direct = direct_losses(model, batches())
    pairs = [direct[i:i + 2] for i in range(0, len(direct), 2)]
    expected = [sum(loss * size for loss, size in pair) / sum(size for _, size in pair)
                for pair in pairs]
    assert len(recorder.losses) == 16  # 8 executions per epoch, 2 epochs
    np.testing.assert_allclose(recorder.losses, expected * 2, rtol=1e-4)
    assert recorder.num_batches == [2] * 16


def test_losses_grow_over_fit_calls():
    model = classifier()
    recorder = BatchLoss()
    model.fit(batches(), epochs=1, verbose=0, callbacks=[recorder])
    model.fit(batches(), epochs=1, verbose=0, callbacks=[recorder])
    assert len(recorder.losses) == 32
    np.testing.assert_allclose(recorder.losses[:16], recorder.losses[16:], rtol=1e-5)


def test_needs_a_compiled_loss():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    recorder = BatchLoss()
    recorder.set_model(model)
    with pytest.raises(ValueError, match="BatchLoss reads the running mean"):
        recorder.on_train_begin()


def test_metrics_reset_between_batches_fail_loudly():
    # LRFinder resets the metrics before every batch.
    model = classifier()
    x, y = np.zeros((32, 8), "float32"), np.zeros(32, "int32")
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match="reset between two batches"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                  callbacks=[LRFinder(num_steps=4), BatchLoss()])


def test_validates_deprecates_and_round_trips():
    with pytest.raises(ValueError, match="`batch_size`"):
        BatchLoss(0, 10)
    with pytest.raises(ValueError, match="`num_examples`"):
        BatchLoss(8, -1)
    with pytest.warns(DeprecationWarning, match="no longer needs `batch_size`"):
        old_style = BatchLoss(8, 100)
    assert BatchLoss.from_config(old_style.get_config()).get_config() == {
        "batch_size": 8, "num_examples": 100}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recorder = BatchLoss()
    assert recorder.get_config() == {"batch_size": None, "num_examples": None}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(recorder))
    assert type(restored) is BatchLoss and restored.get_config() == recorder.get_config()
