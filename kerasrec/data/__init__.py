"""Datasets: embedded offline TFDS builders and the one input pipeline."""

from kerasrec.data.digits import Digits
from kerasrec.data.noise import label_noise
from kerasrec.data.pipeline import (
    DATA_DIR_ENV,
    EMBEDDED,
    QUICK_SIZES,
    DataUnavailableError,
    DatasetInfo,
    default_data_dir,
    load,
    make_pipeline,
)
from kerasrec.data.shapes import Shapes, ShapesConfig
