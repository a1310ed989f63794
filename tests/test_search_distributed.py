"""recipes/search_distributed.py, run as a user runs it: a fresh process.

The recipe starts a chief and two workers through `kerasrec.distribute`;
these tests read what they left on disk. The launcher itself, the run
records and the chief's resume are tested in tests/test_distribute.py.
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "recipes", "search_distributed.py")
PROMISED = {"config.json", "history.json", "results.json", "learning_curves.png", "model.keras",
            "trials.csv", "trials.json", "logs"}
# --quick: 4 trials of 2 epochs of the MLP on digits, 2 workers.
QUICK = ["--quick", "--workers", "2"]


def run_recipe(*argv, timeout=900):
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


def project(out, step="distributed"):
    found = glob.glob(os.path.join(out, "work", f"{step}-*", "search"))
    return found[0] if found else os.path.join(out, "missing")


def read_files(out, step="distributed"):
    trials = {}
    for path in glob.glob(os.path.join(project(out, step), "trial_*", "trial.json")):
        with open(path) as f:
            trial = json.load(f)
        trials[trial["trial_id"]] = trial
    records = []
    for path in glob.glob(os.path.join(project(out, step), "trial_runs", "*.json")):
        with open(path) as f:
            records.append(json.load(f))
    return trials, records


def finished(records):
    return [r for r in records if r["status"] != "RUNNING"]


def wait_for(condition, timeout, proc=None):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        assert proc is None or proc.poll() is None, "the recipe exited too early"
        time.sleep(0.2)


def started_pids(text):
    """{process name: pid} from the launcher's "[launch] started chief (pid N), ..." line."""
    line = next(l for l in text.splitlines() if "[launch] started chief" in l)
    return {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", line)}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_two_workers_run_every_trial_exactly_once_and_a_rerun_runs_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run_recipe(*QUICK, "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PROMISED <= set(os.listdir(out))
    results = json.loads((out / "results.json").read_text())
    assert len(results["claims"]) == 4 and all(c["holds"] for c in results["claims"]), results
    assert sorted(os.listdir(out / "logs")) == ["chief.log", "tuner0.log", "tuner1.log"]

    trials, records = read_files(out)
    assert sorted(trials) == ["0", "1", "2", "3"]  # --quick: 4 trials
    assert all(t["status"] == "COMPLETED" for t in trials.values())
    runs_of = {t: [r for r in finished(records) if r["trial_id"] == t] for t in trials}
    assert all(len(r) == 1 for r in runs_of.values()), runs_of  # exactly once
    assert len(records) == 4  # and no run left unfinished
    for trial_id, (r,) in runs_of.items():
        assert r["hyperparameters"] == trials[trial_id]["hyperparameters"]["values"]
    pids = {}
    for r in records:
        pids.setdefault(r["tuner_id"], set()).add(r["pid"])
    started = started_pids(proc.stdout)
    assert pids == {"tuner0": {started["tuner0"]}, "tuner1": {started["tuner1"]}}
    assert "[tuner0] " in proc.stdout and "[tuner1] " in proc.stdout
    assert not any(alive(pid) for pid in started.values())

    # The baseline tried the same trials in this (the launcher's) process.
    single, single_records = read_files(out, "single")
    assert {t: s["hyperparameters"]["values"] for t, s in single.items()} == {
        t: s["hyperparameters"]["values"] for t, s in trials.items()}
    assert len({r["pid"] for r in single_records}) == 1 and len(single_records) == 4
    assert single_records[0]["pid"] not in started.values()

    metrics = results["metrics"]
    assert metrics["trials"] == metrics["completed_trials"] == 4
    assert metrics["trials_per_worker"] == {
        w: len([r for r in records if r["tuner_id"] == w]) for w in ("tuner0", "tuner1")}
    best = max(trials.values(), key=lambda t: t["score"])
    assert metrics["best_trial"] == best["trial_id"]
    assert metrics["best_val_accuracy"] == pytest.approx(best["score"])
    history = json.loads((out / "history.json").read_text())
    assert max(history["val_accuracy"]) == pytest.approx(best["score"])
    table = json.loads((out / "trials.json").read_text())["trials"]
    assert [row["trial_id"] for row in table] == ["0", "1", "2", "3"]

    # A rerun of a finished search starts no process and changes no trial.
    before = {t: (tr["score"], tr["hyperparameters"]["values"]) for t, tr in trials.items()}
    again = run_recipe(*QUICK, "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[launch] started" not in again.stdout and "[tuner0]" not in again.stdout
    assert "one process" in again.stdout  # the same claims, from the stored steps
    trials_after, records_after = read_files(out)
    assert {t: (tr["score"], tr["hyperparameters"]["values"])
            for t, tr in trials_after.items()} == before
    assert len(records_after) == len(records)
    assert json.loads((out / "results.json").read_text())["claims"] == results["claims"]


@pytest.mark.slow
def test_a_dead_worker_stops_the_search_and_the_rerun_keeps_its_finished_trials(tmp_path):
    out, log = tmp_path / "run", tmp_path / "first.txt"
    argv = [*QUICK, "--trials", "6", "--epochs", "1", "--no-baseline", "--out", str(out)]
    proc = start_recipe(log, *argv)
    try:
        def one_trial_finished_and_one_running():
            trials, records = read_files(out)
            return (any(t["status"] == "COMPLETED" for t in trials.values())
                    and any(r["status"] == "RUNNING" for r in records))

        wait_for(one_trial_finished_and_one_running, timeout=400, proc=proc)
        _, records = read_files(out)
        victim = next(r for r in records if r["status"] == "RUNNING")
        os.kill(victim["pid"], signal.SIGKILL)
        proc.wait(60)  # no hanging: the launcher notices and stops the others
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert proc.returncode == 1, text
    assert f"{victim['tuner_id']} exited with status -9 (SIGKILL)" in text
    assert f"--out {out}" in text and "Traceback" not in text
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
    reruns = [r for r in finished(records) if r["trial_id"] == victim["trial_id"]]
    assert len(reruns) == 1 and reruns[0]["pid"] != victim["pid"]  # the killed one, once
    results = json.loads((out / "results.json").read_text())
    assert all(c["holds"] for c in results["claims"]), results["claims"]
    assert results["metrics"]["interrupted_runs"] == sum(
        r["status"] == "RUNNING" for r in records) >= 1
    assert results["metrics"]["resumed_trials"] >= len(kept)


@pytest.mark.slow
def test_ctrl_c_stops_every_process_and_says_how_to_resume(tmp_path):
    out, log = tmp_path / "run", tmp_path / "out.txt"
    # Not --quick (it caps epochs at 2): trials of 400 epochs of the MLP, so
    # that the signal lands mid-trial, once a worker has recorded a start.
    proc = start_recipe(log, "--model", "mlp", "--workers", "2", "--trials", "4",
                        "--epochs", "400", "--no-baseline", "--out", str(out))
    try:
        wait_for(lambda: read_files(out)[1], timeout=400, proc=proc)
        proc.send_signal(signal.SIGINT)
        # The workers get SIGTERM, and SIGKILL 10 s later; then the chief.
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError("no exit 60 s after Ctrl-C:\n" + log.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert proc.returncode == 130, text
    assert "interrupted" in text and f"--out {out}" in text and "Traceback" not in text
    assert not any(alive(pid) for pid in started_pids(text).values())
    for path in glob.glob(os.path.join(project(out), "**", "*.json"), recursive=True):
        with open(path) as f:
            json.load(f)  # nothing half-written


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "0"],
         "Argument `--workers` must be a positive integer. Received: workers=0"),
        (["--trials", "0"], "Argument `--trials` must be a positive integer. Received: trials=0"),
        (["--min-learning-rate", "0.1", "--max-learning-rate", "0.01"],
         "Argument `--max-learning-rate` must be finite and > `--min-learning-rate`. "
         "Received: max_learning_rate=0.01"),
        (["--timeout", "inf"],
         "Argument `--timeout` must be a finite number > 0. Received: timeout=inf"),
    ],
)
def test_bad_flags_are_one_clear_line_and_write_nothing(tmp_path, argv, message):
    out = tmp_path / "run"
    proc = run_recipe("--quick", *argv, "--out", str(out), timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert lines == [f"error: {message}"]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
