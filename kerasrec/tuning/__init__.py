"""Hyperparameter search: KerasTuner grid and random search that resume.

`GridSearch` and `RandomSearch` are drop-in subclasses of KerasTuner's
tuners that resume after a kill (also a grid: keras-team/keras-tuner#1055),
keep every trial's per-epoch history, and write a trial table
(`trials.csv`, `trials.json`) after each trial. `trials_table()` and
`save_trials()` build and write that table for any search directory, also
a distributed search's. `log_grid()` and `make_hypermodel()` set up the
lecture's coarse grid and random refinement over the learning rate and the
weight decay.

By module: `space` (search spaces), `objectives` (the checks KerasTuner
does not make), `oracles` (resuming), `history` (what a trial returned),
`table` (the trial table), `tuners` (the tuners); `_kt` lists the private
KerasTuner names used.

Example:

>>> build = make_hypermodel(my_model, learning_rate=(1e-3, 1.0),
...                         weight_decay=(1e-5, 1e-2), grid_points=4)
>>> tuner = GridSearch(build, objective="val_accuracy",
...                    directory="runs", project_name="grid")
>>> tuner.search(x, y, epochs=3, validation_data=(x_val, y_val))
>>> tuner.trials_table()[0]["history"]["val_accuracy"]  # one per epoch
"""

from kerasrec.tuning.oracles import GridSearchOracle, RandomSearchOracle
from kerasrec.tuning.space import check_grid_size, grid_size, log_grid
from kerasrec.tuning.space import make_hypermodel, make_optimizer
from kerasrec.tuning.table import save_trials, trials_table
from kerasrec.tuning.tuners import GridSearch, RandomSearch

__all__ = [
    "GridSearch",
    "GridSearchOracle",
    "RandomSearch",
    "RandomSearchOracle",
    "check_grid_size",
    "grid_size",
    "log_grid",
    "make_hypermodel",
    "make_optimizer",
    "save_trials",
    "trials_table",
]
