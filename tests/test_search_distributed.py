"""recipes/search_distributed.py: KerasTuner's chief/worker search on 127.0.0.1.

The in-process tests pin the pieces (the chief's exit rule, the run records,
the exactly-once count); the subprocess tests run the recipe as a user would,
with a chief and two workers, and read what they left on disk.
"""

import argparse
import glob
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

# KerasTuner 1.4.8's @synchronized calls threading.currentThread().getName().
pytestmark = pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning",
                                        "ignore:getName:DeprecationWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "search_distributed.py")
PROMISED = {"config.json", "history.json", "results.json", "learning_curves.png", "model.keras",
            "trials.csv", "trials.json"}
# Small and fast: the MLP, two epochs of `digits`.
QUICK = ["--quick", "--model", "mlp", "--workers", "2"]


def load_recipe():
    spec = importlib.util.spec_from_file_location("search_distributed_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_recipe(*argv, timeout=400):
    return subprocess.run([sys.executable, RECIPE, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _default_sigint():
    # A shell starts background jobs with SIGINT ignored, and an ignored
    # signal stays ignored across exec: `make test &` would hand the recipe a
    # SIGINT it cannot receive. Ctrl-C in a terminal meets the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_recipe(out_file, *argv):
    with open(out_file, "w") as out:
        return subprocess.Popen([sys.executable, RECIPE, *argv], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=_default_sigint)


def read_files(out):
    trials = {}
    for path in glob.glob(os.path.join(out, "search", "trial_*", "trial.json")):
        with open(path) as f:
            trial = json.load(f)
        trials[trial["trial_id"]] = trial
    records = []
    for path in glob.glob(os.path.join(out, "search", "executions", "*.json")):
        with open(path) as f:
            records.append(json.load(f))
    return trials, records


def finished(records):
    return [r for r in records if r["status"] != "STARTED"]


def wait_for(condition, timeout, proc=None):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        assert proc is None or proc.poll() is None, "the recipe exited too early"
        time.sleep(0.2)


def started_pids(text):
    """{process name: pid} from the launcher's "started chief (pid N), ..." line."""
    line = next(l for l in text.splitlines() if "started chief" in l)
    return {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", line)}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"


# In-process pieces ------------------------------------------------------------


def record(trial_id, tuner_id="tuner0", pid=1, status="COMPLETED", values=None, start=0):
    return {"trial_id": trial_id, "tuner_id": tuner_id, "pid": pid, "status": status,
            "values": values or {"learning_rate": float(trial_id)}, "start_ns": start,
            "seconds": 1.0, "history": {}}


def trial_file(trial_id, status="COMPLETED"):
    return {"trial_id": trial_id, "status": status, "score": 0.5,
            "hyperparameters": {"values": {"learning_rate": float(trial_id)}}}


@pytest.mark.parametrize(
    "records, exactly_once, finished_runs, interrupted",
    [
        ([record("0"), record("1", "tuner1", 2)], True, {"0": 1, "1": 1}, 0),
        ([record("0"), record("1"), record("1", "tuner1", 2)], False, {"0": 1, "1": 2}, 0),
        ([record("0")], False, {"0": 1}, 0),
        # A killed run leaves its "started" record; the rerun finishes the trial once.
        ([record("0"), record("1", status="STARTED"), record("1", "tuner1", 2, start=1)],
         True, {"0": 1, "1": 1}, 1),
        ([record("0"), record("1"), record("7")], False, {"0": 1, "1": 1, "7": 1}, 0),
    ],
    ids=["once-each", "one-twice", "one-missing", "killed-then-rerun", "unknown-trial"],
)
def test_check_search_counts_finished_runs_per_trial(records, exactly_once, finished_runs,
                                                     interrupted):
    recipe = load_recipe()
    trials = {"0": trial_file("0"), "1": trial_file("1")}
    summary = recipe.check_search(trials, records, max_trials=2)
    assert summary["exactly_once"] is exactly_once
    assert summary["finished_runs"] == finished_runs
    assert summary["interrupted_runs"] == interrupted


def test_check_search_flags_a_run_with_other_hyperparameters_and_too_few_trials():
    recipe = load_recipe()
    trials = {"0": trial_file("0"), "1": trial_file("1")}
    wrong = [record("0"), record("1", values={"learning_rate": 9.0})]
    summary = recipe.check_search(trials, wrong, max_trials=2)
    assert summary["mismatched"] == ["1"] and not summary["exactly_once"]
    right = [record("0"), record("1")]
    assert recipe.check_search(trials, right, max_trials=2)["exactly_once"]
    assert not recipe.check_search(trials, right, max_trials=3)["exactly_once"]
    trials["1"]["status"] = "FAILED"
    assert not recipe.check_search(trials, right, max_trials=2)["exactly_once"]


def small_tuner(recipe, directory, trials=2):
    args = argparse.Namespace(model="mlp", min_learning_rate=1e-4, max_learning_rate=1e-1,
                              trials=trials, seed=0)
    info = argparse.Namespace(input_shape=(8, 8, 1), num_classes=10)
    return recipe.make_tuner(args, info, str(directory))


def end(oracle, trial, score, status="COMPLETED"):
    oracle.update_trial(trial.trial_id, {"val_accuracy": score})
    trial.status = status
    oracle.end_trial(trial)


def test_chief_exits_only_when_every_trial_ended_and_every_worker_was_stopped(tmp_path):
    recipe = load_recipe()
    oracle = small_tuner(recipe, tmp_path).oracle
    over = recipe.search_is_over
    assert not over(oracle)  # nobody has asked yet
    a = oracle.create_trial("tuner0")
    b = oracle.create_trial("tuner1")
    assert a.status == b.status == "RUNNING" and not over(oracle)
    end(oracle, a, 0.5)
    assert not over(oracle)  # tuner1 still trains
    end(oracle, b, 0.7, status="FAILED")
    assert not over(oracle)  # both trials ended, but both workers still wait for an answer
    assert oracle.create_trial("tuner0").status == "STOPPED"
    assert not over(oracle)
    assert oracle.create_trial("tuner1").status == "STOPPED"
    assert over(oracle)


def test_a_resumed_chief_reruns_the_interrupted_trial_but_not_the_last_finished_one(tmp_path):
    # Pins the stale oracle.json of KerasTuner 1.4.8: Oracle.end_trial() writes it before it
    # drops the trial from `ongoing_trials`, and in a chief nothing writes it again, so
    # reload() queued the last trial each worker had finished for a rerun.
    recipe = load_recipe()
    chief = small_tuner(recipe, tmp_path, trials=3)
    chief.save()  # what the chief's search() does first; after that only the oracle writes
    oracle = chief.oracle
    end(oracle, oracle.create_trial("tuner0"), 0.5)
    interrupted = oracle.create_trial("tuner1")  # its worker is killed: it never ends
    end(oracle, oracle.create_trial("tuner0"), 0.6)
    assert oracle.create_trial("tuner0").status == "STOPPED"
    with open(tmp_path / "search" / "oracle.json") as f:
        ongoing = json.load(f)["ongoing_trials"]
    assert ongoing == {"tuner0": "2", "tuner1": interrupted.trial_id}  # "2" has finished

    resumed = small_tuner(recipe, tmp_path, trials=3).oracle
    rerun = resumed.create_trial("tuner0")
    assert rerun.trial_id == interrupted.trial_id and rerun.status == "RUNNING"
    assert rerun.hyperparameters.values == interrupted.hyperparameters.values
    end(resumed, rerun, 0.7)
    assert resumed.create_trial("tuner0").status == "STOPPED"  # and not trial 2 again
    assert {t.trial_id: t.score for t in resumed.trials.values()} == {"0": 0.5, "1": 0.7, "2": 0.6}


def test_recorded_search_hooks_write_a_started_then_a_finished_record(tmp_path):
    recipe = load_recipe()
    tuner = small_tuner(recipe, tmp_path)
    trial = tuner.oracle.create_trial(tuner.tuner_id)
    tuner.on_trial_begin(trial)
    (path,) = glob.glob(str(tmp_path / "search" / "executions" / "*.json"))
    with open(path) as f:
        started = json.load(f)  # what a killed run leaves behind
    assert started["status"] == "STARTED" and started["trial_id"] == trial.trial_id
    assert started["pid"] == os.getpid() and started["tuner_id"] == "tuner0"
    assert started["values"] == trial.hyperparameters.values
    for epoch, accuracy in enumerate([0.25, 0.5]):
        tuner.on_epoch_end(trial, None, epoch, logs={"val_accuracy": accuracy, "loss": 1.0})
    tuner.oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    tuner.on_trial_end(trial)
    assert glob.glob(str(tmp_path / "search" / "executions" / "*.json")) == [path]
    with open(path) as f:
        done = json.load(f)
    assert done["status"] == "COMPLETED" and done["seconds"] >= 0
    assert done["history"] == {"val_accuracy": [0.25, 0.5], "loss": [1.0, 1.0]}
    assert tuner.oracle.get_trial(trial.trial_id).status == "COMPLETED"


def test_free_port_can_be_bound():
    import socket

    port = load_recipe().free_port()
    assert 1024 <= port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


# The recipe, as a user runs it ---------------------------------------------


@pytest.mark.slow
def test_two_workers_run_every_trial_exactly_once_and_a_rerun_runs_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run_recipe(*QUICK, "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PROMISED <= set(os.listdir(out))
    results = json.loads((out / "results.json").read_text())
    assert all(c["holds"] for c in results["claims"]), results["claims"]

    trials, records = read_files(out)
    assert sorted(trials) == ["0", "1", "2", "3"]  # --quick: 4 trials
    assert all(t["status"] == "COMPLETED" for t in trials.values())
    runs_of = {t: [r for r in finished(records) if r["trial_id"] == t] for t in trials}
    assert all(len(r) == 1 for r in runs_of.values()), runs_of  # exactly once
    assert len(records) == 4  # and no run left unfinished
    for trial_id, (r,) in runs_of.items():
        assert r["values"] == trials[trial_id]["hyperparameters"]["values"]
        assert r["status"] == "COMPLETED" and len(r["history"]["val_accuracy"]) == 2
        assert max(r["history"]["val_accuracy"]) == pytest.approx(trials[trial_id]["score"])
    pids = {}
    for r in records:
        pids.setdefault(r["tuner_id"], set()).add(r["pid"])
    assert set(pids) == {"tuner0", "tuner1"}  # both workers ran trials...
    assert len(pids["tuner0"] | pids["tuner1"]) == 2  # ...each in one process of its own
    started = started_pids(proc.stdout)
    assert pids["tuner0"] == {started["tuner0"]} and pids["tuner1"] == {started["tuner1"]}
    assert started["chief"] not in pids["tuner0"] | pids["tuner1"]  # the chief trains nothing
    assert "[tuner0] " in proc.stdout and "[tuner1] " in proc.stdout and "[chief] " in proc.stdout

    metrics = results["metrics"]
    assert metrics["trials"] == metrics["completed_trials"] == 4
    assert metrics["trials_per_worker"] == {w: len([r for r in records if r["tuner_id"] == w])
                                            for w in ("tuner0", "tuner1")}
    best = max(trials.values(), key=lambda t: t["score"])
    assert metrics["best_trial"] == best["trial_id"]
    assert metrics["best_val_accuracy"] == pytest.approx(best["score"])
    assert metrics["best_learning_rate"] == best["hyperparameters"]["values"]["learning_rate"]
    history = json.loads((out / "history.json").read_text())
    assert max(history["val_accuracy"]) == pytest.approx(best["score"])
    table = json.loads((out / "trials.json").read_text())
    assert [(row["trial_id"], row["tuner_id"]) for row in table] == [
        (t, runs_of[t][0]["tuner_id"]) for t in sorted(trials, key=int)]

    # A rerun of a finished search starts no process and changes no trial.
    before = {t: (tr["score"], tr["hyperparameters"]["values"]) for t, tr in trials.items()}
    again = run_recipe(*QUICK, "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing to run" in again.stdout and "[tuner0]" not in again.stdout
    trials_after, records_after = read_files(out)
    assert {t: (tr["score"], tr["hyperparameters"]["values"])
            for t, tr in trials_after.items()} == before
    assert len(records_after) == len(records)


@pytest.mark.slow
def test_a_dead_worker_stops_the_search_and_the_rerun_keeps_its_finished_trials(tmp_path):
    out, log = tmp_path / "run", tmp_path / "first.txt"
    argv = [*QUICK, "--trials", "6", "--epochs", "1", "--out", str(out)]
    proc = start_recipe(log, *argv)
    try:
        def one_trial_finished_and_one_running():
            trials, records = read_files(out)
            return (any(t["status"] == "COMPLETED" for t in trials.values())
                    and any(r["status"] == "STARTED" for r in records))

        wait_for(one_trial_finished_and_one_running, timeout=300, proc=proc)
        _, records = read_files(out)
        victim = next(r for r in records if r["status"] == "STARTED")
        os.kill(victim["pid"], signal.SIGKILL)
        proc.wait(60)  # no hanging: the launcher notices and stops the others
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert proc.returncode == 1, text
    assert f"{victim['tuner_id']} exited with status -9" in text and "--out" in text
    assert "Traceback" not in text
    assert not any(alive(pid) for pid in started_pids(text).values())

    trials, records = read_files(out)
    kept = {t: (tr["score"], tr["hyperparameters"]["values"])
            for t, tr in trials.items() if tr["status"] == "COMPLETED"}
    assert kept and len(kept) < 6
    first_runs = {r["trial_id"]: r["pid"] for r in finished(records)}

    again = run_recipe(*argv)
    assert again.returncode == 0, again.stdout + again.stderr
    trials, records = read_files(out)
    assert len(trials) == 6 and all(t["status"] == "COMPLETED" for t in trials.values())
    for trial_id, (score, values) in kept.items():  # no finished trial lost or rerun
        assert trials[trial_id]["score"] == score
        assert trials[trial_id]["hyperparameters"]["values"] == values
        (run,) = [r for r in finished(records) if r["trial_id"] == trial_id]
        assert run["pid"] == first_runs[trial_id]
    # The killed trial ran again to the end, once.
    reruns = [r for r in finished(records) if r["trial_id"] == victim["trial_id"]]
    assert len(reruns) == 1 and reruns[0]["pid"] != victim["pid"]
    results = json.loads((out / "results.json").read_text())
    assert all(c["holds"] for c in results["claims"]), results["claims"]
    assert results["metrics"]["interrupted_runs"] == sum(
        r["status"] == "STARTED" for r in records) >= 1


@pytest.mark.slow
def test_ctrl_c_stops_every_process_and_says_how_to_resume(tmp_path):
    out, log = tmp_path / "run", tmp_path / "out.txt"
    # Not --quick (it caps epochs at 2): trials of 400 epochs (~30 s each), so
    # that the signal lands mid-trial: once a worker has recorded a start.
    proc = start_recipe(log, "--dataset", "digits", "--model", "mlp", "--workers", "2",
                        "--trials", "4", "--epochs", "400", "--no-baseline", "--out", str(out))
    try:
        executions = out / "search" / "executions"
        wait_for(lambda: executions.is_dir() and any(executions.iterdir()), timeout=300,
                 proc=proc)
        assert proc.poll() is None, "the search ended before the signal"
        proc.send_signal(signal.SIGINT)
        # Stopping waits up to 10 s for each of the 3 processes to exit on
        # SIGTERM before killing it (the launcher's `_stop`).
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            raise AssertionError("no exit 120 s after Ctrl-C:\n" + log.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert proc.returncode == 130, text
    assert "interrupted" in text and f"--out {out}" in text and "Traceback" not in text
    assert not any(alive(pid) for pid in started_pids(text).values())
    for path in glob.glob(str(out / "search" / "**" / "*.json"), recursive=True):
        with open(path) as f:
            json.load(f)  # nothing half-written


def test_bad_workers_is_one_clear_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run_recipe("--quick", "--workers", "-1", "--out", str(out), timeout=120)
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert lines == ["error: Argument `--workers` must be an integer >= 0. Received: workers=-1"]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"min_learning_rate": 0.1, "max_learning_rate": 0.01},
         "Argument `--max-learning-rate` must be > `--min-learning-rate`. "
         "Received: min_learning_rate=0.1, max_learning_rate=0.01"),
        ({"min_learning_rate": 0.0}, "Argument `--min-learning-rate` must be a finite number > 0"),
        ({"trials": 0}, "Argument `--trials` must be a positive integer. Received: trials=0"),
        ({"timeout": float("inf")}, "Argument `--timeout` must be a finite number > 0"),
        ({"role": "worker"}, "Argument `--role` is internal"),  # no --tuner-id, --oracle-port
    ],
)
def test_check_flags_rejects_bad_values_in_the_keras_template(flags, message):
    recipe = load_recipe()
    args = argparse.Namespace(workers=2, trials=4, min_learning_rate=1e-4,
                              max_learning_rate=1e-1, timeout=60.0, role=None, out="x",
                              oracle_port=None, tuner_id=None)
    recipe.check_flags(args)  # the defaults pass
    for name, value in flags.items():
        setattr(args, name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        recipe.check_flags(args)
