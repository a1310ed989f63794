"""Shared test set-up: quiet TensorFlow, one data dir per session, seeding."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One TFDS data dir for the whole session (subprocesses inherit it), so the
# embedded datasets are prepared once per run, never in the user's home.
# Set KERASREC_DATA_DIR yourself to reuse prepared data between runs.
os.environ.setdefault("KERASREC_DATA_DIR", tempfile.mkdtemp(prefix="kerasrec-tfds-"))

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def data_dir():
    return os.environ["KERASREC_DATA_DIR"]
