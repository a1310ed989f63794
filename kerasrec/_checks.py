"""Argument checks shared by kerasrec's public objects.

Each raises `ArgumentError` (a `ValueError`) in the Keras template:
"Argument `name` must be ... Received: name=value", before the value can
reach TensorFlow. Every argument error of kerasrec is an `ArgumentError`, so
the recipe harness can print it as one line while a `ValueError` from inside
Keras or TensorFlow keeps its traceback.
"""

import math
import numbers


class ArgumentError(ValueError):
    """A kerasrec argument or flag is not allowed; the message says what is."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _or_none(allowed, allow_none):
    return f"{allowed} or None" if allow_none else allowed


def check_positive_int(name, value, *, allow_none=False):
    if value is None and allow_none:
        return value
    if not _is_int(value) or value <= 0:
        allowed = _or_none("a positive integer", allow_none)
        raise ArgumentError(f"Argument `{name}` must be {allowed}. Received: {name}={value!r}")
    return value


def check_number(name, value, low, high=None):
    """`value` is a finite real number in [low, high), or [low, inf) without `high`."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and value >= low and (high is None or value < high)
    if not ok:
        allowed = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ArgumentError(f"Argument `{name}` must be a number {allowed}. Received: {name}={value!r}")
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
        raise ArgumentError(f"Argument `{name}` must be {what}. Received: {name}={value!r}")
    return tuple(value)


def check_int(name, value, low, *, allow_none=False):
    """`value` is an int (not a bool) >= `low` (or None, with `allow_none`)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        allowed = _or_none(f"an int >= {low}", allow_none)
        raise ArgumentError(f"Argument `{name}` must be {allowed}. Received: {name}={value!r}")
    return int(value)


def check_range(name, value, low, high=None, *, low_open=True, high_open=True):
    """`value` is a finite real number between `low` and `high`, as a float.

    Each end is excluded (open) unless `low_open` or `high_open` is False;
    without `high` the range has no upper end.
    """
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (high is None or (value < high if high_open else value <= high))
    )
    if not ok:
        if high is None:
            allowed = f"> {low:g}" if low_open else f">= {low:g}"
        else:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            allowed = f"in {left}{low:g}, {high:g}{right}"
        raise ArgumentError(f"Argument `{name}` must be a number {allowed}. Received: {name}={value!r}")
    return float(value)


def check_greater(name, value, low):
    """`value` is a finite real number > `low`, as a float."""
    return check_range(name, value, low)
