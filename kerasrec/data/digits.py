"""The embedded `digits` dataset: UCI handwritten digits, as a TFDS builder.

The 1,797 8x8 grey images that scikit-learn ships (no download), rescaled
from 0..16 to 0..255 and split 60/20/20 per class with a fixed seed, so the
three splits are disjoint and stratified.
"""

import numpy as np
import tensorflow_datasets as tfds

SPLIT_FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}
SEED = 1797


def split_indices(labels, seed=SEED):
    """Stratified, deterministic `{split: indices}` for the given labels."""
    rng = np.random.default_rng(seed)
    parts = {split: [] for split in SPLIT_FRACTIONS}
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(len(idx) * SPLIT_FRACTIONS["train"])
        n_val = round(len(idx) * SPLIT_FRACTIONS["validation"])
        parts["train"].append(idx[:n_train])
        parts["validation"].append(idx[n_train : n_train + n_val])
        parts["test"].append(idx[n_train + n_val :])
    return {split: np.sort(np.concatenate(p)) for split, p in parts.items()}


class Digits(tfds.core.GeneratorBasedBuilder):
    """UCI ML hand-written digits (8x8 grey), bundled with scikit-learn."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}

    def _info(self):
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # The data ships inside scikit-learn.
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        labels = digits.target.astype(np.int64)
        return {
            split: self._generate_examples(images[idx], labels[idx], idx)
            for split, idx in split_indices(labels).items()
        }

    def _generate_examples(self, images, labels, indices):
        for image, label, index in zip(images, labels, indices):
            yield int(index), {"image": image, "label": int(label)}
