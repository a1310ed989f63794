"""kerasrec's tuners keep KerasTuner's contract: its tests pass with them swapped in.

Tests adapted from KerasTuner 1.4.8's `keras_tuner/src/engine/tuner_test.py`
(keras-team/keras-tuner), each run with `keras_tuner`'s tuner and with
kerasrec's. They pin six defects of the first `kerasrec.tuning`, whose own
checks ran before KerasTuner's: (a) the `val_` objective check in
`search()` rejected a tuner whose `run_trial()` returns its metrics itself,
and (b) KerasTuner's `FatalTypeError` (a build function that returns no
model), `FatalValueError` (callbacks that cannot be deep-copied) and "Could
not infer optimization direction" were replaced by other errors. Also: the
private KerasTuner names kerasrec uses fail with a message naming them.
"""

import os
import re

import keras
import keras_tuner
import pytest

from kerasrec import tuning
from kerasrec.tuning import _kt

RANDOM = [keras_tuner.RandomSearch, tuning.RandomSearch]
TUNERS = RANDOM + [keras_tuner.GridSearch, tuning.GridSearch]


def build_model(hp):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 1e-3])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("tuner_class", RANDOM)
def test_run_trial_returning_metrics_is_not_rejected_by_the_val_objective_check(
        tmp_path, tuner_class):
    # Defect (a); KerasTuner's test_no_hypermodel_with_objective.
    class MyTuner(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            return {"val_loss": trial.hyperparameters.Float("value", 0, 10)}

    tuner = MyTuner(objective="val_loss", max_trials=2, directory=tmp_path)
    tuner.search()
    assert len(tuner.oracle.trials) == 2
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    if tuner_class is tuning.RandomSearch:
        # No history.json (run_trial is the user's): the table uses the trial's metrics.
        rows = tuner.trials_table()
        assert [r["score"] for r in rows] == [r["metrics"]["val_loss"] for r in rows]
        assert all(r["seconds"] is None and r["executions"] == 0 for r in rows)


@pytest.mark.parametrize("tuner_class", RANDOM)
def test_run_trial_returning_a_float_is_not_rejected_by_the_val_objective_check(
        tmp_path, tuner_class):
    # Defect (a); KerasTuner's test_no_hypermodel_no_objective.
    class MyTuner(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            return trial.hyperparameters.Float("value", 0, 10)

    tuner = MyTuner(objective="val_loss", max_trials=2, directory=tmp_path)
    tuner.search()
    assert len(tuner.oracle.trials) == 2


@pytest.mark.parametrize("tuner_class", TUNERS)
def test_no_hypermodel_without_a_run_trial_of_ones_own_gets_keras_tuners_error(
        tmp_path, tuner_class):
    # Regression: overriding run_trial() (for the history) hid KerasTuner's
    # check, which compares the class's run_trial with Tuner.run_trial;
    # KerasTuner's test_no_hypermodel_without_override_run_trial_error.
    with pytest.raises(ValueError, match="Received `hypermodel=None`"):
        tuner_class(max_trials=2, executions_per_trial=3, directory=tmp_path)


@pytest.mark.parametrize("tuner_class", RANDOM)
def test_run_trial_returning_a_string_gets_keras_tuners_type_error(tmp_path, tuner_class):
    # Defect (a): the val_ check answered first; KerasTuner's test_run_trial_return_string.
    class MyTuner(tuner_class):
        def run_trial(self, trial, **kwargs):
            return trial.hyperparameters.Choice("value", ["a", "b"])

    tuner = MyTuner(objective="val_loss", max_trials=2, executions_per_trial=3,
                    directory=tmp_path)
    with pytest.raises(TypeError, match=r"Tuner\.run_trial\(\) to be one of"):
        tuner.search()


@pytest.mark.parametrize("tuner_class", TUNERS)
@pytest.mark.parametrize("objective, error, message", [
    ("custom_metric", ValueError, "Could not infer optimization direction"),
    ("val_accuracyy", ValueError, "Could not infer optimization direction"),
    ("", ValueError, "Could not infer optimization direction"),
    ("val_", ValueError, "Could not infer optimization direction"),
    (3, TypeError, "`objective` not understood"),
    (["loss", 2], TypeError, "`objective` not understood"),
])
def test_malformed_objective_gets_keras_tuners_error(tmp_path, tuner_class, objective, error,
                                                     message):
    # Defect (b); KerasTuner's test_error_on_unknown_objective_direction.
    with pytest.raises(error, match=re.escape(message)):
        tuner_class(hypermodel=build_model, objective=objective, max_trials=2,
                    directory=tmp_path)


@pytest.mark.parametrize("tuner_class", TUNERS)
def test_build_returning_no_model_gets_keras_tuners_fatal_type_error(tmp_path, tuner_class):
    # Defect (b): the val_ check (no validation data) answered first;
    # KerasTuner's test_build_did_not_return_keras_model.
    tuner = tuner_class(hypermodel=lambda hp: None, objective="val_accuracy",
                        directory=tmp_path)
    with pytest.raises(keras_tuner.errors.FatalTypeError,
                       match="Expected the model-building function"):
        tuner.search()


@pytest.mark.parametrize("tuner_class", TUNERS)
def test_callbacks_that_cannot_be_deep_copied_get_keras_tuners_fatal_value_error(
        tmp_path, tuner_class):
    # Defect (b); KerasTuner's test_callback_cannot_be_deep_copied.
    tuner = tuner_class(hypermodel=lambda hp: keras.Sequential(), objective="val_accuracy",
                        directory=tmp_path)
    with pytest.raises(keras_tuner.errors.FatalValueError,
                       match="All callbacks used during a search should be deep-copyable"):
        tuner.search(callbacks=[keras_tuner])


# ---------------------------------------------------------------------------
# KerasTuner's private names.


def test_every_private_name_exists_in_the_installed_keras_tuner():
    for name in (_kt.CREATE_OBJECTIVE, _kt.DEFAULT_OBJECTIVE, _kt.MULTI_OBJECTIVE, _kt.GLOB):
        assert _kt.private(name) is not None
    _kt.check_tuner()
    _kt.check_oracle(keras_tuner.oracles.GridSearchOracle(), grid=True)


def test_pyproject_bounds_keras_tuner_to_the_supported_releases():
    # Read as text, so the check also runs on Pythons without tomllib.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "pyproject.toml")) as f:
        text = f.read()
    dependencies = re.findall(r'^\s*"([^"]+)"', text, re.M)
    assert f"keras-tuner{_kt.SUPPORTED}" in dependencies


def _version():
    return re.escape(f"keras-tuner {keras_tuner.__version__}")


def test_a_missing_private_oracle_method_names_itself_and_the_version(monkeypatch):
    monkeypatch.delattr(keras_tuner.Oracle, "_record_values")
    with pytest.raises(ImportError, match=r"`keras_tuner\.Oracle\._record_values`.*"
                                          + _version()):
        tuning.RandomSearchOracle(objective="val_loss", max_trials=1)


def test_a_missing_private_grid_state_names_itself(monkeypatch):
    init = keras_tuner.oracles.GridSearchOracle.__init__

    def init_without_populate_next(self, *args, **kwargs):
        init(self, *args, **kwargs)
        del self._populate_next

    monkeypatch.setattr(keras_tuner.oracles.GridSearchOracle, "__init__",
                        init_without_populate_next)
    with pytest.raises(ImportError, match=r"GridSearchOracle\._populate_next"):
        tuning.GridSearchOracle(objective="val_loss")


def test_a_missing_private_tuner_method_names_itself(monkeypatch, tmp_path):
    monkeypatch.delattr(keras_tuner.engine.base_tuner.BaseTuner, "_is_worker")
    with pytest.raises(ImportError, match=r"`keras_tuner\.Tuner\._is_worker`.*" + _version()):
        tuning.RandomSearch(build_model, objective="val_loss", directory=tmp_path)


def test_a_missing_private_module_name_names_itself(monkeypatch):
    from keras_tuner.src.engine import objective

    monkeypatch.delattr(objective, "MultiObjective")
    with pytest.raises(ImportError, match=r"`keras_tuner\.src\.engine\.objective\."
                                          r"MultiObjective`.*" + _version()):
        tuning.objectives.objective_names(keras_tuner.Objective("val_loss", "min"))
