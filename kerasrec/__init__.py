"""kerasrec: Keras 3 recipes for training neural networks well.

The public surface, by module:
- `kerasrec.schedules`: learning-rate schedules and warmup (`get` by name);
  `kerasrec.shared_start`: schedules compared from one warmed-up start per seed.
- `kerasrec.callbacks`: `LearningRateLogger`, `PrecheltStopping`, `LRFinder`,
  `BatchLoss`, `EpochWeights` + `replay`, `SnapshotEnsemble`.
- `kerasrec.lr_range`: the LR range test in one call (`lr_range_test`).
- `kerasrec.diagnosis`: reads learning curves (`diagnose`, `Finding`,
  `format_findings`, `CODES`); `kerasrec.diagnose` is the same function.
- `kerasrec.tuning`: KerasTuner grid and random search that resume, with a
  trial table (`GridSearch`, `RandomSearch`, `make_hypermodel`).
- `kerasrec.playbook`: the lecture's tuning procedure, one function a step.
- `kerasrec.data`: embedded offline datasets and the one input pipeline.
- `kerasrec.models`: the reference CNN and MLP.
- `kerasrec.ensembles`: averaging trained models (`average`, `train_members`,
  `average_weights`, `load_snapshots`, `score`, `growth`);
  `kerasrec.batchnorm`: BatchNorm statistics for averaged weights;
  `kerasrec.ema`: Polyak averaging on top of `use_ema` (`EMAValidation`,
  `EMAEarlyStopping`, `EMACheckpoint`, `ema_weights`).
- `kerasrec.lr_sweep`: verdicts on a sweep of constant learning rates.
- `kerasrec.search_simulation`: Bergstra & Bengio's grid-vs-random argument
  on a synthetic objective.
- `kerasrec.runs`, `kerasrec.stats`, `kerasrec.plots`, `kerasrec.report`,
  `kerasrec.distribute`: the recipe harness (flags, seeds, resumable steps),
  the mean ± sd rule of claims, the figures, the playbook's report, and the
  local chief/worker launcher (import them explicitly; they are not needed
  to train).

Importing `kerasrec` registers every serializable object with Keras, so a
model saved with a kerasrec schedule loads without `custom_objects`.
"""

from kerasrec import (
    batchnorm,
    callbacks,
    data,
    diagnosis,
    ema,
    ensembles,
    lr_range,
    models,
    playbook,
    schedules,
    tuning,
)
from kerasrec._checks import ArgumentError
from kerasrec.diagnosis import Finding, diagnose

__version__ = "0.1.0"
