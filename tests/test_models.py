"""Tests for kerasrec.models: the reference CNN and MLP.

Parameter counts are checked against a plain-Python formula, shared behaviour
(softmax outputs, rescaling inside, `.keras` round trip) is parametrized over
both builders, and one short real `fit()` per model on the embedded digits.
"""

import keras
import numpy as np
import pytest

from kerasrec import models
from kerasrec.data import load


def cnn_parameters(width, depth, channels=3, num_classes=10):
    """Reference count for `build_cnn`: bias-free convs, BatchNorm (4 per filter)."""
    batch_norm = lambda filters: 4 * filters  # noqa: E731
    total = 9 * channels * width + batch_norm(width)  # stem
    in_filters = width
    for stage in range(3):
        filters = width * 2**stage
        for block in range(depth):
            total += 9 * in_filters * filters + batch_norm(filters)
            total += 9 * filters * filters + batch_norm(filters)
            if stage > 0 and block == 0:  # stride 2 and more filters: projection
                total += in_filters * filters + batch_norm(filters)
            in_filters = filters
    return total + in_filters * num_classes + num_classes


def mlp_parameters(inputs, hidden_units, num_classes=10):
    total, previous = 0, inputs
    for units in (*hidden_units, num_classes):
        total += previous * units + units
        previous = units
    return total


def random_images(shape, n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(n, *shape)).astype("float32")


BUILDERS = {
    "cnn": (models.build_cnn, (32, 32, 3)),
    "mlp": (models.build_mlp, (8, 8, 1)),
}


# ---------------------------------------------------------------------------
# Architecture.


def test_build_cnn_default_output_shape_and_parameter_count():
    model = models.build_cnn()
    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.count_params() == cnn_parameters(16, 1) == 78_714
    assert 70_000 <= model.count_params() <= 100_000


@pytest.mark.parametrize("width, depth", [(8, 1), (32, 1), (16, 2), (8, 3)])
def test_build_cnn_width_and_depth_change_the_parameter_count(width, depth):
    model = models.build_cnn(width=width, depth=depth)
    assert model.count_params() == cnn_parameters(width, depth)
    adds = [layer for layer in model.layers if layer.name.endswith("_add")]
    assert len(adds) == 3 * depth
    assert model.get_layer("classifier").kernel.shape == (4 * width, 10)


def test_build_cnn_width_scales_parameters_about_quadratically():
    base = models.build_cnn().count_params()
    assert 3.5 < models.build_cnn(width=32).count_params() / base < 4.1
    assert models.build_cnn(depth=2).count_params() > 2 * base


def test_build_cnn_other_input_shape_and_classes():
    model = models.build_cnn((8, 8, 1), 5)
    assert model.output_shape == (None, 5)
    assert model.count_params() == cnn_parameters(16, 1, channels=1, num_classes=5)


def test_build_mlp_on_digits_shape():
    model = models.build_mlp((8, 8, 1), 10)
    assert model.output_shape == (None, 10)
    assert model.count_params() == mlp_parameters(64, (256, 128)) == 50_826
    small = models.build_mlp((8, 8, 1), 3, hidden_units=[32])
    assert small.count_params() == mlp_parameters(64, (32,), num_classes=3)


def test_l2_adds_regularization_losses():
    assert models.build_cnn().losses == []
    model = models.build_cnn(l2=1e-3)
    regularized = [
        layer for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel_regularizer is not None
    ]
    # Every conv of the residual blocks (2 per block + 2 projections), not the stem.
    assert len(regularized) == 3 * 2 + 2
    assert len(model.losses) == len(regularized)
    expected = sum(1e-3 * float(np.sum(np.square(layer.kernel.numpy()))) for layer in regularized)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)

    assert models.build_mlp().losses == []
    mlp = models.build_mlp(hidden_units=(16, 8), l2=1e-3)
    assert len(mlp.losses) == 2  # hidden layers only, not the classifier
    assert float(sum(mlp.losses)) > 0


def test_dropout_adds_dropout_layers():
    def count(model):
        return sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers)

    assert count(models.build_cnn()) == 0
    assert count(models.build_cnn(dropout=0.5)) == 1
    assert count(models.build_mlp()) == 0
    assert count(models.build_mlp(hidden_units=(16, 8, 4), dropout=0.2)) == 3
    assert models.build_mlp(dropout=0.2).get_layer("dropout1").rate == 0.2


def test_build_by_name_passes_arguments_through():
    cnn = models.build("cnn", [8, 8, 1], 4, width=8, depth=2)
    assert cnn.count_params() == cnn_parameters(8, 2, channels=1, num_classes=4)
    assert cnn.name == "reference_cnn"
    mlp = models.build("mlp", (8, 8, 1), 10, hidden_units=(32,))
    assert mlp.count_params() == mlp_parameters(64, (32,))
    assert mlp.name == "reference_mlp"


# ---------------------------------------------------------------------------
# Shared behaviour of both reference models.


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_model_rescales_inside_and_outputs_probabilities(kind):
    builder, shape = BUILDERS[kind]
    model = builder(shape, 10)
    x = random_images(shape)
    x[0] = 255.0  # the brightest possible image
    rescale = keras.Model(model.inputs, model.get_layer("rescale").output)
    rescaled = keras.ops.convert_to_numpy(rescale([x]))
    assert rescaled.min() >= 0 and rescaled.max() == pytest.approx(1.0)
    probabilities = model.predict(x, verbose=0)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_model_saves_and_reloads_with_identical_predictions(kind, tmp_path):
    builder, shape = BUILDERS[kind]
    model = builder(shape, 10, dropout=0.1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
    x = random_images(shape, n=32)
    y = np.arange(32) % 10
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # BatchNorm statistics move
    path = str(tmp_path / f"{kind}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.count_params() == model.count_params()
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_short_fit_on_digits_decreases_the_loss(kind, data_dir):
    train, validation, _, info = load("digits", batch_size=32, train_size=320, data_dir=data_dir)
    builder = BUILDERS[kind][0]
    model = builder(info.input_shape, info.num_classes, **({"width": 8} if kind == "cnn" else {}))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    history = model.fit(train, epochs=2, verbose=0).history
    assert history["loss"][1] < 0.6 * history["loss"][0]
    assert history["accuracy"][1] > 0.6  # chance is 0.1


# ---------------------------------------------------------------------------
# Bad arguments: a ValueError that names the argument.


@pytest.mark.parametrize(
    "builder, kwargs, argument",
    [
        (models.build_cnn, {"input_shape": (32, 32)}, "input_shape"),
        (models.build_cnn, {"input_shape": (0, 32, 3)}, "input_shape"),
        (models.build_cnn, {"input_shape": (32, 32, 3.0)}, "input_shape"),
        (models.build_cnn, {"input_shape": (32, True, 3)}, "input_shape"),
        (models.build_cnn, {"input_shape": "abc"}, "input_shape"),
        (models.build_mlp, {"input_shape": None}, "input_shape"),
        (models.build_cnn, {"num_classes": 1}, "num_classes"),
        (models.build_cnn, {"num_classes": 10.0}, "num_classes"),
        (models.build_mlp, {"num_classes": True}, "num_classes"),
        (models.build_cnn, {"width": 0}, "width"),
        (models.build_cnn, {"width": -16}, "width"),
        (models.build_cnn, {"width": 1.5}, "width"),
        (models.build_cnn, {"width": True}, "width"),
        (models.build_cnn, {"depth": 0}, "depth"),
        (models.build_cnn, {"depth": 2.0}, "depth"),
        (models.build_cnn, {"dropout": -0.1}, "dropout"),
        (models.build_cnn, {"dropout": 1.0}, "dropout"),
        (models.build_mlp, {"dropout": 1.5}, "dropout"),
        (models.build_cnn, {"l2": -1e-4}, "l2"),
        (models.build_mlp, {"hidden_units": ()}, "hidden_units"),
        (models.build_mlp, {"hidden_units": (64, 0)}, "hidden_units"),
        (models.build_mlp, {"hidden_units": (64, 1.5)}, "hidden_units"),
        (models.build_mlp, {"hidden_units": (True,)}, "hidden_units"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(builder, kwargs, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}`.*Received: {argument}="):
        builder(**kwargs)


def test_build_unknown_model_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"\['cnn', 'mlp'\]. Received: .*'resnet'"):
        models.build("resnet", (32, 32, 3), 10)


def test_build_mlp_rejects_negative_l2_by_name():
    # Bug: `build_mlp` never checked its L2 factor (`build_cnn` did), so
    # Keras's L2 raised instead, with its own message.
    with pytest.raises(ValueError, match="Argument `l2` must be a number >= 0"):
        models.build_mlp(l2=-1e-4)


@pytest.mark.parametrize(
    "call",
    [
        lambda: models.build_mlp(hidden_units=128),
        lambda: models.build_cnn(l2=None),
        lambda: models.build_cnn(dropout="0.5"),
        lambda: models.build("cnn", None, 10),
    ],
    ids=["mlp-hidden_units-int", "cnn-l2-None", "cnn-dropout-str", "build-input_shape-None"],
)
def test_wrong_argument_types_raise_value_error_not_type_error(call):
    # Bug: these reach `iter()`, `<=` or `tuple()` before any check and raise
    # a bare TypeError instead of the Keras-style ValueError.
    with pytest.raises(ValueError, match="Argument `"):
        call()


def test_build_unknown_name_error_names_the_name_argument():
    # Bug (message only): `build(name, ...)` reports "Argument `model`" and
    # "Received: model=...", but its argument is called `name`.
    with pytest.raises(ValueError, match="Argument `name`.*Received: name='resnet'"):
        models.build("resnet", (32, 32, 3), 10)


# ---------------------------------------------------------------------------
# Regression: `weight_decay` meant two things. `build_cnn(weight_decay=)` was
# an L2 penalty added to the loss, while `kerasrec.tuning.make_optimizer(...,
# weight_decay=)` (what the playbook tunes) is Keras's decoupled decay. The
# builders' argument is now `l2`, and the old name is refused with a message
# naming both, instead of silently meaning the penalty.


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_builders_refuse_the_old_weight_decay_name_and_point_to_l2(name):
    builder = {"cnn": models.build_cnn, "mlp": models.build_mlp}[name]
    for call in (lambda: builder(weight_decay=1e-4),
                 lambda: models.build(name, (8, 8, 1), 10, weight_decay=1e-4)):
        with pytest.raises(ValueError, match="Argument `weight_decay` .* renamed `l2`") as info:
            call()
        assert "make_optimizer" in str(info.value) and "Received: weight_decay=0.0001" in str(
            info.value)


def test_build_passes_l2_through_and_unknown_arguments_are_a_type_error():
    assert models.build("cnn", (8, 8, 1), 4, width=4).losses == []
    regularized = models.build("cnn", (8, 8, 1), 4, width=4, l2=1e-3)
    assert len(regularized.losses) == 8
    assert len(models.build("mlp", (8, 8, 1), 10, l2=1e-3).losses) == 2
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['widht'\\]"):
        models.build("cnn", (8, 8, 1), 4, widht=4)
