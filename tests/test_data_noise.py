"""Tests for kerasrec.data.noise (`label_noise`)."""

import numpy as np
import pytest
import tensorflow as tf

from kerasrec import data
from kerasrec.data.noise import label_noise

SHAPE, CLASSES, N = (6, 6, 1), 10, 4000


def images_and_labels(n=N, seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n,) + SHAPE).astype(dtype)
    y = rng.integers(0, CLASSES, size=n).astype("int64")
    return x, y


def noisy_labels(noise, x, y, batch_size=128):
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).map(noise)
    return np.concatenate([labels.numpy() for _, labels in dataset])


def reference(x, y, fraction, num_classes, seed):
    """The documented formula, in NumPy."""
    weights = np.random.default_rng(seed).integers(1, 1000, size=x.shape[1:])
    h = (x.astype(np.int64) * weights).reshape(len(x), -1).sum(axis=1)
    flip = h % 1000 < round(fraction * 1000)
    shift = 1 + (h // 1000) % (num_classes - 1)
    return np.where(flip, (y + shift) % num_classes, y)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.75])
def test_changes_about_the_fraction_and_never_to_the_same_label(fraction):
    x, y = images_and_labels()
    noisy = noisy_labels(label_noise(SHAPE, fraction, CLASSES), x, y)
    changed = noisy != y
    spread = 4 * np.sqrt(fraction * (1 - fraction) / N) + 1e-9  # 4 standard deviations
    assert abs(changed.mean() - fraction) <= spread, changed.mean()
    assert noisy.dtype == y.dtype and noisy.min() >= 0 and noisy.max() < CLASSES
    np.testing.assert_array_equal(noisy, reference(x, y, fraction, CLASSES, 0))
    if fraction:
        # The wrong classes are spread over all the other classes.
        shifts = (noisy[changed] - y[changed]) % CLASSES
        assert set(shifts) == set(range(1, CLASSES))


def test_two_classes_always_flip_to_the_other():
    x, y = images_and_labels()
    y = y % 2
    noisy = noisy_labels(label_noise(SHAPE, 0.5, 2), x, y)
    changed = noisy != y
    np.testing.assert_array_equal(noisy[changed], 1 - y[changed])


def test_deterministic_by_seed_whatever_the_batching_and_order():
    x, y = images_and_labels()
    noise = label_noise(SHAPE, 0.3, CLASSES, seed=3)
    first = noisy_labels(noise, x, y, batch_size=128)
    np.testing.assert_array_equal(first, noisy_labels(label_noise(SHAPE, 0.3, CLASSES, seed=3),
                                                      x, y, batch_size=7))
    order = np.random.default_rng(1).permutation(N)
    np.testing.assert_array_equal(noisy_labels(noise, x[order], y[order]), first[order])
    # One example at a time, unbatched.
    single = tf.data.Dataset.from_tensor_slices((x[:50], y[:50])).map(noise)
    np.testing.assert_array_equal([int(label) for _, label in single], first[:50])
    # Another seed changes other examples.
    other = noisy_labels(label_noise(SHAPE, 0.3, CLASSES, seed=4), x, y)
    assert np.mean((other != y) != (first != y)) > 0.2


def test_pixel_types_integer_floats_and_others():
    x, y = images_and_labels(n=500)
    noise = label_noise(SHAPE, 0.3, CLASSES)
    as_float = noisy_labels(noise, x, y)
    np.testing.assert_array_equal(noisy_labels(noise, x.astype("uint8"), y), as_float)
    # Non-integer pixels (scaled to [0, 1]) still spread the flips.
    scaled = noisy_labels(noise, x / 255.0, y)
    assert 0.2 < np.mean(scaled != y) < 0.4
    images, labels = noise(tf.constant(x[:4] / 255.0, tf.float32), tf.constant(y[:4], tf.int32))
    assert labels.dtype == tf.int32 and images.dtype == tf.float32


def test_exported_from_kerasrec_data():
    assert data.label_noise is label_noise


@pytest.mark.parametrize(
    "args, message",
    [
        (((6, 0), 0.1, 10), "Argument `input_shape` must be a tuple of positive ints"),
        ((6, 0.1, 10), "Argument `input_shape`"),
        ((SHAPE, 1.0, 10), r"Argument `fraction` must be a number in \[0, 1\)"),
        ((SHAPE, -0.1, 10), "Argument `fraction`"),
        ((SHAPE, 0.1, 1), "Argument `num_classes` must be an int >= 2"),
        ((SHAPE, 0.1, 2.0), "Argument `num_classes`"),
        ((SHAPE, 0.1, 10, -1), "Argument `seed` must be an int >= 0"),
        ((SHAPE, 0.1, 10, 1.5), "Argument `seed`"),
    ],
)
def test_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        label_noise(*args)
