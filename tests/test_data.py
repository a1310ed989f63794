"""Tests for kerasrec.data: the renderer, the embedded builders, the pipeline.

The default `shapes` dataset (30k images) is prepared once per session in the
conftest data dir; everything else renders, or prepares, a few hundred images
into a temporary folder, so the file stays fast on two CPU cores. Public TFDS
names are tested offline: through `tfds.testing.mock_data`, and with the
network check patched to fail.
"""

import hashlib
import math
import os
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import kerasrec.data
from kerasrec.data import digits
from kerasrec.data import pipeline
from kerasrec.data import render
from kerasrec.data import shapes
from kerasrec.data import DataUnavailableError
from kerasrec.data import QUICK_SIZES
from kerasrec.data import ShapesConfig
from kerasrec.data import load

TASKS = tuple(render.TASKS)


# ---------------------------------------------------------------------------
# Helpers.


def _hash(image):
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


def _hashes(images):
    return [_hash(image) for image in images]


def _collect(ds):
    """All `(images, labels)` of a batched dataset, as two NumPy arrays."""
    images, labels = [], []
    for x, y in ds:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def _labels(ds):
    return np.concatenate([y.numpy() for _, y in ds])


def _batch_sizes(ds):
    return [int(y.shape[0]) for _, y in ds]


def _split_arrays(builder, split):
    """One prepared split, in stored order, as uint8 images and int labels."""
    ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
    images, labels = zip(*tfds.as_numpy(ds))
    return np.stack(images), np.array(labels)


def _stored_image_hashes(builder, split):
    """Hashes of the encoded images of a split, without decoding them.

    Equal images encode to equal PNG bytes, so distinct hashes mean distinct
    images.
    """
    ds = builder.as_dataset(
        split=split,
        shuffle_files=False,
        decoders={"image": tfds.decode.SkipDecoding()},
    ).batch(5000)
    return [
        hashlib.sha1(encoded).hexdigest()
        for batch in tfds.as_numpy(ds)
        for encoded in batch["image"]
    ]


_render_cache = {}


def _render(task, split, size):
    """`render.render`, memoised: several tests share the same arrays."""
    key = (task, split, size)
    if key not in _render_cache:
        _render_cache[key] = render.render(task, split, size)
    return _render_cache[key]


def _tiny_config(name="tiny", task="source"):
    return ShapesConfig(
        name=name, task=task, train_size=60, validation_size=20, test_size=20
    )


def _write_png(path, image):
    tf.io.write_file(path, tf.io.encode_png(image))


def _write_class_folders(root, classes, per_class, seed):
    """Writes random RGB PNGs of varying sizes into `root/<class>/`.

    Returns `[(image, class_name)]` in the order written.
    """
    rng = np.random.default_rng(seed)
    written = []
    for name in classes:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            height, width = 10 + i, 12 + 2 * (i % 3)
            image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
            _write_png(os.path.join(root, name, f"{i:02d}.png"), image)
            written.append((image, name))
    return written


def _resized(image, size):
    """The pipeline's own resize: bilinear, rounded back to uint8."""
    return tf.cast(tf.round(tf.image.resize(image, size)), tf.uint8).numpy()


@pytest.fixture(scope="module")
def quick_shapes():
    """`load("shapes", batch_size=32, quick=True)`: prepares the session data once."""
    return load("shapes", batch_size=32, quick=True)


@pytest.fixture(scope="module")
def digits_builder(data_dir):
    load("digits", data_dir=data_dir)  # prepares it (about a second)
    return tfds.builder("digits", data_dir=data_dir)


# ---------------------------------------------------------------------------
# render.py: determinism, chunking, balance, disjoint splits.


@pytest.mark.parametrize("task", TASKS)
def test_render_is_deterministic(task):
    images_a, labels_a = render.render(task, "validation", 200)
    images_b, labels_b = render.render(task, "validation", 200)
    assert images_a.shape == (200, 32, 32, 3) and images_a.dtype == np.uint8
    assert labels_a.dtype == np.int64
    assert set(labels_a.tolist()) == set(range(len(render.TASKS[task])))
    np.testing.assert_array_equal(images_a, images_b)
    np.testing.assert_array_equal(labels_a, labels_b)


def test_render_chunk_depends_only_on_task_split_and_chunk_index():
    images, labels = _render("source", "train", 1500)
    first_images, first_labels = render.render_chunk("source", "train", 0, 1000)
    second_images, second_labels = render.render_chunk("source", "train", 1, 500)
    np.testing.assert_array_equal(images, np.concatenate([first_images, second_images]))
    np.testing.assert_array_equal(labels, np.concatenate([first_labels, second_labels]))
    # Chunk 1 is not a copy of chunk 0: each chunk has its own generator.
    assert not np.array_equal(first_images[:500], second_images)


def test_render_empty_split_has_the_right_shape():
    images, labels = render.render("source", "test", 0)
    assert images.shape == (0, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (0,) and labels.dtype == np.int64


@pytest.mark.parametrize("task", TASKS)
def test_render_classes_are_balanced_per_chunk(task):
    num_classes = len(render.TASKS[task])
    _, labels = _render(task, "train", 1234)  # one full chunk, then 234
    full = np.bincount(labels[:1000], minlength=num_classes)
    partial = np.bincount(labels[1000:], minlength=num_classes)
    overall = np.bincount(labels, minlength=num_classes)
    assert full.tolist() == [1000 // num_classes] * num_classes
    assert partial.max() - partial.min() <= 1
    assert partial.sum() == 234
    assert overall.max() - overall.min() <= 1  # at most 1 per chunk, 1 partial chunk
    assert labels.min() == 0 and labels.max() == num_classes - 1


@pytest.mark.parametrize("task", TASKS)
def test_render_splits_hold_no_common_image(task):
    hashes = {
        "train": _hashes(_render(task, "train", 1234)[0]),
        "validation": _hashes(_render(task, "validation", 500)[0]),
        "test": _hashes(_render(task, "test", 500)[0]),
    }
    for split, split_hashes in hashes.items():
        assert len(set(split_hashes)) == len(split_hashes), split
    assert not set(hashes["train"]) & set(hashes["validation"])
    assert not set(hashes["train"]) & set(hashes["test"])
    assert not set(hashes["validation"]) & set(hashes["test"])


def test_render_rejects_unknown_task_and_split():
    with pytest.raises(ValueError, match="Argument `task`.*Received: task='cats'"):
        render.render("cats", "train", 10)
    with pytest.raises(ValueError, match="Argument `split`.*Received: split='val'"):
        render.render("source", "val", 10)


# ---------------------------------------------------------------------------
# shapes.py: the builder and its config.


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"task": "cats"}, "task"),
        ({"train_size": 0}, "train_size"),
        ({"validation_size": -1}, "validation_size"),
        ({"test_size": 2.5}, "test_size"),
    ],
)
def test_shapes_config_rejects_bad_task_and_sizes(kwargs, argument):
    with pytest.raises(ValueError, match=f"Argument `{argument}`"):
        ShapesConfig(name="bad", **kwargs)


def test_prepared_shapes_are_identical_across_data_dirs(tmp_path):
    config = _tiny_config()
    first = load("shapes", config=config, data_dir=str(tmp_path / "a"), batch_size=16)
    second = load("shapes", config=config, data_dir=str(tmp_path / "b"), batch_size=16)
    assert first[3].split_sizes == {"train": 60, "validation": 20, "test": 20}

    builders = [
        tfds.builder("shapes", config=config, data_dir=str(tmp_path / d)) for d in "ab"
    ]
    for split, size in [("train", 60), ("validation", 20), ("test", 20)]:
        images_a, labels_a = _split_arrays(builders[0], split)
        images_b, labels_b = _split_arrays(builders[1], split)
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)
        # What is stored is exactly what the renderer draws for that split.
        rendered_images, rendered_labels = render.render("source", split, size)
        assert dict(zip(_hashes(images_a), labels_a.tolist())) == dict(
            zip(_hashes(rendered_images), rendered_labels.tolist())
        )

    # The whole pipeline, shuffled train split included, agrees too.
    for ds_a, ds_b in zip(first[:3], second[:3]):
        images_a, labels_a = _collect(ds_a)
        images_b, labels_b = _collect(ds_b)
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)


def test_prepared_shapes_splits_are_disjoint_and_full_size(quick_shapes, data_dir):
    builder = tfds.builder("shapes", data_dir=data_dir)
    assert builder.is_prepared()
    hashes = {split: _stored_image_hashes(builder, split) for split in render.SPLITS}
    assert {s: len(h) for s, h in hashes.items()} == shapes.DEFAULT_SIZES
    for split, split_hashes in hashes.items():
        assert len(set(split_hashes)) == len(split_hashes), split
    assert not set(hashes["train"]) & set(hashes["validation"])
    assert not set(hashes["train"]) & set(hashes["test"])
    assert not set(hashes["validation"]) & set(hashes["test"])


# ---------------------------------------------------------------------------
# digits.py: sizes, disjoint stratified splits.


def test_digits_split_indices_are_disjoint_and_cover_the_data():
    from sklearn.datasets import load_digits

    labels = load_digits().target
    parts = digits.split_indices(labels)
    assert {s: len(idx) for s, idx in parts.items()} == {
        "train": 1078,
        "validation": 359,
        "test": 360,
    }
    everything = np.concatenate(list(parts.values()))
    assert len(everything) == 1797
    assert sorted(everything.tolist()) == list(range(1797))  # disjoint and complete
    # Deterministic for a given seed, different for another.
    again = digits.split_indices(labels)
    assert all(np.array_equal(parts[s], again[s]) for s in parts)
    other = digits.split_indices(labels, seed=digits.SEED + 1)
    assert not np.array_equal(parts["test"], other["test"])


def test_prepared_digits_splits_are_disjoint_and_match_the_source(digits_builder):
    from sklearn.datasets import load_digits

    source = load_digits()
    source_images = np.round(source.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    # The UCI data holds no duplicate image, so hashes identify examples.
    assert len(set(_hashes(source_images))) == 1797
    parts = digits.split_indices(source.target)

    seen = set()
    for split in ("train", "validation", "test"):
        images, labels = _split_arrays(digits_builder, split)
        assert images.shape[1:] == (8, 8, 1)
        hashes = _hashes(images)
        expected = dict(
            zip(_hashes(source_images[parts[split]]), source.target[parts[split]].tolist())
        )
        assert dict(zip(hashes, labels.tolist())) == expected
        assert not seen & set(hashes)
        seen |= set(hashes)
    assert len(seen) == 1797


def test_prepared_digits_splits_are_stratified(digits_builder):
    labels = {
        split: _split_arrays(digits_builder, split)[1]
        for split in ("train", "validation", "test")
    }
    overall = np.bincount(np.concatenate(list(labels.values())), minlength=10) / 1797
    for split, split_labels in labels.items():
        fraction = np.bincount(split_labels, minlength=10) / len(split_labels)
        assert np.abs(fraction - overall).max() <= 0.02, split


# ---------------------------------------------------------------------------
# pipeline.py: shapes, dtypes, sizes, shuffling, augmentation.


def test_load_quick_shapes_gives_float_batches_and_info(quick_shapes):
    train, validation, test, info = quick_shapes
    images, labels = next(iter(train))
    assert images.shape == (32, 32, 32, 3)
    assert images.dtype == tf.float32
    assert labels.dtype.is_integer
    assert info.num_classes == 10
    assert info.class_names == render.SOURCE_SHAPES
    assert info.input_shape == (32, 32, 3)
    assert info.split_sizes == QUICK_SIZES
    assert info.batch_size == 32
    assert info.steps_per_epoch == math.ceil(2000 / 32) == 63
    assert info.to_dict()["split_sizes"] == QUICK_SIZES

    train_images, train_labels = _collect(train)
    assert train_images.min() >= 0 and train_images.max() <= 255
    assert train_images.max() > 1  # not rescaled: the models rescale inside
    assert train_labels.min() >= 0 and train_labels.max() < 10
    assert len(train_labels) == 2000
    assert len(_batch_sizes(train)) == info.steps_per_epoch
    assert sum(_batch_sizes(validation)) == 500
    assert sum(_batch_sizes(test)) == 500


def test_drop_remainder_gives_full_batches_and_floor_steps(quick_shapes):
    train, validation, _, info = load(
        "shapes", batch_size=32, quick=True, drop_remainder=True
    )
    sizes = _batch_sizes(train)
    assert set(sizes) == {32}
    assert len(sizes) == info.steps_per_epoch == 2000 // 32 == 62
    assert sum(_batch_sizes(validation)) == 500  # only train drops its remainder


def test_train_size_limits_the_training_examples(quick_shapes):
    train, _, _, info = load("shapes", batch_size=32, train_size=100)
    assert info.split_sizes["train"] == 100
    assert info.split_sizes["validation"] == shapes.DEFAULT_SIZES["validation"]
    assert sum(_batch_sizes(train)) == 100
    assert info.steps_per_epoch == 4


def test_training_order_reshuffles_each_epoch_validation_order_is_stable(quick_shapes):
    train, validation, _, _ = quick_shapes
    first, second = _labels(train), _labels(train)
    assert sorted(first.tolist()) == sorted(second.tolist())
    assert not np.array_equal(first, second)
    val_first, val_second = _collect(validation), _collect(validation)
    np.testing.assert_array_equal(val_first[0], val_second[0])
    np.testing.assert_array_equal(val_first[1], val_second[1])


def test_augment_translates_images_and_keeps_labels(quick_shapes):
    plain = load("shapes", batch_size=64, quick=True, seed=3)[0]
    augmented = load("shapes", batch_size=64, quick=True, seed=3, augment=True)[0]
    x, y = (t.numpy() for t in next(iter(plain)))
    x_aug, y_aug = (t.numpy() for t in next(iter(augmented)))
    assert x_aug.shape == x.shape and x_aug.dtype == x.dtype == np.float32
    np.testing.assert_array_equal(y_aug, y)  # same shuffle, same labels
    moved = [not np.array_equal(a, b) for a, b in zip(x, x_aug)]
    assert np.mean(moved) > 0.8

    # Each augmented image is a crop of the reflect-padded original, shifted
    # by at most 1/8 of the side (4 pixels of 32).
    pad = 4
    for original, shifted in zip(x, x_aug):
        padded = np.pad(original, [(pad, pad), (pad, pad), (0, 0)], mode="reflect")
        assert any(
            np.array_equal(padded[dy : dy + 32, dx : dx + 32], shifted)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
        )


def test_augmentation_is_reproducible_for_a_given_seed(digits_builder, data_dir):
    # Bug: `_translate` uses a stateful seeded `random_crop` inside a parallel
    # `map`, so which example gets which draw depends on thread timing: the
    # same `seed` gives different augmented batches from one load to the next.
    batches = []
    for _ in range(2):
        train = load("digits", batch_size=256, augment=True, seed=0, data_dir=data_dir)[0]
        batches.append([x.numpy() for x, _ in train.take(3)])
    for first, second in zip(*batches):
        np.testing.assert_array_equal(first, second)


def test_load_digits_gives_8x8_grey_images(digits_builder, data_dir):
    train, validation, test, info = load("digits", batch_size=64, data_dir=data_dir)
    images, labels = next(iter(train))
    assert images.shape == (64, 8, 8, 1) and images.dtype == tf.float32
    assert info.input_shape == (8, 8, 1)
    assert info.num_classes == 10
    assert info.split_sizes == {"train": 1078, "validation": 359, "test": 360}
    assert sum(_batch_sizes(test)) == 360
    train_images, _ = _collect(train)
    assert train_images.max() == 255  # 16 rescaled to 255


def test_image_size_resizes(digits_builder, data_dir):
    train, _, _, info = load("digits", batch_size=16, image_size=(16, 12), data_dir=data_dir)
    images, _ = next(iter(train))
    assert images.shape == (16, 16, 12, 1)
    assert info.input_shape == (16, 12, 1)


@pytest.mark.parametrize("task, num_classes", [("similar", 10), ("different", 5)])
def test_shapes_transfer_configs_by_name(task, num_classes, tmp_path, monkeypatch):
    # Shrink the registered config so the name resolves as in real use but
    # only 100 images are prepared (into a temporary folder).
    config = shapes.Shapes.builder_configs[task]
    for split, size in [("train", 60), ("validation", 20), ("test", 20)]:
        monkeypatch.setattr(config, f"{split}_size", size)
    _, validation, _, info = load(f"shapes/{task}", batch_size=8, data_dir=str(tmp_path))
    assert info.num_classes == num_classes
    assert info.class_names == render.TASKS[task]
    assert info.input_shape == (32, 32, 3)
    assert info.split_sizes == {"train": 60, "validation": 20, "test": 20}
    images, labels = _collect(validation)
    expected_images, expected_labels = render.render(task, "validation", 20)
    assert dict(zip(_hashes(images.astype(np.uint8)), labels.tolist())) == dict(
        zip(_hashes(expected_images), expected_labels.tolist())
    )


def test_default_data_dir_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASREC_DATA_DIR", str(tmp_path / "k"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "t"))
    assert kerasrec.data.default_data_dir() == str(tmp_path / "k")
    monkeypatch.delenv("KERASREC_DATA_DIR")
    assert kerasrec.data.default_data_dir() == str(tmp_path / "t")
    monkeypatch.delenv("TFDS_DATA_DIR")
    assert kerasrec.data.default_data_dir() == os.path.expanduser("~/tensorflow_datasets")


# ---------------------------------------------------------------------------
# folder:PATH.


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "images"
    written = _write_class_folders(str(root), ["cat", "ant", "bee"], 12, seed=0)
    return str(root), written


def test_folder_loads_sorted_classes_resized_into_disjoint_splits(image_folder):
    root, written = image_folder
    train, validation, test, info = load(f"folder:{root}", batch_size=8)
    assert info.num_classes == 3
    assert info.class_names == ("ant", "bee", "cat")
    assert info.input_shape == (64, 64, 3)
    sizes = info.split_sizes
    assert all(n > 0 for n in sizes.values())
    assert sum(sizes.values()) == 36

    expected = {_hash(_resized(image, (64, 64))): info.class_names.index(name)
                for image, name in written}
    seen = {}
    for role, ds in [("train", train), ("validation", validation), ("test", test)]:
        images, labels = _collect(ds)
        assert images.shape[1:] == (64, 64, 3) and images.dtype == np.float32
        assert len(labels) == sizes[role]
        for h, label in zip(_hashes(images.astype(np.uint8)), labels.tolist()):
            assert h not in seen, f"{role} repeats an image of {seen.get(h)}"
            seen[h] = role
            assert expected[h] == label
    assert set(seen) == set(expected)


def test_folder_with_split_subfolders_uses_its_test_folder(tmp_path):
    root = str(tmp_path / "images")
    _write_class_folders(os.path.join(root, "train"), ["a", "b", "c"], 10, seed=1)
    held_out = _write_class_folders(os.path.join(root, "test"), ["a", "b", "c"], 4, seed=2)
    _, _, test, info = load(f"folder:{root}", batch_size=8)
    assert info.class_names == ("a", "b", "c")
    assert info.split_sizes["test"] == 12
    assert info.split_sizes["train"] + info.split_sizes["validation"] == 30
    images, labels = _collect(test)
    assert dict(zip(_hashes(images.astype(np.uint8)), labels.tolist())) == {
        _hash(_resized(image, (64, 64))): "abc".index(name) for image, name in held_out
    }


def test_folder_loads_leave_no_temporary_folders(image_folder, tmp_path, monkeypatch):
    # Bug: every load of PATH/<class>/<image> made a temporary folder (with
    # the link `train` -> PATH that ImageFolder reads through) and never
    # removed it. Now loads of one PATH share one, removed at exit.
    root, _ = image_folder
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(pipeline, "_TRAIN_LINKS", {})

    def ours():  # TFDS leaves temporary folders of its own (`tmp...tfds`)
        return [d for d in os.listdir(temp) if d.startswith("kerasrec-folder-")]

    first, _, _, _ = load(f"folder:{root}", batch_size=8)
    _, _, _, info = load(f"folder:{root}", batch_size=8)
    assert len(ours()) == 1
    assert sum(len(labels) for _, labels in first) == info.split_sizes["train"]
    pipeline._remove_train_links()  # what runs at exit
    assert ours() == []
    assert sorted(os.listdir(root)) == ["ant", "bee", "cat"]  # images untouched
    assert all(len(os.listdir(os.path.join(root, c))) == 12 for c in ("ant", "bee", "cat"))


def test_folder_image_size_resizes(image_folder):
    root, _ = image_folder
    train, _, _, info = load(f"folder:{root}", batch_size=4, image_size=(16, 16))
    images, _ = next(iter(train))
    assert images.shape == (4, 16, 16, 3)
    assert info.input_shape == (16, 16, 3)


def test_folder_with_images_outside_class_folders_names_the_argument(tmp_path):
    # Bug: `_open_folder` counts every image under PATH, so images lying in
    # PATH itself pass its "no images in class sub-folders" check and TFDS
    # then finds no class: the error is "The dataset has no 'train' split".
    rng = np.random.default_rng(0)
    for i in range(5):
        _write_png(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="Argument `name`.*class sub-folders"):
        load(f"folder:{tmp_path}")


def test_folder_of_bmp_images_names_the_argument(tmp_path):
    # Bug: `_IMAGE_SUFFIXES` accepts .bmp and .gif, which TFDS's ImageFolder
    # silently skips (it reads .png/.jpg/.jpeg only): a folder of BMPs fails
    # later with "The train split would be empty (... {'train': 0} ...)".
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        os.makedirs(tmp_path / name)
        for i in range(5):
            pixels = rng.integers(0, 256, (8, 8, 3), np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.bmp")
    with pytest.raises(ValueError, match="Argument `name`"):
        load(f"folder:{tmp_path}")


# ---------------------------------------------------------------------------
# Public TFDS names, offline.


def test_public_tfds_name_loads_offline_under_mock_data(tmp_path):
    # mock_data needs the dataset's real metadata (split names and sizes) in
    # `data_dir/<name>/<version>`; the 4.9.10 wheel ships none, so write it.
    metadata_dir = str(tmp_path / "metadata")
    builder = tfds.builder("mnist", data_dir=metadata_dir)
    builder.info.set_splits(
        tfds.core.SplitDict(
            [
                tfds.core.SplitInfo(name="train", shard_lengths=[60_000], num_bytes=0),
                tfds.core.SplitInfo(name="test", shard_lengths=[10_000], num_bytes=0),
            ]
        )
    )
    os.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)

    with tfds.testing.mock_data(
        num_examples=48, policy=tfds.testing.MockPolicy.USE_FILES, data_dir=metadata_dir
    ):
        train, validation, test, info = load(
            "mnist", batch_size=16, quick=True, data_dir=str(tmp_path / "data")
        )
        images, labels = next(iter(train))
        val_labels = _labels(validation)
    assert info.num_classes == 10
    assert info.input_shape == (28, 28, 1)
    # mnist has no validation split: it is held out from the end of train.
    assert info.split_sizes == QUICK_SIZES
    assert info.steps_per_epoch == 125
    assert images.shape == (16, 28, 28, 1) and images.dtype == tf.float32
    assert labels.numpy().min() >= 0 and labels.numpy().max() < 10
    assert len(val_labels) == 48  # mock_data yields `num_examples` per read


def test_public_tfds_name_without_network_raises_data_unavailable(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pipeline, "_network_available", lambda: calls.append(1) or False)
    data_dir = str(tmp_path / "empty")
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as raised:
        load("mnist", data_dir=data_dir)
    assert time.monotonic() - start < 5
    assert calls == [1]
    message = str(raised.value)
    assert "'mnist'" in message
    assert data_dir in message
    assert "tfds.load('mnist'" in message  # says how to prepare it elsewhere
    assert "KERASREC_DATA_DIR" in message
    assert "shapes" in message and "digits" in message  # what works offline
    assert not os.path.exists(os.path.join(data_dir, "mnist", "3.0.1", "dataset_info.json"))


def test_network_check_returns_quickly():
    start = time.monotonic()
    result = pipeline._network_available()
    assert isinstance(result, bool)
    assert time.monotonic() - start < 5


# ---------------------------------------------------------------------------
# Bad input: a ValueError that names the argument.


def test_unknown_dataset_name_lists_the_embedded_names(tmp_path):
    with pytest.raises(ValueError) as raised:
        load("no_such_dataset", data_dir=str(tmp_path))
    message = str(raised.value)
    assert "name='no_such_dataset'" in message
    assert "'shapes'" in message and "'digits'" in message
    assert "TFDS" in message and "folder:PATH" in message


@pytest.mark.parametrize("name", ["", None, 3])
def test_name_must_be_a_non_empty_string(name):
    with pytest.raises(ValueError, match="Argument `name`"):
        load(name)


def test_folder_with_missing_path_names_the_path(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="Argument `name`.*not a directory") as raised:
        load(f"folder:{missing}")
    assert missing in str(raised.value)


@pytest.mark.parametrize("content", ["nothing", "text files"])
def test_folder_without_images_names_the_argument(tmp_path, content):
    if content == "text files":
        os.makedirs(tmp_path / "cat")
        (tmp_path / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match="Argument `name`.*no images") as raised:
        load(f"folder:{tmp_path}")
    assert str(tmp_path) in str(raised.value)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match="Argument `batch_size`"):
        load("digits", batch_size=batch_size)
    with pytest.raises(ValueError, match="Argument `batch_size`"):
        kerasrec.data.make_pipeline(
            tf.data.Dataset.range(4).map(lambda i: (i, i)),
            batch_size=batch_size,
            training=False,
            num_examples=4,
        )


@pytest.mark.parametrize("train_size", [0, -5, 1.5, True])
def test_train_size_must_be_a_positive_integer(train_size):
    with pytest.raises(ValueError, match="Argument `train_size`"):
        load("digits", train_size=train_size)


@pytest.mark.parametrize("image_size", [(16,), (16, 16, 3), (0, 16), (16, -1), (16.0, 16), "ab"])
def test_image_size_must_be_a_pair_of_positive_integers(image_size):
    with pytest.raises(ValueError, match="Argument `image_size`"):
        load("digits", image_size=image_size)


@pytest.mark.parametrize("image_size", [16, (16, True)])
def test_image_size_rejects_a_scalar_and_booleans(image_size):
    # Bug: `load` calls `tuple(image_size)` before checking, so an int raises
    # a TypeError, and `isinstance(True, int)` lets a boolean side through.
    with pytest.raises(ValueError, match="Argument `image_size`"):
        load("digits", image_size=image_size)


def test_drop_remainder_needs_a_full_training_batch(digits_builder, data_dir):
    with pytest.raises(ValueError, match="Argument `batch_size`.*train examples=10"):
        load("digits", train_size=10, batch_size=32, drop_remainder=True, data_dir=data_dir)


@pytest.mark.parametrize("n_images, quick", [(1, True), (1, False), (2, True)])
def test_split_that_would_be_empty_is_rejected(tmp_path, n_images, quick):
    _write_class_folders(str(tmp_path), ["only"], n_images, seed=0)
    with pytest.raises(ValueError, match="split would be empty") as raised:
        load(f"folder:{tmp_path}", quick=quick)
    assert f"quick={quick}" in str(raised.value)


def test_few_images_hold_out_one_each_from_the_end_of_train(tmp_path):
    _write_class_folders(str(tmp_path), ["a", "b"], 2, seed=0)
    _, _, _, info = load(f"folder:{tmp_path}", quick=True, batch_size=1)
    assert info.split_sizes == {"train": 2, "validation": 1, "test": 1}


# Regression guard: prepared data is cached under GENERATOR_VERSION, so a
# change to what the renderer draws without a version bump would silently
# reuse stale data (it happened once while calibrating version 1).
RENDER_FINGERPRINTS = {
    2: {
        "source": "65dc68bcf1376eba738922ae08e415395de835f24659a68158b8d03e24ac9010",
        "similar": "e411d9e77ea9f9ee1dcbeba470eb9a2c1d143cef89ca1a0923d7631496bdcfad",
        "different": "85efe28771e59e296062fcdce34f18439338cfb447abab58c474902bc52cb485",
    },
}


@pytest.mark.parametrize("task", sorted(render.TASKS))
def test_renderer_output_is_pinned_for_its_version(task):
    images, labels = render.render(task, "validation", 300)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    assert digest == RENDER_FINGERPRINTS[render.GENERATOR_VERSION][task], (
        "The renderer's output changed. If you changed what it draws, bump "
        "GENERATOR_VERSION and record the new fingerprints here; otherwise "
        "NumPy's arithmetic differs on this platform."
    )
