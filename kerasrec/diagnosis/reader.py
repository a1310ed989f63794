"""`diagnose()`: runs every pattern detector on a history and orders the findings."""

import dataclasses

import numpy as np

from kerasrec._checks import ArgumentError
from kerasrec._checks import check_int, check_range
from kerasrec.diagnosis.findings import _ADVICE, CODES, Finding
from kerasrec.diagnosis.patterns import _CHECKS, _Skip, _curves, _diverged, _g

__all__ = ["diagnose"]


def diagnose(
    history,
    *,
    gap=0.1,
    target_accuracy=1.0,
    accuracy_shortfall=0.1,
    val_loss_rise=0.1,
    flat_epochs=3,
    flat_tolerance=0.05,
    drop=0.25,
    high_loss=0.25,
    lr_drop_factor=2.0,
    explode_factor=3.0,
    window=None,
):
    """Names the lecture's learning-curve patterns that a training run shows.

    Reads the per-epoch curves `loss` (required), `val_loss`, `accuracy`,
    `val_accuracy` and `learning_rate` (e.g. from
    `kerasrec.callbacks.LearningRateLogger`) and returns one `Finding` per
    pattern found, in the order of `CODES`; a run can show several. With
    `initial = loss[0]` (the scale of the curve), `level(x)` the median of
    the last 3 values of `x`, and epochs counted from 1:

    ```python
    diverged: a NaN/inf loss or val_loss, or loss[t] > explode_factor *
        initial, or the loss back above initial after falling below
        initial / explode_factor
    bad_initialization: loss within flat_tolerance * initial of initial
        for the first >= flat_epochs epochs, then below (1 - drop) * initial
    lr_too_high: the (3-epoch median) loss gets within flat_tolerance *
        initial of its final level in the first half of training and is not
        clearly falling after that (as for train_longer); that level is
        below initial (it fell) but high: level(accuracy) < target_accuracy -
        accuracy_shortfall, or, without accuracy, level(loss) >= high_loss *
        initial; not when the plateau follows an LR drop
    decayed_too_early: the LR falls by >= lr_drop_factor between two epochs
        while the loss was still falling >= flat_tolerance (relative) per
        epoch; the loss steps down by >= flat_tolerance within 2 epochs; then,
        with the LR still low for >= max(flat_epochs, epochs / 4) epochs, it
        falls per epoch at most a quarter as fast as before the drop
    train_longer: over the last `window` epochs, the fitted lines of both the
        train and val error rates (1 - accuracy; or the losses, without
        accuracy) fall by >= flat_tolerance of their level, with slopes at
        least 2 standard errors; and level(accuracy) - level(val_accuracy) < gap
    overfitting: level(accuracy) - level(val_accuracy) >= gap, or
        level(val_loss) >= (1 + val_loss_rise) * min(val_loss) while the
        train loss fell since that minimum
    underfitting: level(accuracy) < target_accuracy - accuracy_shortfall and
        (no val_accuracy, or the gap < gap); without accuracy, a loss that
        never left initial +- flat_tolerance * initial
    healthy: none of the above
    ```

    "Low" accuracy is relative to what the task allows: by default a
    training accuracy under 0.9, since a big enough network fits its
    training set (lecture step 2). For a task with noisy labels or a hard
    ceiling, pass `target_accuracy` (e.g. the best training accuracy you
    have seen) so that only runs well below it count as underfitting.
    Underfitting and a too-high learning rate look alike on the curves; a
    plateau reached early points to the learning rate: lower it, and if the
    plateau moves down, it was the learning rate.

    Checks that need a missing key or more epochs are skipped, and the
    others run: every finding then has `data["skipped"]`, a dict from the
    skipped codes to the reason (e.g. `"decayed_too_early": "needs
    'learning_rate' ..."`), and the `"healthy"` evidence names them. After a
    divergence, the other checks read only the epochs before it. Other keys
    of the history are ignored.

    Args:
        history: A `keras.callbacks.History` or its `.history` dict: lists of
            per-epoch floats, all of the same length.
        gap: Float in (0, 1]. A train - val accuracy gap this large is
            overfitting. Defaults to `0.1`.
        target_accuracy: Float in (0, 1]. The training accuracy the task
            allows. Defaults to `1.0`.
        accuracy_shortfall: Float in (0, target_accuracy). A training
            accuracy this far below `target_accuracy` is low. Defaults to
            `0.1`.
        val_loss_rise: Float > 0. A validation loss this fraction above its
            minimum (while the train loss falls) is overfitting. Defaults to
            `0.1`.
        flat_epochs: Int >= 2. Epochs of flat loss that make a plateau.
            Defaults to `3`.
        flat_tolerance: Float in (0, 1). Changes of the loss within this
            fraction of the initial loss count as flat; also the smallest
            relative improvement that counts. Defaults to `0.05`.
        drop: Float in (0, 1). After an initial plateau, the loss must fall
            by this fraction of the initial loss for `"bad_initialization"`.
            Defaults to `0.25`.
        high_loss: Float in (0, 1). Without accuracy, a plateau at or above
            this fraction of the initial loss is high (`"lr_too_high"`).
            Defaults to `0.25`.
        lr_drop_factor: Float > 1. The learning rate falling by this factor
            between two epochs is a decay. Defaults to `2.0`.
        explode_factor: Float > 1. The loss growing past this multiple of its
            initial value has diverged. Defaults to `3.0`.
        window: Int >= 3 or `None`. Last epochs over which
            `"train_longer"` fits the trends; `None` means
            `max(3, epochs // 4)`. Defaults to `None`.

    Returns:
        A non-empty list of `Finding`s: the problem patterns found, or a
        single `"healthy"` one.

    Raises:
        ValueError: If `history` has no `loss`, no epochs, curves of
            different lengths or non-numeric values, or a threshold is out of
            range.

    Example:

    >>> history = model.fit(x, y, validation_split=0.2, epochs=30,
    ...                     callbacks=[kerasrec.callbacks.LearningRateLogger()])
    >>> for finding in kerasrec.diagnose(history):
    ...     print(finding.code, "-", finding.evidence)
    overfitting - train accuracy 1 vs val accuracy 0.81 at the end: ...
    """
    p = {
        "gap": check_range("gap", gap, 0, 1, high_open=False),
        "target_accuracy": check_range(
            "target_accuracy", target_accuracy, 0, 1, high_open=False
        ),
        "val_loss_rise": check_range("val_loss_rise", val_loss_rise, 0),
        "flat_epochs": check_int("flat_epochs", flat_epochs, 2),
        "flat_tolerance": check_range("flat_tolerance", flat_tolerance, 0, 1),
        "drop": check_range("drop", drop, 0, 1),
        "high_loss": check_range("high_loss", high_loss, 0, 1),
        "lr_drop_factor": check_range("lr_drop_factor", lr_drop_factor, 1),
        "explode_factor": check_range("explode_factor", explode_factor, 1),
        "window": check_int("window", window, 3, allow_none=True),
    }
    p["accuracy_shortfall"] = check_range("accuracy_shortfall", accuracy_shortfall, 0)
    if accuracy_shortfall >= target_accuracy:
        raise ArgumentError(
            "Argument `accuracy_shortfall` must be < `target_accuracy`. "
            f"Received: accuracy_shortfall={accuracy_shortfall!r}, "
            f"target_accuracy={target_accuracy!r}"
        )
    curves = _curves(history)

    findings = {}
    skipped = {}
    diverged = _diverged(curves, p)
    n = len(curves["loss"])
    if diverged is not None:
        findings["diverged"] = diverged
        n = diverged.data["epoch"] - 1
    # The other checks read the epochs before the first non-finite value.
    for values in curves.values():
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            n = min(n, int(bad[0]))
    if n == 0:
        for code, _ in _CHECKS:
            skipped[code] = "no finite epoch before the divergence"
    else:
        cut = {key: values[:n] for key, values in curves.items()}
        for code, check in _CHECKS:
            try:
                finding = check(cut, p)
            except _Skip as e:
                skipped[code] = str(e)
                continue
            if finding is not None:
                findings[code] = finding

    if not findings:
        loss = curves["loss"]
        parts = [f"final loss {_g(loss[-1])}"]
        for key in ("val_loss", "accuracy", "val_accuracy"):
            if key in curves:
                parts.append(f"{key.replace('_', ' ')} {_g(curves[key][-1])}")
        evidence = (
            f"none of the problem patterns in {len(loss)} epochs ("
            + ", ".join(parts)
            + ")"
        )
        if skipped:
            evidence += "; not checked: " + ", ".join(
                f"{code} ({why})" for code, why in skipped.items()
            )
        data = {"epochs": len(loss)}
        data.update({key: float(curves[key][-1]) for key in curves if key != "learning_rate"})
        findings["healthy"] = Finding("healthy", evidence, _ADVICE["healthy"], data)
    result = []
    for code in CODES:
        if code in findings:
            finding = findings[code]
            if skipped:
                finding = dataclasses.replace(
                    finding, data={**finding.data, "skipped": dict(skipped)}
                )
            result.append(finding)
    return result
