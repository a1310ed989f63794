"""Files that are never half-written, and one JSON rule for every module.

- `write_atomic(path, data)` and `replacing(path)`: write to a unique
  temporary file beside `path`, then `os.replace` it, so a killed process
  leaves the old file or the new one, never half of either, and two writers
  never share a temporary name.
- `to_jsonable(value)`: the one rule for numbers in kerasrec's JSON files.
  Non-finite floats (`nan`, `inf`) become `null`, so every file is strict
  JSON that any reader accepts (Python's `json` would write the non-standard
  `NaN`); NumPy scalars and arrays become Python numbers and lists.
  `write_json` applies it and refuses anything still non-standard.
"""

import contextlib
import json
import math
import os
import tempfile


@contextlib.contextmanager
def replacing(path, suffix=".tmp"):
    """A unique temporary path beside `path` that replaces it if the block succeeds.

    The temporary file (ending in `suffix`: Keras wants `.keras` for a model,
    Matplotlib reads the format from `.png`) is removed if the block fails.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_atomic(path, data):
    """Writes `data` (str or bytes) to `path` through a temporary file."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def to_jsonable(value):
    """`value` with non-finite floats as `None` and NumPy values as Python ones."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "ndim"):  # NumPy scalar or array
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path, obj, *, indent=2):
    """Writes `to_jsonable(obj)` as strict JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return write_atomic(path, text + "\n")


def read_json(path, default=None):
    """The JSON in `path`, or `default` when there is no such file."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default
