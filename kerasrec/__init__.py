"""kerasrec: Keras 3 recipes for training neural networks well.

The public surface, by module:
- `kerasrec.schedules`: learning-rate schedules and warmup (`get` by name).
- `kerasrec.callbacks`: `LearningRateLogger`, `PrecheltStopping`.
- `kerasrec.data`: embedded offline datasets and the one input pipeline.
- `kerasrec.models`: the reference CNN and MLP.
- `kerasrec.runs`, `kerasrec.plots`: the recipe harness and its figures
  (import them explicitly; they are not needed to train).

Importing `kerasrec` registers every serializable object with Keras, so a
model saved with a kerasrec schedule loads without `custom_objects`.
"""

from kerasrec import callbacks, data, models, schedules

__version__ = "0.1.0"
