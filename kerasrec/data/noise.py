"""Wrong labels on purpose: `label_noise`, a `tf.data` transform.

Zhang et al. (2017), "Understanding deep learning requires rethinking
generalization", and Arpit et al. (2017), "A closer look at memorization in
deep networks": a network fits the clean examples first, then memorizes the
wrong labels, and that second phase costs validation accuracy. Giving a
fixed share of the training examples a wrong label makes that textbook
overfitting curve on a small dataset, where early stopping matters most.
"""

import numbers

import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_int, check_number, check_positive_ints

__all__ = ["label_noise"]

_RESOLUTION = 1000  # `fraction` is rounded to a multiple of 1 / _RESOLUTION.


def label_noise(input_shape, fraction, num_classes, seed=0):
    """Returns a `map` function that gives about `fraction` of the examples a wrong label.

    Which examples get a wrong label, and which wrong class, is a function of
    the image alone, so an example keeps the same label in every epoch
    however the pipeline shuffles or batches: the network can memorize the
    wrong labels, as it would memorize mislabelled data. For each image, with
    `weights` a fixed random array of integers in [1, 1000) of the image's
    shape, drawn from `seed`:

    ```python
    h = sum(pixels * weights)                   # an int64 hash of the image
    flip = h % 1000 < round(fraction * 1000)
    shift = 1 + (h // 1000) % (num_classes - 1)  # in 1 .. num_classes - 1
    label = (label + shift) % num_classes if flip else label
    ```

    So a changed label is never the example's own: the wrong class is spread
    over the other `num_classes - 1` classes. `fraction` is the probability
    that an example is changed, to 1/1000; the share of changed examples in
    a dataset of `n` varies about it by `sqrt(fraction * (1 - fraction) /
    n)`. Identical images get the same label. Pixels are hashed by their
    integer value (uint8, or floats holding integers such as the
    `[0, 255]` float32 images of `kerasrec.data.load`), a non-integer float
    pixel by the bits of its float32 value.

    Args:
        input_shape: Tuple of positive ints, the shape of one image, e.g.
            `(height, width, channels)`.
        fraction: Float in [0, 1), the share of examples to mislabel.
        num_classes: Int >= 2, the number of classes; the labels must be
            sparse class indices in `[0, num_classes)`.
        seed: Int >= 0, seed of the pixel weights: another seed changes
            other examples. Defaults to `0`.

    Returns:
        A function `(images, labels) -> (images, noisy_labels)`, to pass to
        `tf.data.Dataset.map`, for a batch (`images` of shape
        `(batch,) + input_shape`, `labels` of shape `(batch,)`) or a single
        example; the labels keep their dtype.

    Raises:
        ValueError: If an argument is out of range.

    Example:

    >>> train, val, test, info = kerasrec.data.load("digits")
    >>> noise = label_noise(info.input_shape, 0.3, info.num_classes)
    >>> noisy_train = train.map(noise)  # 30% wrong labels, every epoch the same
    """
    import tensorflow as tf

    input_shape = check_positive_ints("input_shape", input_shape, what="a tuple of positive ints")
    fraction = check_number("fraction", fraction, 0, 1)
    num_classes = check_int("num_classes", num_classes, 2)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ArgumentError(f"Argument `seed` must be an int >= 0. Received: seed={seed!r}")
    rng = np.random.default_rng(int(seed))
    weights = tf.constant(rng.integers(1, _RESOLUTION, size=input_shape), tf.int64)
    threshold = round(fraction * _RESOLUTION)
    axes = list(range(-len(input_shape), 0))

    def pixel_ints(images):
        if images.dtype.is_integer:
            return tf.cast(images, tf.int64)
        values = tf.cast(images, tf.float32)
        bits = tf.cast(tf.bitcast(values, tf.int32), tf.int64)
        return tf.where(values == tf.round(values), tf.cast(values, tf.int64), bits)

    def noisy(images, labels):
        h = tf.reduce_sum(pixel_ints(images) * weights, axis=axes)
        flip = tf.math.floormod(h, _RESOLUTION) < threshold
        shift = 1 + tf.math.floormod(tf.math.floordiv(h, _RESOLUTION), num_classes - 1)
        clean = tf.cast(labels, tf.int64)
        wrong = tf.math.floormod(clean + shift, num_classes)
        return images, tf.cast(tf.where(flip, wrong, clean), labels.dtype)

    return noisy
