"""Reference models that the recipes train unless a flag says otherwise.

Both take images as float32 in [0, 255] (what `kerasrec.data.load` yields)
and rescale inside, so a saved model is self-contained.
"""

import keras
from keras import layers

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_number, check_positive_int, check_positive_ints


def _check_common(input_shape, num_classes):
    check_positive_ints(
        "input_shape", input_shape, length=3,
        what="(height, width, channels) of positive integers",
    )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ArgumentError(
            f"Argument `num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}"
        )


def _check_no_weight_decay(builder, kwargs):
    """Rejects `weight_decay=` (renamed `l2`) and any other unknown argument."""
    if "weight_decay" in kwargs:
        raise ArgumentError(
            f"Argument `weight_decay` of `{builder}` was renamed `l2`: it is an L2 "
            "penalty on the kernels (`keras.regularizers.L2`), added to the loss, not "
            "the optimizer's decoupled weight decay. Pass `l2=` for the penalty, or "
            "`kerasrec.tuning.make_optimizer(..., weight_decay=...)` for decoupled "
            f"decay. Received: weight_decay={kwargs['weight_decay']!r}"
        )
    if kwargs:
        raise TypeError(f"{builder}() got unexpected keyword arguments: {sorted(kwargs)}")


# BatchNorm's moving statistics follow the weights with momentum 0.9 (PyTorch's
# default) instead of Keras's 0.99: with 0.99 a short run evaluates with
# statistics that lag far behind (measured: the CNN on `digits` after 2 quick
# epochs, 85% train but 19% validation accuracy; with 0.9 both are high).
BN_MOMENTUM = 0.9


def _bn(name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name)


def _residual_block(x, filters, stride, l2, name):
    regularizer = keras.regularizers.L2(l2) if l2 else None
    conv = lambda f, k, s, n: layers.Conv2D(  # noqa: E731
        f, k, strides=s, padding="same", use_bias=False,
        kernel_initializer="he_normal", kernel_regularizer=regularizer, name=n,
    )
    shortcut = x
    y = conv(filters, 3, stride, f"{name}_conv1")(x)
    y = _bn(f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = conv(filters, 3, 1, f"{name}_conv2")(y)
    y = _bn(f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = conv(filters, 1, stride, f"{name}_proj")(x)
        shortcut = _bn(f"{name}_proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def build_cnn(
    input_shape=(32, 32, 3),
    num_classes=10,
    *,
    width=16,
    depth=1,
    l2=0.0,
    dropout=0.0,
    name="reference_cnn",
    **kwargs,
):
    """A small ResNet-like CNN with BatchNorm, fast on two CPU cores.

    A 3x3 stem, then three stages of `depth` residual blocks with `width`,
    `2 * width` and `4 * width` filters (the last two halve the resolution),
    global average pooling and a softmax classifier. With the defaults it
    has about 80k parameters; an epoch over 20k 32x32 images takes roughly
    15 s on two CPU cores.

    Args:
        input_shape: `(height, width, channels)`. Defaults to `(32, 32, 3)`.
        num_classes: number of classes. Defaults to `10`.
        width: filters of the first stage. Defaults to `16`.
        depth: residual blocks per stage. Defaults to `1`.
        l2: the factor of an L2 penalty on the conv kernels of the residual
            blocks, `keras.regularizers.L2(l2)`, added to the loss (0
            disables). This is not the optimizer's decoupled weight decay
            (`kerasrec.tuning.make_optimizer(..., weight_decay=...)`, what
            `kerasrec.playbook` tunes). Defaults to `0.0`.
        dropout: dropout before the classifier. Defaults to `0.0`.
        name: model name. Defaults to `"reference_cnn"`.

    Returns:
        An uncompiled `keras.Model` with softmax outputs.

    Raises:
        ValueError: a bad argument, or `weight_decay=` (the old name of
            `l2`).

    Example:

    >>> model = kerasrec.models.build_cnn((32, 32, 3), 10, width=16, depth=1)
    >>> model.output_shape
    (None, 10)
    """
    _check_no_weight_decay("build_cnn", kwargs)
    _check_common(input_shape, num_classes)
    check_positive_int("width", width)
    check_positive_int("depth", depth)
    check_number("l2", l2, 0)
    check_number("dropout", dropout, 0, 1)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name="stem_conv")(x)
    x = _bn("stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage in range(3):
        filters = width * 2**stage
        for block in range(depth):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _residual_block(x, filters, stride, l2, f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def build_mlp(
    input_shape=(8, 8, 1),
    num_classes=10,
    *,
    hidden_units=(256, 128),
    l2=0.0,
    dropout=0.0,
    name="reference_mlp",
    **kwargs,
):
    """A multilayer perceptron on flattened pixels.

    Args:
        input_shape: `(height, width, channels)`. Defaults to `(8, 8, 1)`.
        num_classes: number of classes. Defaults to `10`.
        hidden_units: width of each hidden ReLU layer. Defaults to `(256, 128)`.
        l2: the factor of an L2 penalty on the hidden layers' kernels,
            `keras.regularizers.L2(l2)`, added to the loss (0 disables); not
            the optimizer's decoupled weight decay (see `build_cnn`).
            Defaults to `0.0`.
        dropout: dropout after each hidden layer. Defaults to `0.0`.
        name: model name. Defaults to `"reference_mlp"`.

    Returns:
        An uncompiled `keras.Model` with softmax outputs.

    Raises:
        ValueError: a bad argument, or `weight_decay=` (the old name of
            `l2`).
    """
    _check_common(input_shape, num_classes)
    check_positive_ints(
        "hidden_units", hidden_units, what="a non-empty sequence of positive integers"
    )
    _check_no_weight_decay("build_mlp", kwargs)
    check_number("l2", l2, 0)
    check_number("dropout", dropout, 0, 1)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"dense{i + 1}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def build(name, input_shape, num_classes, **kwargs):
    """Builds a reference model by name: `"cnn"` or `"mlp"`.

    Args:
        name: `"cnn"` (`build_cnn`) or `"mlp"` (`build_mlp`).
        input_shape: `(height, width, channels)`.
        num_classes: number of classes.
        **kwargs: the builder's other arguments (`l2`, `dropout`, ...).

    Returns:
        An uncompiled `keras.Model` with softmax outputs.

    Raises:
        ValueError: an unknown `name`, or a bad argument of the builder.

    Example:

    >>> model = kerasrec.models.build("mlp", (8, 8, 1), 10, l2=1e-4)
    """
    builders = {"cnn": build_cnn, "mlp": build_mlp}
    if name not in builders:
        raise ArgumentError(f"Argument `name` must be one of {sorted(builders)}. Received: name={name!r}")
    return builders[name](input_shape, num_classes, **kwargs)
