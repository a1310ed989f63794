"""The embedded `shapes` dataset: a TFDS builder around `render.py`.

Prepared offline on first use (about 30 s for the default 30k images on two
CPU cores), then read with `tfds.load("shapes")` like any TFDS dataset.
Configs: `shapes/source` (the default), `shapes/similar`, `shapes/different`;
see `render.py` for what each task holds and which parameters vary.
"""

import dataclasses

import tensorflow_datasets as tfds

from kerasrec._checks import ArgumentError
from kerasrec.data import render

DEFAULT_SIZES = {"train": 20_000, "validation": 5_000, "test": 5_000}


@dataclasses.dataclass
class ShapesConfig(tfds.core.BuilderConfig):
    """Which task to render and how many examples each split holds.

    Args:
        task: `"source"`, `"similar"` or `"different"`. Defaults to the
            config's name.
        train_size: examples in the train split. Defaults to `20000`.
        validation_size: examples in the validation split. Defaults to `5000`.
        test_size: examples in the test split. Defaults to `5000`.

    A config with other sizes needs its own `name` (e.g. `"source_small"`),
    since the name is the folder the prepared data is stored under.
    """

    task: str = "source"
    train_size: int = DEFAULT_SIZES["train"]
    validation_size: int = DEFAULT_SIZES["validation"]
    test_size: int = DEFAULT_SIZES["test"]

    def __post_init__(self):
        if self.task not in render.TASKS:
            raise ArgumentError(
                f"Argument `task` must be one of {sorted(render.TASKS)}. "
                f"Received: task={self.task!r}"
            )
        for split in render.SPLITS:
            size = getattr(self, f"{split}_size")
            if not isinstance(size, int) or size <= 0:
                raise ArgumentError(
                    f"Argument `{split}_size` must be a positive integer. "
                    f"Received: {split}_size={size!r}"
                )


class Shapes(tfds.core.GeneratorBasedBuilder):
    """Procedural CIFAR-like 32x32x3 shapes, in three tasks for transfer."""

    VERSION = tfds.core.Version(f"{render.GENERATOR_VERSION}.0.0")
    RELEASE_NOTES = {
        "1.0.0": "First release.",
        "2.0.0": "Rotation range 35 degrees (was 30): recalibrated for the reference CNN.",
    }
    BUILDER_CONFIGS = [
        ShapesConfig(name=task, task=task, description=f"The `{task}` task.")
        for task in render.TASKS
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "source"

    def _info(self):
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(render.SIZE, render.SIZE, 3)),
                    "label": tfds.features.ClassLabel(
                        names=list(render.TASKS[self.builder_config.task])
                    ),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download: every image is rendered here.
        return {split: self._generate_examples(split) for split in render.SPLITS}

    def _generate_examples(self, split):
        config = self.builder_config
        size = getattr(config, f"{split}_size")
        for chunk, start in enumerate(range(0, size, render.CHUNK)):
            images, labels = render.render_chunk(
                config.task, split, chunk, min(render.CHUNK, size - start)
            )
            for offset, (image, label) in enumerate(zip(images, labels)):
                yield start + offset, {"image": image, "label": int(label)}
