"""Callbacks: log the learning rate, stop early, find the learning rate, record batches.

- `LearningRateLogger` (`learning_rate_logger.py`): the optimizer's learning
  rate in the epoch logs, whatever it holds (a float or a schedule).
- `PrecheltStopping`, `prechelt_stop_epochs` (`prechelt.py`): Prechelt's
  (1998) GL, PQ and UP stopping criteria, live or on recorded curves.
- `LRFinder` (`lr_finder.py`): the learning-rate range test.
- `BatchLoss` (`batch_loss.py`): the training loss of every batch.
- `EpochWeights`, `replay` (`replay.py`): keep every epoch's weights, then
  replay a stopping callback on the recorded run.
- `SnapshotEnsemble` (`snapshot.py`): save the model at the end of every
  cycle of a cyclic cosine schedule (Huang et al. 2017, snapshot ensembles).

Every callback is registered as `kerasrec>ClassName`, the names they had when
this package was one module, so configs saved then still load.
"""

from kerasrec.callbacks.batch_loss import BatchLoss
from kerasrec.callbacks.learning_rate_logger import LearningRateLogger
from kerasrec.callbacks.lr_finder import LRFinder
from kerasrec.callbacks.prechelt import PrecheltStopping, prechelt_stop_epochs
from kerasrec.callbacks.replay import EpochWeights, ReplayResult, replay
from kerasrec.callbacks.snapshot import SnapshotEnsemble

__all__ = [
    "BatchLoss",
    "EpochWeights",
    "LRFinder",
    "LearningRateLogger",
    "PrecheltStopping",
    "ReplayResult",
    "SnapshotEnsemble",
    "prechelt_stop_epochs",
    "replay",
]
