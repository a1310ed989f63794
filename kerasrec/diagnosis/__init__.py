"""Learning-curve diagnosis: which of the lecture's patterns a run shows.

Step 6 of the lecture's procedure reads the learning curves. `diagnose()`
does it for a Keras `History` (or its `.history` dict): it names each pattern
it finds, with the numbers from the curves that show it and the lecture's
advice for it, as `Finding`s. `format_findings()` turns them into a
markdown list for a report.

| code | what the curves show | advice |
|---|---|---|
| `"bad_initialization"` | loss flat at its initial value, then a drop | fix the initialization |
| `"lr_too_high"` | loss falls, then plateaus early and high | lower the LR, or decay it |
| `"decayed_too_early"` | loss steps down after an LR drop, then flat | decay later |
| `"train_longer"` | train and val still improving together | train longer |
| `"overfitting"` | big train/val gap, or val loss rising | regularize, more data, stop early |
| `"underfitting"` | no gap, but low accuracy | bigger model, train longer |
| `"diverged"` | NaN/inf loss, or the loss exploding | lower the LR, check data and init |
| `"healthy"` | none of the above | |

The detectors are heuristics on per-epoch curves (5 to a few hundred
epochs): they smooth a little, compare against the curve's own scale (the
initial loss) and never test exact equality. Their thresholds are the
keyword arguments of `diagnose()`.
"""

from kerasrec.diagnosis.findings import CODES, Finding, format_findings
from kerasrec.diagnosis.reader import diagnose

__all__ = ["CODES", "Finding", "diagnose", "format_findings"]
