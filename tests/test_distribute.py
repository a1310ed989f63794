"""kerasrec.distribute: the launcher, and the records of who ran each KerasTuner trial.

The launcher tests start small Python one-liners (no TensorFlow) as the
chief and the workers, so they take seconds; the Ctrl-C test runs
`python -m kerasrec.distribute` as a user would, in a process of its own.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import keras
import pytest

from kerasrec import distribute, tuning

# KerasTuner 1.4.8's @synchronized calls threading.currentThread().getName().
pytestmark = pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning",
                                        "ignore:getName:DeprecationWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python(code):
    """A command that runs `code` in a fresh interpreter (no TensorFlow: fast)."""
    return [sys.executable, "-c", "import os, signal, sys, time\n" + code]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"


PRINT_ENV = python(
    "keys = ['KERASREC_ROLE', 'KERASREC_TASK', 'KERASREC_TASK_INDEX', 'KERASTUNER_TUNER_ID',"
    " 'KERASTUNER_ORACLE_IP', 'KERASTUNER_ORACLE_PORT', 'EXTRA']\n"
    "print(' '.join(f'{k}={os.environ.get(k)}' for k in keys), flush=True)\n"
    # Every process waits for the others to have printed: a KerasTuner chief
    # is stopped as soon as the workers have exited.
    "peers = os.environ['KERASREC_PEERS']\n"
    "open(os.path.join(peers, os.environ['KERASREC_TASK']), 'w').close()\n"
    "while len(os.listdir(peers)) < int(os.environ['KERASREC_PROCESSES']): time.sleep(0.05)"
)


# -- the launcher ---------------------------------------------------------------


def test_launch_gives_each_process_its_kerastuner_part_and_logs_its_output(tmp_path, capsys):
    logs = tmp_path / "logs"
    result = distribute.launch(PRINT_ENV, workers=2, env={"EXTRA": "x"}, log_dir=str(logs),
                               timeout=60)
    assert list(result.returncodes) == ["chief", "tuner0", "tuner1"]
    assert result.returncodes["tuner0"] == result.returncodes["tuner1"] == 0
    # The chief exited, or was stopped once the workers had (it had printed by then).
    assert result.returncodes["chief"] == (-signal.SIGTERM if result.stopped else 0)
    assert sorted(os.listdir(logs)) == ["chief.log", "tuner0.log", "tuner1.log"]
    seen = {}
    for name in ("chief", "tuner0", "tuner1"):
        line = (logs / f"{name}.log").read_text().strip()
        seen[name] = dict(part.split("=", 1) for part in line.split())
    assert [seen[n]["KERASTUNER_TUNER_ID"] for n in seen] == ["chief", "tuner0", "tuner1"]
    assert [seen[n]["KERASREC_ROLE"] for n in seen] == ["chief", "worker", "worker"]
    assert [seen[n]["KERASREC_TASK_INDEX"] for n in seen] == ["0", "0", "1"]
    assert {s["KERASTUNER_ORACLE_IP"] for s in seen.values()} == {"127.0.0.1"}
    assert len({s["KERASTUNER_ORACLE_PORT"] for s in seen.values()}) == 1  # one oracle
    assert {s["EXTRA"] for s in seen.values()} == {"x"}
    out = capsys.readouterr().out
    assert "[tuner1] KERASREC_ROLE=worker KERASREC_TASK=tuner1" in out  # echoed, prefixed
    assert re.search(r"\[launch\] started chief \(pid \d+\), tuner0 \(pid \d+\), tuner1", out)


def test_env_function_gives_each_process_its_own_variables(tmp_path):
    distribute.launch(PRINT_ENV, workers=1, env=lambda role, index: {"EXTRA": f"{role}{index}"},
                      log_dir=str(tmp_path), echo=False, timeout=60)
    assert "EXTRA=chief0" in (tmp_path / "chief.log").read_text()
    assert "EXTRA=worker0" in (tmp_path / "tuner0.log").read_text()


def test_a_kerastuner_chief_is_stopped_once_every_worker_has_exited():
    # The chief serves until it is stopped: the launch must not wait for it.
    chief = python("print('serving', flush=True); time.sleep(120)")
    start = time.monotonic()
    result = distribute.launch(python("pass"), chief_command=chief, workers=2, grace=5,
                               echo=False, timeout=100)
    assert time.monotonic() - start < 30
    assert result.stopped == ["chief"]
    assert result.returncodes == {"chief": -signal.SIGTERM, "tuner0": 0, "tuner1": 0}
    assert not alive(result.pids["chief"])


def test_a_failing_worker_stops_the_others_and_raises(tmp_path):
    worker = python("time.sleep(0.5)\n"
                    "sys.exit(3) if os.environ['KERASREC_TASK'] == 'tuner1' else time.sleep(120)")
    chief = python("time.sleep(120)")
    start = time.monotonic()
    with pytest.raises(distribute.LaunchError, match="tuner1 exited with status 3") as info:
        distribute.launch(worker, chief_command=chief, workers=2, log_dir=str(tmp_path),
                          echo=False, grace=5, timeout=100)
    assert time.monotonic() - start < 30
    assert info.value.log_dir == str(tmp_path) and info.value.returncodes["tuner1"] == 3
    assert not any(alive(pid) for pid in _children_of_this_test())


def test_timeout_stops_every_process_even_one_that_ignores_sigterm():
    stubborn = python("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                      "print('up', flush=True); time.sleep(120)")
    start = time.monotonic()
    with pytest.raises(distribute.LaunchError, match="after the timeout of 2 s") as info:
        distribute.launch(stubborn, workers=2, timeout=2, grace=1, echo=False)
    # 2 s, then SIGTERM to the workers (ignored: SIGKILL 1 s later), then to the chief.
    assert time.monotonic() - start < 20
    assert set(info.value.returncodes) == {"chief", "tuner0", "tuner1"}
    assert not any(alive(pid) for pid in _children_of_this_test())


def test_a_worker_that_dies_by_a_signal_is_named_with_it():
    worker = python("os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(distribute.LaunchError, match=r"exited with status -9 \(SIGKILL\)"):
        distribute.launch(worker, chief_command=python("time.sleep(120)"), workers=1,
                          echo=False, grace=2, timeout=60)


def test_tf_config_cluster_describes_a_chief_and_workers_on_distinct_ports():
    envs = distribute._cluster_env("tf_config", 2)
    assert list(envs) == ["chief", "worker0", "worker1"]
    configs = {name: json.loads(env["TF_CONFIG"]) for name, env in envs.items()}
    cluster = configs["chief"]["cluster"]
    assert all(c["cluster"] == cluster for c in configs.values())
    addresses = cluster["chief"] + cluster["worker"]
    assert len(cluster["chief"]) == 1 and len(cluster["worker"]) == 2
    assert all(a.startswith("127.0.0.1:") for a in addresses) and len(set(addresses)) == 3
    assert [c["task"] for c in configs.values()] == [
        {"type": "chief", "index": 0}, {"type": "worker", "index": 0},
        {"type": "worker", "index": 1}]


def test_free_ports_are_distinct_and_can_be_bound():
    ports = distribute.free_ports(3)
    assert len(set(ports)) == 3 and all(1024 <= p < 65536 for p in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"command": "python search.py"}, "Argument `command` must be a non-empty list of strings"),
        ({"command": []}, "Argument `command` must be a non-empty list"),
        ({"workers": 0}, "Argument `workers` must be an int >= 1. Received: workers=0"),
        ({"cluster": "slurm"}, "Argument `cluster` must be one of ('kerastuner', 'tf_config')"),
        ({"timeout": 0}, "Argument `timeout` must be a number > 0. Received: timeout=0"),
        ({"grace": -1.0}, "Argument `grace` must be a number >= 0. Received: grace=-1.0"),
        ({"env": ["A=1"]}, "Argument `env` must be a dict, a function"),
        ({"chief_command": [1]}, "Argument `chief_command` must be a non-empty list"),
    ],
)
def test_launch_rejects_bad_arguments_before_starting_anything(kwargs, message):
    kwargs = {"command": python("pass"), **kwargs}
    with pytest.raises(distribute.ArgumentError, match=re.escape(message)):
        distribute.launch(**kwargs)


def test_role_and_task_outside_a_launch(monkeypatch):
    for name in (distribute.ROLE_ENV, distribute.TASK_ENV, distribute.INDEX_ENV):
        monkeypatch.delenv(name, raising=False)
    assert distribute.role() is None and distribute.task_name() is None
    assert distribute.task_index() is None
    monkeypatch.setenv(distribute.ROLE_ENV, "worker")
    monkeypatch.setenv(distribute.INDEX_ENV, "3")
    assert distribute.role() == "worker" and distribute.task_index() == 3


def test_wait_for_peers_returns_once_every_process_is_ready(tmp_path, monkeypatch):
    monkeypatch.delenv(distribute.PEERS_ENV, raising=False)
    assert distribute.wait_for_peers(timeout=0)  # not launched: nothing to wait for
    monkeypatch.setenv(distribute.PEERS_ENV, str(tmp_path))
    monkeypatch.setenv(distribute.COUNT_ENV, "2")
    monkeypatch.setenv(distribute.TASK_ENV, "tuner0")
    start = time.monotonic()
    assert distribute.wait_for_peers(timeout=0.3) is False  # tuner1 never came
    assert time.monotonic() - start >= 0.3
    assert os.listdir(tmp_path) == ["tuner0"]
    (tmp_path / "tuner1").write_text("1")
    assert distribute.wait_for_peers(timeout=5) is True


def test_launched_workers_wait_for_each_other(tmp_path):
    # tuner1 is 2 s late; tuner0 must not go on before it is up.
    code = ("from kerasrec import distribute\n"
            "if distribute.task_name() == 'tuner1':\n"
            "    time.sleep(2); print('ready', time.time(), flush=True)\n"
            "assert distribute.wait_for_peers(timeout=120)\n"
            "print('go', time.time(), flush=True)")
    # Importing kerasrec imports TensorFlow: slow, so only the workers do.
    chief = python("open(os.path.join(os.environ['KERASREC_PEERS'], 'chief'), 'w').close()\n"
                   "time.sleep(300)")
    result = distribute.launch(python(code), chief_command=chief, workers=2, echo=False,
                               log_dir=str(tmp_path), timeout=300)
    assert result.returncodes["tuner0"] == result.returncodes["tuner1"] == 0

    def stamp(name, word):
        return float(re.search(rf"^{word} (\S+)$", (tmp_path / f"{name}.log").read_text(),
                               re.M).group(1))

    assert stamp("tuner0", "go") >= stamp("tuner1", "ready")


def _children_of_this_test():
    """Process ids whose parent is this process (zombies included)."""
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            pids.append(int(stat.split("/")[2]))
    return pids


def _default_sigint():
    # A shell starts background jobs with SIGINT ignored, and an ignored
    # signal stays ignored across exec: `make test &` would hand the launcher
    # a SIGINT it cannot receive. Ctrl-C in a terminal meets the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_every_process_within_the_grace_period(tmp_path):
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kerasrec.distribute", "--workers", "2", "--grace", "5",
             "--", *python("print('up', flush=True); time.sleep(300)")],
            cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 240
        while out.read_text().count("] up") < 3:
            assert time.monotonic() < deadline and proc.poll() is None, out.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)  # SIGTERM, and 5 s before SIGKILL: well within
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    assert proc.returncode == 130, text
    assert "interrupted: stopped every process" in text and "Traceback" not in text
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]
    assert len(pids) == 3 and not any(alive(pid) for pid in pids)


def test_the_command_line_reports_a_failure_with_status_1(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kerasrec.distribute", "--workers", "1", "--log-dir",
         str(tmp_path), "--", *python("sys.exit(5)")],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"error: (chief|tuner0) exited with status 5", proc.stderr)
    bad = subprocess.run([sys.executable, "-m", "kerasrec.distribute", "--workers", "0", "--",
                          "true"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert bad.returncode == 2 and "Argument `workers` must be an int >= 1" in bad.stderr


# -- KerasTuner: who ran each trial ---------------------------------------------------


def build(hp):
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def small_tuner(directory, trials=2):
    return tuning.RandomSearch(build, objective="val_accuracy", max_trials=trials, seed=1,
                               directory=str(directory), project_name="search")


def end(oracle, trial, score, status="COMPLETED"):
    oracle.update_trial(trial.trial_id, {"val_accuracy": score})
    trial.status = status
    oracle.end_trial(trial)


def test_record_runs_writes_a_running_then_a_finished_record(tmp_path, capsys):
    tuner = distribute.record_runs(small_tuner(tmp_path))
    trial = tuner.oracle.create_trial(tuner.tuner_id)
    tuner.on_trial_begin(trial)
    (path,) = glob.glob(str(tmp_path / "search" / "trial_runs" / "*.json"))
    with open(path) as f:
        started = json.load(f)  # what a killed run leaves behind
    assert started["status"] == "RUNNING" and started["trial_id"] == trial.trial_id
    assert started["pid"] == os.getpid() and started["tuner_id"] == "tuner0"
    assert started["hyperparameters"] == trial.hyperparameters.values
    assert started["seconds"] is None
    tuner.oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    tuner.on_trial_end(trial)
    assert glob.glob(str(tmp_path / "search" / "trial_runs" / "*.json")) == [path]
    (done,) = distribute.read_runs(tuner.project_dir)
    assert done["status"] == "COMPLETED" and done["seconds"] >= 0
    assert tuner.oracle.get_trial(trial.trial_id).status == "COMPLETED"  # still reported
    assert f"trial {trial.trial_id} completed by tuner0" in capsys.readouterr().out


def test_record_runs_rejects_what_is_not_a_tuner():
    with pytest.raises(distribute.ArgumentError, match="Argument `tuner` must be a KerasTuner"):
        distribute.record_runs(object())


def row(trial_id, status="COMPLETED"):
    return {"trial_id": trial_id, "status": status,
            "hyperparameters": {"learning_rate": float(trial_id)}}


def record(trial_id, tuner_id="tuner0", pid=1, status="COMPLETED", values=None, start=0):
    return {"trial_id": trial_id, "tuner_id": tuner_id, "pid": pid, "status": status,
            "hyperparameters": values or {"learning_rate": float(trial_id)},
            "start_ns": start, "seconds": 1.0}


@pytest.mark.parametrize(
    "records, exactly_once, finished_runs, interrupted",
    [
        ([record("0"), record("1", "tuner1", 2)], True, {"0": 1, "1": 1}, 0),
        ([record("0"), record("1"), record("1", "tuner1", 2)], False, {"0": 1, "1": 2}, 0),
        ([record("0")], False, {"0": 1}, 0),
        # A killed run keeps its "RUNNING" record; the rerun finishes the trial once.
        ([record("0"), record("1", status="RUNNING"), record("1", "tuner1", 2, start=1)],
         True, {"0": 1, "1": 1}, 1),
        ([record("0"), record("1"), record("7")], False, {"0": 1, "1": 1, "7": 1}, 0),
    ],
    ids=["once-each", "one-twice", "one-missing", "killed-then-rerun", "unknown-trial"],
)
def test_count_runs_counts_finished_runs_per_trial(records, exactly_once, finished_runs,
                                                   interrupted):
    summary = distribute.count_runs([row("0"), row("1")], records, max_trials=2)
    assert summary["exactly_once"] is exactly_once
    assert summary["finished_runs"] == finished_runs
    assert summary["interrupted_runs"] == interrupted


def test_count_runs_flags_other_hyperparameters_too_few_trials_and_a_failed_one():
    trials = [row("0"), row("1")]
    wrong = [record("0"), record("1", values={"learning_rate": 9.0})]
    summary = distribute.count_runs(trials, wrong, max_trials=2)
    assert summary["mismatched"] == ["1"] and not summary["exactly_once"]
    right = [record("0", "tuner0", 11), record("1", "tuner1", 12)]
    summary = distribute.count_runs(trials, right, max_trials=2)
    assert summary["exactly_once"]
    assert summary["per_worker"] == {"tuner0": 1, "tuner1": 1}
    assert summary["pids"] == {"tuner0": [11], "tuner1": [12]}
    assert not distribute.count_runs(trials, right, max_trials=3)["exactly_once"]
    assert not distribute.count_runs([row("0"), row("1", "FAILED")], right, 2)["exactly_once"]


def test_a_resumed_chief_reruns_the_interrupted_trial_but_not_the_last_finished_one(tmp_path):
    # Pins the stale oracle.json of KerasTuner 1.4.8's chief: Oracle.end_trial()
    # writes it before it drops the trial from `ongoing_trials`, and in a chief
    # nothing writes it again, so a plain reload() queues the last trial each
    # worker finished to run again. kerasrec.tuning's oracle reload repairs it
    # (the recipe used to patch this itself).
    chief = small_tuner(tmp_path, trials=3)
    chief.save()  # what the chief's search() does first; then only the oracle writes
    oracle = chief.oracle
    end(oracle, oracle.create_trial("tuner0"), 0.5)
    interrupted = oracle.create_trial("tuner1")  # its worker is killed: it never ends
    end(oracle, oracle.create_trial("tuner0"), 0.6)
    assert oracle.create_trial("tuner0").status == "STOPPED"
    with open(tmp_path / "search" / "oracle.json") as f:
        ongoing = json.load(f)["ongoing_trials"]
    assert ongoing == {"tuner0": "2", "tuner1": interrupted.trial_id}  # "2" has finished

    resumed = small_tuner(tmp_path, trials=3).oracle
    assert resumed._retry_queue == [interrupted.trial_id]
    rerun = resumed.create_trial("tuner0")
    assert rerun.trial_id == interrupted.trial_id and rerun.status == "RUNNING"
    assert rerun.hyperparameters.values == interrupted.hyperparameters.values
    end(resumed, rerun, 0.7)
    assert resumed.create_trial("tuner0").status == "STOPPED"  # and not trial 2 again
    assert {t.trial_id: t.score for t in resumed.trials.values()} == {"0": 0.5, "1": 0.7, "2": 0.6}
