"""Tests for kerasrec.tuning's tuners: resuming, the trial table, early checks.

Searches run a 4-input, 2-unit softmax model on 48 synthetic examples for 2
epochs (eagerly: no graph tracing for such a model), a few trials each. The
kill tests run the first half of a search in a subprocess that blocks inside
a trial, SIGKILL it there, and resume the search in this process. The
search spaces are tested in test_tuning_space.py, the history and the table
on their own in test_tuning_table.py, KerasTuner's contract in
test_tuning_contract.py.
"""

import collections
import csv
import gc
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import keras
import keras_tuner
import numpy as np
import pytest

from kerasrec import plots
from kerasrec import tuning

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEARNING_RATES = [0.01, 0.1]
WEIGHT_DECAYS = [1e-4, 1e-3]
GRID = {(lr, wd) for lr in LEARNING_RATES for wd in WEIGHT_DECAYS}

# The search the kill tests run, in a subprocess and then in this process.
# `TrialLog` appends each trial's (learning rate, weight decay) when its
# `fit()` starts, so the log shows which trials ran and how often; with
# `block_at=n`, the n-th trial of the process blocks at the end of its
# second (last) epoch.
CHILD = textwrap.dedent('''
    import os
    import sys
    import time

    import keras
    import numpy as np

    from kerasrec import tuning


    def data():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(48, 4)).astype("float32")
        return x, (x[:, 0] > 0).astype("int32")


    def build_grid(hp):
        return compiled(hp.Choice("learning_rate", [0.01, 0.1]),
                        hp.Choice("weight_decay", [1e-4, 1e-3]))


    def build_random(hp):
        return compiled(hp.Float("learning_rate", 1e-3, 1.0, sampling="log"),
                        hp.Float("weight_decay", 1e-5, 1e-2, sampling="log"))


    def compiled(learning_rate, weight_decay):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate, weight_decay=weight_decay),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
        return model


    class TrialLog(keras.callbacks.Callback):
        def __init__(self, path, block_at=0):
            super().__init__()
            self.path = path
            self.block_at = block_at
            self.number = 0

        def on_train_begin(self, logs=None):
            optimizer = self.model.optimizer
            learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            with open(self.path, "a") as f:
                f.write(f"{learning_rate:.6g} {optimizer.weight_decay:.6g}\\n")
            with open(self.path) as f:
                self.number = len(f.read().splitlines())

        def on_epoch_end(self, epoch, logs=None):
            # After the first epoch's history is saved, before the trial ends.
            if self.block_at and self.number == self.block_at and epoch == 1:
                open(self.path + ".ready", "w").close()
                time.sleep(600)  # Killed here, in the middle of the trial.


    def make_tuner(kind, directory, tuner_class=None):
        if kind == "grid":
            tuner_class = tuner_class or tuning.GridSearch
            return tuner_class(build_grid, objective="val_accuracy", directory=directory,
                               project_name="search")
        return (tuner_class or tuning.RandomSearch)(
            build_random, objective="val_accuracy", max_trials=4, seed=1,
            directory=directory, project_name="search")


    def search(tuner, log, block_at=0):
        x, y = data()
        tuner.search(x, y, epochs=2, batch_size=48, validation_split=0.25, verbose=0,
                     callbacks=[TrialLog(log, block_at)])


    if __name__ == "__main__":
        import gc
        gc.freeze()  # See _fast_gc in the test file.
        keras.utils.set_random_seed(0)
        kind, directory, log, block_at = sys.argv[1:]
        search(make_tuner(kind, directory), log, int(block_at))
''')


def tiny_data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def tiny_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])


def build_grid(hp):
    model = tiny_model()
    model.compile(
        optimizer=keras.optimizers.SGD(
            learning_rate=hp.Choice("learning_rate", LEARNING_RATES),
            weight_decay=hp.Choice("weight_decay", WEIGHT_DECAYS),
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=True,
    )
    return model


def fit_kwargs(**kwargs):
    return {"epochs": 2, "batch_size": 48, "validation_split": 0.25, "verbose": 0, **kwargs}


def trial_values(tuner):
    # A reloaded oracle holds its trials in file-listing order: sort by id.
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    return [
        (t.hyperparameters.values["learning_rate"], t.hyperparameters.values["weight_decay"])
        for t in trials
    ]


def read_log(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.fixture(autouse=True, scope="module")
def _fast_gc():
    # KerasTuner calls gc.collect() twice per trial; with TensorFlow loaded
    # each call scans millions of objects (seconds on a busy machine).
    # Freezing what exists now (mostly imports) leaves it out of the scans.
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
def child(tmp_path):
    path = tmp_path / "search_child.py"
    path.write_text(CHILD)
    spec = importlib.util.spec_from_file_location("search_child", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# Resuming.


def test_grid_search_resumes_after_clean_stop_keras_tuner_1055(tmp_path):
    # keras-team/keras-tuner#1055: KerasTuner's GridSearchOracle does not
    # save its place in the grid, so a resumed grid search stops early.
    x, y = tiny_data()
    first = tuning.GridSearch(build_grid, objective="val_accuracy", max_trials=2,
                              directory=tmp_path, project_name="grid")
    first.search(x, y, **fit_kwargs())
    done = trial_values(first)
    assert len(done) == 2

    # Pin the upstream bug on a copy: plain KerasTuner runs nothing more.
    # (When this fails, KerasTuner has fixed #1055 and GridSearchOracle's
    # rebuild can go.)
    shutil.copytree(tmp_path / "grid", tmp_path / "plain")
    plain = keras_tuner.GridSearch(build_grid, objective="val_accuracy",
                                   directory=tmp_path, project_name="plain")
    plain.search(x, y, **fit_kwargs())
    assert len(plain.oracle.trials) == 2

    resumed = tuning.GridSearch(build_grid, objective="val_accuracy",
                                directory=tmp_path, project_name="grid")
    resumed.search(x, y, **fit_kwargs())
    values = trial_values(resumed)
    assert values[:2] == done  # The finished trials were kept, not re-run.
    assert len(values) == 4 and set(values) == GRID  # Each point exactly once.
    assert all(t.status == "COMPLETED" for t in resumed.oracle.trials.values())


def _wait_for(path, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the search ended before blocking:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the search did not reach the blocking trial in time")
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_search_reruns_no_finished_trial(tmp_path, child):
    # Both searches are killed with SIGKILL in the middle of their third
    # trial (started together to share the subprocesses' start-up time).
    procs = {}
    for kind in ("grid", "random"):
        procs[kind] = subprocess.Popen(
            [sys.executable, str(tmp_path / "search_child.py"), kind,
             str(tmp_path / kind), str(tmp_path / f"{kind}.log"), "3"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=ROOT),
        )
    for kind, proc in procs.items():
        _wait_for(tmp_path / f"{kind}.log.ready", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    for kind in ("grid", "random"):
        log = str(tmp_path / f"{kind}.log")
        project = tmp_path / kind / "search"
        before = read_log(log)
        assert len(before) == 3  # Two finished trials, one killed.

        # The table written after each trial holds the two finished ones.
        with open(project / "trials.json") as f:
            table = json.load(f)
        assert [r["status"] for r in table["trials"]] == ["COMPLETED", "COMPLETED"]
        with open(project / "trials.csv") as f:
            assert len(list(csv.DictReader(f))) == 2

        if kind == "grid":
            # Pin keras-team/keras-tuner#1055 after a kill: plain KerasTuner
            # re-runs the killed trial, then crashes.
            shutil.copytree(tmp_path / "grid", tmp_path / "plain")
            plain = child.make_tuner("grid", str(tmp_path / "plain"), keras_tuner.GridSearch)
            with pytest.raises(KeyError):
                child.search(plain, str(tmp_path / "plain.log"))

        tuner = child.make_tuner(kind, str(tmp_path / kind))
        child.search(tuner, log)
        after = read_log(log)[3:]
        # The killed trial runs again, first; the finished ones never do.
        assert after[0] == before[2]
        assert before[0] not in after and before[1] not in after
        runs = collections.Counter(before[:2] + after)
        assert len(runs) == 4 and set(runs.values()) == {1}

        rows = tuner.trials_table()
        assert [r["status"] for r in rows] == ["COMPLETED"] * 4
        assert len({tuple(sorted(r["hyperparameters"].items())) for r in rows}) == 4
        # The killed trial's history restarted: 2 epochs, not 1 + 2.
        assert [r["epochs"] for r in rows] == [2, 2, 2, 2]
        assert all(len(r["history"]["val_accuracy"]) == 2 for r in rows)
        if kind == "grid":
            assert {(r["hyperparameters"]["learning_rate"], r["hyperparameters"]["weight_decay"])
                    for r in rows} == GRID
        with open(project / "trials.json") as f:
            assert len(json.load(f)["trials"]) == 4


def test_reload_repairs_states_a_kill_leaves(tmp_path):
    # A kill between two writes: a finished trial still listed as ongoing
    # in oracle.json, and a started trial oracle.json never heard of.
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", LEARNING_RATES)
    oracle = tuning.GridSearchOracle(objective="val_accuracy", hyperparameters=hp)
    oracle._set_project_dir(str(tmp_path), "p")
    finished = oracle.create_trial("tuner0")
    oracle.update_trial(finished.trial_id, {"val_accuracy": 0.75})
    trial = oracle.trials[finished.trial_id]
    trial.status = "COMPLETED"
    oracle.score_trial(trial)
    oracle._save_trial(trial)  # Killed here: oracle.json still lists it as ongoing.
    orphan = keras_tuner.engine.trial.Trial(hp.copy(), trial_id="0001")
    orphan.hyperparameters.values = {"learning_rate": 0.1}
    orphan.metrics.update("val_accuracy", 0.9)  # Reported before the kill.
    oracle._save_trial(orphan)  # Killed here: oracle.json never lists it.

    reloaded = tuning.GridSearchOracle(objective="val_accuracy", hyperparameters=hp)
    reloaded._set_project_dir(str(tmp_path), "p")
    reloaded.reload()
    assert reloaded._retry_queue == ["0001"]
    assert reloaded.end_order == [finished.trial_id]
    assert not reloaded.trials["0001"].metrics.exists("val_accuracy")
    retried = reloaded.create_trial("tuner0")
    assert retried.trial_id == "0001"
    reloaded.update_trial("0001", {"val_accuracy": 0.5})
    retried.status = "COMPLETED"
    reloaded.end_trial(retried)
    assert reloaded.get_trial("0001").score == 0.5  # Not averaged with the killed run's.
    # Both grid points were tried: the grid is done, nothing re-runs.
    assert reloaded.create_trial("tuner0").status == "STOPPED"


# ---------------------------------------------------------------------------
# The trial table.


def test_trial_table_rows_histories_and_files(tmp_path):
    x, y = tiny_data()
    seen = []

    class ReadTable(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            path = tmp_path / "t" / "trials.json"
            seen.append(json.loads(path.read_text())["trials"] if path.exists() else None)

    tuner = tuning.GridSearch(build_grid, objective="val_accuracy", max_trials=2,
                              directory=tmp_path, project_name="t", executions_per_trial=1)
    tuner.search(x, y, **fit_kwargs(epochs=3, callbacks=[ReadTable()]))
    # Written after each trial: the second trial saw the first one's row.
    assert seen[0] is None
    assert [r["status"] for r in seen[1]] == ["COMPLETED"]

    rows = tuner.trials_table()
    assert [r["trial_id"] for r in rows] == ["0", "1"]
    for row, trial in zip(rows, tuner.oracle.trials.values()):
        assert row["hyperparameters"] == trial.hyperparameters.values
        assert set(row["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert all(len(v) == 3 for v in row["history"].values())
        assert row["epochs"] == 3 and row["executions"] == 1
        # The score is the best epoch of the history, as KerasTuner chose it.
        best = max(row["history"]["val_accuracy"])
        assert row["score"] == pytest.approx(best)
        assert row["history"]["val_accuracy"][row["best_step"]] == pytest.approx(best)
        assert row["metrics"]["val_loss"] == pytest.approx(
            row["history"]["val_loss"][row["best_step"]])
        assert row["seconds"] > 0

    with open(tmp_path / "t" / "trials.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["trial_id"] for r in table] == ["0", "1"]
    assert float(table[1]["learning_rate"]) == rows[1]["hyperparameters"]["learning_rate"]
    assert float(table[0]["score"]) == pytest.approx(rows[0]["score"])
    assert float(table[0]["final_val_loss"]) == pytest.approx(rows[0]["history"]["val_loss"][-1])
    with open(tmp_path / "t" / "trials.json") as f:
        saved = json.load(f)
    assert saved["objective"] == "val_accuracy" and saved["direction"] == "max"
    assert saved["trials"] == rows

    out = tmp_path / "elsewhere"
    csv_path, json_path = tuner.save_trials(out)
    assert (csv_path, json_path) == (str(out / "trials.csv"), str(out / "trials.json"))
    png = plots.plot_trials(saved, str(tmp_path / "trials.png"))
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize("tuner_class", [tuning.GridSearch, tuning.RandomSearch])
@pytest.mark.parametrize("max_trials", [0, -3, 2.5, True, "5"])
def test_tuners_reject_bad_max_trials(tmp_path, tuner_class, max_trials):
    with pytest.raises(ValueError, match="Argument `max_trials`"):
        tuner_class(build_grid, objective="val_accuracy", max_trials=max_trials,
                    directory=tmp_path)


def test_random_search_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="Argument `max_trials`"):
        tuning.RandomSearch(build_grid, objective="val_accuracy", max_trials=None,
                            directory=tmp_path)


def test_empty_objective_list_is_rejected(tmp_path):
    # KerasTuner builds an empty MultiObjective; the other malformed
    # objectives get KerasTuner's own errors (test_tuning_contract.py).
    with pytest.raises(ValueError, match="Argument `objective`.*non-empty list"):
        tuning.GridSearch(build_grid, objective=[], directory=tmp_path)


def test_grid_search_warns_on_stepless_float(tmp_path):
    build = tuning.make_hypermodel(tiny_model, weight_decay=None)  # hp.Float, no grid_points
    with pytest.warns(UserWarning, match="10 quantiles"):
        tuning.GridSearch(build, objective="val_accuracy", directory=tmp_path)


def test_objective_checked_against_make_hypermodel_metrics(tmp_path):
    build = tuning.make_hypermodel(tiny_model, grid_points=2)
    with pytest.raises(ValueError, match=r"one of the quantities the model logs: "
                                         r"\['accuracy', 'loss', 'val_accuracy', 'val_loss'\]"):
        tuning.GridSearch(build, objective="val_auc", directory=tmp_path)
    tuning.GridSearch(build, objective="val_loss", directory=tmp_path)  # accepted


def test_unlogged_objective_fails_at_the_first_batch(tmp_path):
    x, y = tiny_data()
    tuner = tuning.GridSearch(build_grid, objective="val_auc", directory=tmp_path)
    with pytest.raises(ValueError, match=r"Received: objective='val_auc'") as info:
        tuner.search(x, y, **fit_kwargs(epochs=50))
    assert "['accuracy', 'loss', 'val_accuracy', 'val_loss']" in str(info.value)
    trial = next(iter(tuner.oracle.trials.values()))
    assert not os.path.exists(os.path.join(tuner.get_trial_dir(trial.trial_id), "history.json"))


def test_validation_objective_without_validation_data_fails_before_the_first_batch(tmp_path):
    # The check runs in the first trial's fit(), after KerasTuner has built
    # the model and copied the callbacks (their errors come first), and
    # stops the search before any batch is trained.
    batches = []

    class CountBatches(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            batches.append(batch)

    x, y = tiny_data()
    tuner = tuning.GridSearch(build_grid, objective="val_accuracy", directory=tmp_path)
    with pytest.raises(ValueError, match="validation_data=") as info:
        tuner.search(x, y, epochs=1, verbose=0, callbacks=[CountBatches()])
    assert isinstance(info.value, keras_tuner.errors.FatalError)
    assert batches == []
    assert [t.status for t in tuner.oracle.trials.values()] == ["RUNNING"]


def test_objective_logged_by_a_user_callback_is_accepted(tmp_path):
    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["my_score"] = 1.0 - logs["val_loss"]

    x, y = tiny_data()
    tuner = tuning.GridSearch(build_grid, objective=keras_tuner.Objective("my_score", "max"),
                              max_trials=1, directory=tmp_path)
    tuner.search(x, y, **fit_kwargs(callbacks=[Score()]))
    (row,) = tuner.trials_table()
    assert row["status"] == "COMPLETED"
    assert row["score"] == pytest.approx(max(1.0 - v for v in row["history"]["val_loss"]))


def test_grid_larger_than_max_grid_size_needs_confirmation(tmp_path):
    build = tuning.make_hypermodel(tiny_model, grid_points=4)
    with pytest.raises(ValueError, match=r"grid size \(16 points\).*confirm=True"):
        tuning.check_grid_size(build, 10)
    assert tuning.check_grid_size(build, 10, confirm=True) == 16
    assert tuning.check_grid_size(build, 16) == 16
    with pytest.raises(ValueError, match="Argument `max_grid_size`"):
        tuning.GridSearch(build, objective="val_accuracy", max_grid_size=10,
                          directory=tmp_path, project_name="a")
    tuner = tuning.GridSearch(build, objective="val_accuracy", max_grid_size=10,
                              confirm_grid_size=True, directory=tmp_path, project_name="b")
    assert isinstance(tuner, keras_tuner.GridSearch)
    with pytest.raises(ValueError, match="Argument `max_grid_size`"):
        tuning.check_grid_size(build, 0)


def test_plot_trials_rejects_bad_tables(tmp_path):
    row = {"trial_id": "0", "status": "COMPLETED", "score": 0.5,
           "hyperparameters": {"learning_rate": 0.1}, "history": {}}
    with pytest.raises(ValueError, match="Argument `table`"):
        plots.plot_trials([], str(tmp_path / "a.png"))
    with pytest.raises(ValueError, match="Argument `y`"):
        plots.plot_trials([row], str(tmp_path / "a.png"))
    with pytest.raises(ValueError, match="Argument `direction`"):
        plots.plot_trials([row], str(tmp_path / "a.png"), y=None, direction="up")
    path = plots.plot_trials([row, dict(row, score=None, status="RUNNING")],
                             str(tmp_path / "b.png"), y=None, direction="max")
    assert os.path.getsize(path) > 0


def test_a_hypermodel_fit_that_brings_its_own_validation_data_passes_the_objective_check(tmp_path):
    # Regression: a search recipe's HyperModel.fit() that loads its
    # own data; the objective check must not demand validation_data of search().
    import keras_tuner

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")

    class OwnData(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer=keras.optimizers.SGD(hp.Choice("lr", [0.1])),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0,
                             callbacks=kwargs.get("callbacks"))

    tuner = tuning.RandomSearch(OwnData(), objective="val_accuracy", max_trials=1,
                                directory=str(tmp_path), project_name="own")
    tuner.search()
    (row,) = tuner.trials_table()
    assert row["status"] == "COMPLETED" and row["score"] is not None
