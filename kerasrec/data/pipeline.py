"""One input pipeline for every dataset: a name in, batched splits out.

`load(name)` resolves the name (an embedded dataset, `folder:PATH`, or any
TFDS name), prepares the data if needed, slices train/validation/test, and
returns `tf.data` pipelines (cache, shuffle, augment, batch, prefetch) with
the facts a recipe needs in a `DatasetInfo`.
"""

import atexit
import contextlib
import dataclasses
import math
import os
import socket
import tempfile

import tensorflow as tf
import tensorflow_datasets as tfds

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_positive_int, check_positive_ints
from kerasrec.data import digits as _digits  # noqa: F401  (registers `digits`)
from kerasrec.data import shapes as _shapes  # noqa: F401  (registers `shapes`)

EMBEDDED = ("shapes", "digits")
QUICK_SIZES = {"train": 2000, "validation": 500, "test": 500}
HELD_OUT_FRACTION = 0.1  # carved from train when a dataset lacks a split
VARIABLE_SIZE_DEFAULT = (64, 64)  # for datasets whose images vary in size
DATA_DIR_ENV = "KERASREC_DATA_DIR"
ROLES = ("train", "validation", "test")
_SPLIT_ALIASES = {"validation": ("validation", "val", "valid"), "test": ("test",)}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # what TFDS's ImageFolder reads


class DataUnavailableError(RuntimeError):
    """A dataset is not prepared locally and cannot be downloaded."""


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a recipe needs to know about the data it was given."""

    name: str
    num_classes: int
    class_names: tuple
    input_shape: tuple
    split_sizes: dict
    batch_size: int
    steps_per_epoch: int
    data_dir: str

    def to_dict(self):
        return dataclasses.asdict(self)


def default_data_dir():
    """`$KERASREC_DATA_DIR`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return os.path.expanduser(
        os.environ.get(DATA_DIR_ENV)
        or os.environ.get("TFDS_DATA_DIR")
        or "~/tensorflow_datasets"
    )


def _network_available(timeout=3.0):
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _unknown_name_error(name):
    return ArgumentError(
        f"Unknown dataset name. Received: name={name!r}. Embedded datasets "
        f"(work offline): {list(EMBEDDED)} (with configs `shapes/source`, "
        "`shapes/similar`, `shapes/different`); `folder:PATH` loads your own "
        "image folder (one sub-folder per class). Any other name is passed to "
        "TFDS (e.g. 'cifar10', 'mnist', 'tf_flowers'), which needs a network "
        "to download it the first time."
    )


# Class-folder trees shown to ImageFolder as a train split: source folder ->
# (temporary folder holding only the link `train` to it, creating process).
# The pipelines read images through the link, so it stays until exit, and
# later loads of the same folder reuse it.
_TRAIN_LINKS = {}


def _as_train_split(path):
    """A folder whose `train` links to `path`: ImageFolder's split/class/image."""
    path = os.path.abspath(path)
    root, _ = _TRAIN_LINKS.get(path, (None, None))
    if root is None or not os.path.islink(os.path.join(root, "train")):  # removed since?
        root = tempfile.mkdtemp(prefix="kerasrec-folder-")
        _TRAIN_LINKS[path] = (root, os.getpid())
        os.symlink(path, os.path.join(root, "train"))
    return root


@atexit.register
def _remove_train_links():
    for root, pid in _TRAIN_LINKS.values():
        if pid == os.getpid():  # not a forked child's copy of the table
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(root, "train"))  # the link, never the images
                os.rmdir(root)


def _open_folder(path):
    """An ImageFolder builder for `path` and its split sizes."""
    path = os.path.expanduser(path)
    if not path or not os.path.isdir(path):
        raise ArgumentError(
            f"Argument `name` is 'folder:PATH' but PATH is not a directory. Received: path={path!r}"
        )
    subdirs = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    if "train" in subdirs:
        root = path  # Already laid out as split/class/image.
    else:
        # One sub-folder per class: present it to TFDS as the train split.
        root = _as_train_split(path)
    # Count only what ImageFolder will read: root/<split>/<class>/<image>.
    split_dirs = [os.path.join(root, d) for d in os.listdir(root)]
    n_images = sum(
        f.lower().endswith(_IMAGE_SUFFIXES)
        for split_dir in split_dirs if os.path.isdir(split_dir)
        for label in os.listdir(split_dir)
        if os.path.isdir(os.path.join(split_dir, label))
        for f in os.listdir(os.path.join(split_dir, label))
    )
    if n_images == 0:
        raise ArgumentError(
            "Argument `name` is 'folder:PATH' but PATH holds no images in class "
            f"sub-folders (PATH/<class>/<image> or PATH/<split>/<class>/<image>; "
            f"suffixes {_IMAGE_SUFFIXES}). Received: path={path!r}"
        )
    builder = tfds.ImageFolder(root)
    sizes = {s: builder.info.splits[s].num_examples for s in builder.info.splits}
    return builder, sizes


def _open_tfds(name, data_dir, config):
    kwargs = {"data_dir": data_dir}
    if config is not None:
        kwargs["config"] = config
    try:
        builder = tfds.builder(name, **kwargs)
    except tfds.core.registered.DatasetNotFoundError:
        raise _unknown_name_error(name) from None
    if not builder.is_prepared():
        embedded = name.split("/")[0] in EMBEDDED
        if not embedded and not _network_available():
            raise DataUnavailableError(
                f"Dataset {name!r} is not prepared in {data_dir} and no network "
                "is reachable to download it. Prepare it on a machine with a "
                f"network (python -c \"import tensorflow_datasets as tfds; "
                f"tfds.load('{name}', data_dir='{data_dir}')\"), then copy "
                f"the folder {os.path.join(data_dir, name.split('/')[0])} here, "
                f"or point ${DATA_DIR_ENV} at a folder that holds it. The "
                f"embedded datasets {list(EMBEDDED)} work offline."
            )
        builder.download_and_prepare()
    sizes = {s: builder.info.splits[s].num_examples for s in builder.info.splits}
    return builder, sizes


def _plan_splits(sizes, *, quick, train_size):
    """Maps each role to `(split, start, stop)` of the dataset's own splits."""
    if "train" not in sizes:
        raise ArgumentError(
            f"The dataset has no 'train' split; its splits are {sorted(sizes)}."
        )
    n_train = sizes["train"]
    plan = {}
    carve_end = n_train
    for role in ("test", "validation"):
        own = next((s for s in _SPLIT_ALIASES[role] if s in sizes), None)
        if own is not None:
            plan[role] = (own, 0, sizes[own])
        else:  # Hold out the end of train, never overlapping the rest.
            n = max(1, int(n_train * HELD_OUT_FRACTION))
            plan[role] = ("train", carve_end - n, carve_end)
            carve_end -= n
    plan["train"] = ("train", 0, max(carve_end, 0))
    limits = dict(QUICK_SIZES) if quick else {}
    if train_size is not None:
        limits["train"] = min(train_size, limits.get("train", train_size))
    for role, limit in limits.items():
        split, start, stop = plan[role]
        plan[role] = (split, start, min(stop, start + limit))
    for role, (split, start, stop) in plan.items():
        if stop <= start:
            raise ArgumentError(
                f"The {role} split would be empty (dataset splits: {sizes}, "
                f"quick={quick}, train_size={train_size}). Use more data or "
                "larger sizes."
            )
    return plan


def _read(builder, split, start, stop, folder):
    if folder:  # ImageFolder has no sub-split API: slice the stream.
        ds = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        return ds.skip(start).take(stop - start)
    return builder.as_dataset(
        split=f"{split}[{start}:{stop}]", as_supervised=True, shuffle_files=False
    )


def _translate(image, pad, seed):
    # Stateless, with a per-example seed: reproducible for a given `seed`
    # whatever the thread timing of the parallel map.
    shape = tf.shape(image)
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    return tf.image.stateless_random_crop(padded, shape, seed=seed)


def make_pipeline(
    ds,
    *,
    batch_size,
    training,
    num_examples,
    seed=0,
    augment=False,
    image_size=None,
    cache=True,
    drop_remainder=False,
):
    """Turns a dataset of `(uint8 image, label)` into batches for `fit`.

    Order: resize (if `image_size`), cache, shuffle (training only),
    augment (training only: random translation by up to 1/8 of the side,
    reflect-padded), batch, cast to float32 (values stay in [0, 255], as
    `keras.applications` expect; the reference models rescale inside),
    prefetch. Auto-sharding is by data, so the same pipeline works under
    `MultiWorkerMirroredStrategy`.

    Args:
        ds: a `tf.data.Dataset` of `(image, label)` pairs.
        batch_size: the global batch size (all replicas together).
        training: whether to shuffle and augment.
        num_examples: the size of `ds`, for the shuffle buffer.
        seed: shuffle and augmentation seed. Defaults to `0`.
        augment: random translation when training. Defaults to `False`.
        image_size: `(height, width)` to resize to, or `None`. Defaults to `None`.
        cache: keep the decoded examples in memory after the first epoch.
            Defaults to `True`.
        drop_remainder: drop the last partial batch (what `tf.distribute`
            needs for equal per-replica batches). Defaults to `False`.

    Returns:
        A batched, prefetched `tf.data.Dataset`.
    """
    check_positive_int("batch_size", batch_size)
    if image_size is not None:
        size = tuple(image_size)
        ds = ds.map(
            lambda x, y: (
                tf.cast(tf.round(tf.image.resize(x, size)), tf.uint8),
                y,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(min(num_examples, 50_000), seed=seed, reshuffle_each_iteration=True)
        if augment:
            pad = max(1, (ds.element_spec[0].shape[0] or 32) // 8)
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip(ds, seeds).map(
                lambda xy, s: (_translate(xy[0], pad, s), xy[1]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def load(
    name="shapes",
    *,
    batch_size=128,
    quick=False,
    train_size=None,
    augment=False,
    seed=0,
    image_size=None,
    drop_remainder=False,
    data_dir=None,
    config=None,
):
    """Loads a dataset by name as batched train/validation/test pipelines.

    Names: `"shapes"` (also `"shapes/similar"`, `"shapes/different"`) and
    `"digits"` are embedded and prepared offline on first use;
    `"folder:PATH"` reads your own images (`PATH/<class>/<image>`, or
    `PATH/<split>/<class>/<image>`) through TFDS's `ImageFolder`; any other
    name goes to `tfds.builder` unchanged (`"cifar10"`, `"mnist"`, ...), which
    downloads on first use. A dataset without a validation (or test) split
    gets one held out from the end of train (10% each).

    Args:
        name: the dataset. Defaults to `"shapes"`.
        batch_size: global batch size. Defaults to `128`.
        quick: cap the splits at `QUICK_SIZES` (2000/500/500), for smoke
            runs. Defaults to `False`.
        train_size: use only the first `train_size` training examples (e.g.
            to make a model overfit). Defaults to `None` (all).
        augment: random translation of training images. Defaults to `False`.
        seed: shuffle and augmentation seed. Defaults to `0`.
        image_size: `(height, width)` to resize to. Defaults to `None`: the
            dataset's own size, or (64, 64) where images vary in size.
        drop_remainder: drop partial batches, as `tf.distribute` needs.
            Defaults to `False`.
        data_dir: where TFDS data lives. Defaults to `default_data_dir()`.
        config: a `tfds.core.BuilderConfig` (e.g. `ShapesConfig` with other
            sizes). Defaults to `None`.

    Returns:
        `(train, validation, test, info)`: three `tf.data.Dataset`s of
        `(float32 images in [0, 255], int labels)` and a `DatasetInfo`.

    Raises:
        ValueError: unknown name, bad folder, non-positive sizes, or a split
            that would be empty.
        DataUnavailableError: a TFDS dataset is not prepared and there is
            no network to download it.

    Example:

    >>> train, val, test, info = kerasrec.data.load("shapes", batch_size=64)
    >>> info.num_classes, info.input_shape
    (10, (32, 32, 3))
    """
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"Argument `name` must be a non-empty string. Received: name={name!r}")
    check_positive_int("batch_size", batch_size)
    check_positive_int("train_size", train_size, allow_none=True)
    if image_size is not None:
        check_positive_ints("image_size", image_size, length=2, what="a pair of positive integers")
    data_dir = os.path.expanduser(data_dir or default_data_dir())
    folder = name.startswith("folder:")
    if folder:
        builder, sizes = _open_folder(name[len("folder:") :])
    else:
        builder, sizes = _open_tfds(name, data_dir, config)
    plan = _plan_splits(sizes, quick=quick, train_size=train_size)

    features = builder.info.features
    shape = tuple(features["image"].shape)
    if image_size is None and None in shape[:2]:
        image_size = VARIABLE_SIZE_DEFAULT
    if image_size is not None:
        shape = (*image_size, shape[2])
    label = features["label"]
    split_sizes = {role: plan[role][2] - plan[role][1] for role in ROLES}
    if drop_remainder and split_sizes["train"] < batch_size:
        raise ArgumentError(
            "Argument `batch_size` must be <= the number of training examples "
            "when `drop_remainder=True`. "
            f"Received: batch_size={batch_size}, train examples={split_sizes['train']}"
        )

    pipelines = [
        make_pipeline(
            _read(builder, *plan[role], folder),
            batch_size=batch_size,
            training=role == "train",
            num_examples=split_sizes[role],
            seed=seed,
            augment=augment,
            image_size=image_size,
            drop_remainder=drop_remainder and role == "train",
        )
        for role in ROLES
    ]
    round_ = math.floor if drop_remainder else math.ceil
    info = DatasetInfo(
        name=name,
        num_classes=label.num_classes,
        class_names=tuple(label.names),
        input_shape=shape,
        split_sizes=split_sizes,
        batch_size=batch_size,
        steps_per_epoch=int(round_(split_sizes["train"] / batch_size)),
        data_dir=data_dir,
    )
    return (*pipelines, info)
