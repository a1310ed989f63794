"""The findings of a learning-curve diagnosis: the codes, the advice, the markdown list."""

import dataclasses
import numbers

import numpy as np

from kerasrec._checks import ArgumentError

__all__ = ["CODES", "Finding", "format_findings"]

CODES = (
    "bad_initialization",
    "lr_too_high",
    "decayed_too_early",
    "train_longer",
    "overfitting",
    "underfitting",
    "diverged",
    "healthy",
)

_ADVICE = {
    "bad_initialization": (
        "Bad initialization: the network spent its first epochs at the "
        "initial loss before it started to learn. Check the initial loss "
        "(about ln(C) for a softmax over C classes, lecture step 1), use a "
        "standard initializer at its usual scale (Glorot or He, Keras's "
        "defaults) or normalization layers, and make sure a small sample can "
        "be overfit (step 2)."
    ),
    "lr_too_high": (
        "The learning rate is probably too high: the loss stopped improving "
        "early at a high level. Lower the learning rate, or decay it (step, "
        "cosine or linear schedule) so that the loss can go below the "
        "plateau."
    ),
    "decayed_too_early": (
        "The learning rate was decayed too early: the loss was still "
        "improving at the high learning rate, stepped down at the decay and "
        "then stopped improving. Decay later (move the boundary later or "
        "lengthen the schedule), or by a smaller factor."
    ),
    "train_longer": (
        "Train longer: training and validation are still improving together "
        "at the end, with no big gap between them."
    ),
    "overfitting": (
        "Overfitting: add regularization (weight decay, dropout, data "
        "augmentation), get more data, or stop early and keep the best "
        "weights (e.g. `keras.callbacks.EarlyStopping(restore_best_weights="
        "True)`)."
    ),
    "underfitting": (
        "Underfitting: use a bigger model, train longer, or lower the "
        "regularization."
    ),
    "diverged": (
        "Training diverged: lower the learning rate (or add warmup), and "
        "check the data (NaN/inf inputs, labels out of range) and the "
        "initialization (the initial loss should be about ln(C))."
    ),
    "healthy": (
        "No problem pattern in the curves. To do better, go back to step 5: "
        "refine the search around the best values and adjust the "
        "architecture, learning rate, schedule, update rule and "
        "regularization."
    ),
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One learning-curve pattern found by `diagnose()`.

    Args:
        code: One of `CODES`, e.g. `"overfitting"`.
        evidence: Human-readable sentence with the numbers from the curves
            that show the pattern (epochs are 1-based, as in Keras's progress
            bar and `kerasrec.plots`).
        advice: The lecture's advice for this pattern.
        data: Dict of the key numbers behind the evidence (e.g.
            `{"best_val_epoch": 12, "gap": 0.19, ...}`), JSON-serializable.
            Where some checks could not run, `data["skipped"]` maps their
            codes to the reason. Defaults to `{}`.

    Raises:
        ValueError: If `code` is not one of `CODES`.

    Example:

    >>> finding = diagnose(history)[0]
    >>> finding.code, finding.data
    ('overfitting', {'train_accuracy': 1.0, 'val_accuracy': 0.81, ...})
    >>> json.dumps(finding.to_dict())
    """

    code: str
    evidence: str
    advice: str
    data: dict = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        if self.code not in CODES:
            raise ArgumentError(
                f"Argument `code` must be one of {list(CODES)}. "
                f"Received: code={self.code!r}"
            )

    def to_dict(self):
        """Returns `{"code", "evidence", "advice", "data"}` as plain types."""
        return {
            "code": self.code,
            "evidence": self.evidence,
            "advice": self.advice,
            "data": _plain(self.data),
        }


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value



def format_findings(findings):
    """Formats findings as a markdown bullet list, one bullet per finding.

    Each bullet is `- **code**: evidence. Advice: advice`; where checks were
    skipped (`data["skipped"]`), a last bullet names them.

    Args:
        findings: A list of `Finding`s, as returned by `diagnose()`.

    Returns:
        A markdown string (empty for an empty list).

    Raises:
        ValueError: If `findings` is not a list or tuple of `Finding`s.

    Example:

    >>> print(format_findings(diagnose(history)))
    - **overfitting**: train accuracy 1 vs val accuracy 0.81 ... Advice: ...
    """
    if not isinstance(findings, (list, tuple)) or not all(
        isinstance(f, Finding) for f in findings
    ):
        raise ArgumentError(
            "Argument `findings` must be a list of `Finding`s (what "
            f"`diagnose()` returns). Received: findings={findings!r}"
        )
    lines = [f"- **{f.code}**: {f.evidence}. Advice: {f.advice}" for f in findings]
    skipped = {}
    for f in findings:
        skipped.update(f.data.get("skipped", {}))
    if skipped and not any(f.code == "healthy" for f in findings):
        lines.append(
            "- Not checked: "
            + "; ".join(f"{code} ({why})" for code, why in skipped.items())
        )
    return "\n".join(lines)
