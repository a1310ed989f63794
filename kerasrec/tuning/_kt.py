"""Every private KerasTuner name `kerasrec.tuning` uses, in one place.

KerasTuner exports its tuners, oracles and `Trial`, but resuming a grid
(keras-team/keras-tuner#1055) and repairing a killed search need a few of
its internals. They are listed here, and each is looked up through
`private()` or checked by `check_oracle()` / `check_tuner()`, so a
KerasTuner release that renames one fails with an `ImportError` naming it
and the installed version, not with an `AttributeError` deep in a search.
pyproject.toml allows the releases these names were read from:
`keras-tuner>=1.4.7,<1.5`.
"""

import importlib

import keras_tuner

SUPPORTED = ">=1.4.7,<1.5"

# Module-level names: (module, name).
CREATE_OBJECTIVE = ("keras_tuner.src.engine.objective", "create_objective")
DEFAULT_OBJECTIVE = ("keras_tuner.src.engine.objective", "DefaultObjective")
MULTI_OBJECTIVE = ("keras_tuner.src.engine.objective", "MultiObjective")
GLOB = ("keras_tuner.src.backend.io", "glob")  # local or remote (gs://) paths

# Methods of KerasTuner's classes that kerasrec overrides or calls.
ORACLE_METHODS = ("_get_oracle_fname", "_get_trial_dir", "_save_trial", "_record_values")
GRID_ORACLE_METHODS = ("_compare",)
TUNER_METHODS = ("_build_and_fit_model", "_is_worker")

# Attributes an oracle instance holds after `__init__`.
ORACLE_STATE = ("_retry_queue",)
GRID_ORACLE_STATE = ("_ordered_ids", "_populate_next")


def _missing(qualified_name):
    version = getattr(keras_tuner, "__version__", "(unknown version)")
    return ImportError(
        f"kerasrec.tuning needs KerasTuner's private `{qualified_name}`, which the "
        f"installed keras-tuner {version} does not have. kerasrec supports "
        f"keras-tuner{SUPPORTED}: pip install 'keras-tuner{SUPPORTED}'"
    )


def private(name):
    """The private module-level KerasTuner object `name`, a `(module, name)` pair.

    Raises:
        ImportError: the installed KerasTuner has no such module or name.
    """
    module_name, attribute = name
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise _missing(f"{module_name}.{attribute}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise _missing(f"{module_name}.{attribute}") from None


def _check(owner, names, label):
    for name in names:
        if not hasattr(owner, name):
            raise _missing(f"{label}.{name}")


def check_oracle(oracle, grid=False):
    """Checks that KerasTuner's oracle classes and `oracle` have the private names used."""
    _check(keras_tuner.Oracle, ORACLE_METHODS, "keras_tuner.Oracle")
    _check(oracle, ORACLE_STATE, "keras_tuner.Oracle")
    if grid:
        cls = keras_tuner.oracles.GridSearchOracle
        _check(cls, GRID_ORACLE_METHODS, "keras_tuner.oracles.GridSearchOracle")
        _check(oracle, GRID_ORACLE_STATE, "keras_tuner.oracles.GridSearchOracle")


def check_tuner():
    """Checks that `keras_tuner.Tuner` has the private methods used."""
    _check(keras_tuner.Tuner, TUNER_METHODS, "keras_tuner.Tuner")
