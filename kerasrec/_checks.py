"""Argument checks shared by kerasrec's public objects.

Each raises `ValueError` in the Keras template: "Argument `name` must be ...
Received: name=value", before the value can reach TensorFlow.
"""

import math
import numbers


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive_int(name, value, *, allow_none=False):
    if value is None and allow_none:
        return value
    if not _is_int(value) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def check_number(name, value, low, high=None):
    """`value` is a finite real number in [low, high), or [low, inf) without `high`."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and value >= low and (high is None or value < high)
    if not ok:
        allowed = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"Argument `{name}` must be a number {allowed}. Received: {name}={value!r}")
    return value


def check_positive_ints(name, value, *, length=None, what="positive integers"):
    """`value` is a non-empty tuple or list of positive ints (of `length`)."""
    ok = (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and (length is None or len(value) == length)
        and all(_is_int(v) and v > 0 for v in value)
    )
    if not ok:
        raise ValueError(f"Argument `{name}` must be {what}. Received: {name}={value!r}")
    return tuple(value)


def check_int(name, value, low):
    """`value` is an int (not a bool) >= `low`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"Argument `{name}` must be an int >= {low}. Received: {name}={value!r}")
    return int(value)


def check_greater(name, value, low):
    """`value` is a finite real number > `low`."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and value > low and math.isfinite(value)):
        raise ValueError(f"Argument `{name}` must be a number > {low:g}. Received: {name}={value!r}")
    return float(value)
