"""The lecture's tuning procedure, one function per step.

The steps of "Choosing hyperparameters" (lecture section 1), each usable on
its own with any model-building function and any batched `tf.data` pipeline
of `(image, integer label)`:

1. `check_initial_loss`: the loss of the untrained model against `ln(C)`.
2. `overfit_small_sample`: a few minibatches learned to ~100% accuracy.
3. `find_learning_rate`: the LR range test (`kerasrec.callbacks.LRFinder`).
4. `coarse_search`: a grid of learning rate x weight decay, a few epochs each
   (`kerasrec.tuning.GridSearch`).
5. `narrow_ranges`, then `refine_search`: random search in the ranges the
   best coarse trials span, longer, no learning-rate decay
   (`kerasrec.tuning.RandomSearch`).
6. `diagnose_curves`: reads the learning curves (`kerasrec.diagnose`).
7. `train_final`: the chosen configuration with a cosine schedule and early
   stopping.

The weight decay of steps 3-5 is the optimizer's *decoupled* weight decay
(Keras's optimizer argument `weight_decay=`, through
`kerasrec.tuning.make_optimizer`: `w -= learning_rate * weight_decay * w`
at every step), not an L2 penalty added to the loss (the model builders'
`l2=`, `keras.regularizers.L2`). Build the models of the procedure without
an L2 penalty, so that the decay the searches tune is the only one.

Which trial is best depends on the objective's direction (`"max"` for
`val_accuracy`, `"min"` for `val_loss`): the searches record it in
`SearchResult.direction`, and `best_trial` and `narrow_ranges` take it.

`recipes/tuning_playbook.py` (`make recipe-playbook`) runs them in order,
writes every step's numbers to one run folder and resumes after a crash.
"""


from kerasrec.playbook.checks import (
    InitialLoss,
    OverfitResult,
    check_initial_loss,
    find_learning_rate,
    overfit_small_sample,
)
from kerasrec.playbook.final import FinalResult, diagnose_curves, train_final
from kerasrec.playbook.search import (
    SearchResult,
    best_trial,
    coarse_search,
    narrow_ranges,
    refine_search,
)

__all__ = [
    "InitialLoss",
    "OverfitResult",
    "SearchResult",
    "FinalResult",
    "check_initial_loss",
    "overfit_small_sample",
    "find_learning_rate",
    "coarse_search",
    "best_trial",
    "narrow_ranges",
    "refine_search",
    "diagnose_curves",
    "train_final",
]
