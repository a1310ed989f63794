"""One command as a chief and N workers on this machine: a launcher.

KerasTuner's distributed search, like `tf.distribute`'s multi-worker
training, runs the *same* program in several processes told apart by their
environment: the part each plays, where the others listen. `launch()` sets
that up on 127.0.0.1, as a cluster scheduler would:

```python
if distribute.role():                 # started by launch(): the chief or a worker
    distribute.wait_for_peers()       # every process is up before work starts
    tuner.search(train, validation_data=val, epochs=10)
else:                                 # the user's command: start the others
    distribute.launch([sys.executable, __file__, *sys.argv[1:]], workers=2)
```

It streams the processes' output prefixed with `[chief]`, `[tuner0]`, ...
(and into one log file each), and stops them all (SIGTERM, then SIGKILL)
on Ctrl-C, when one fails, or past a timeout, so that none is left waiting
for a peer that died. `cluster="kerastuner"` sets KerasTuner's
`KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT` and `KERASTUNER_TUNER_ID`
(`"chief"`, `"tuner0"`, ...); `cluster="tf_config"` sets `TF_CONFIG` for
`tf.distribute.MultiWorkerMirroredStrategy` (a `"chief"` task and
`"worker"` tasks, named `"worker0"`, ...). Every process also gets
`KERASREC_ROLE`, `KERASREC_TASK` and `KERASREC_TASK_INDEX`, read by
`role()`, `task_name()` and `task_index()`, and `KERASREC_PEERS` and
`KERASREC_PROCESSES` for `wait_for_peers()`. From a shell:
`python -m kerasrec.distribute --workers 2 -- python search.py`.

For KerasTuner, `record_runs(tuner)` makes a tuner record every run of a
trial (which worker, which process, how it ended); `read_runs()` and
`count_runs()` check from the records that each trial ran exactly once.
"""

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from kerasrec._checks import ArgumentError, check_int, check_range
from kerasrec._io import read_json, write_atomic, write_json

__all__ = [
    "Launch", "LaunchError", "count_runs", "free_ports", "launch", "main", "read_runs",
    "record_runs", "role", "task_index", "task_name", "wait_for_peers",
]

HOST = "127.0.0.1"
CLUSTERS = ("kerastuner", "tf_config")
ROLE_ENV, TASK_ENV, INDEX_ENV = "KERASREC_ROLE", "KERASREC_TASK", "KERASREC_TASK_INDEX"
PEERS_ENV, COUNT_ENV = "KERASREC_PEERS", "KERASREC_PROCESSES"
# TensorFlow's start-up chatter: kept in the log files, not echoed.
NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} \d\d:\d\d:"
                   r"|To enable the following instructions|.*cuda drivers)")


class LaunchError(RuntimeError):
    """A launched process failed, or the launch ran past its timeout.

    Attributes:
        returncodes: `{name: exit status, or None while running}` (a
            negative status is the signal that ended the process).
        log_dir: the folder of the processes' logs, or `None`.
    """

    def __init__(self, message, returncodes=None, log_dir=None):
        super().__init__(message)
        self.returncodes = dict(returncodes or {})
        self.log_dir = log_dir


@dataclasses.dataclass
class Launch:
    """How the processes of a `launch()` ended.

    Attributes:
        returncodes: `{name: exit status}`, the chief first.
        pids: `{name: process id}`.
        stopped: the processes the launcher stopped once the work was done
            (a KerasTuner chief: it serves until it is stopped).
        seconds: wall time from the first start to the last exit.
        log_dir: the folder of the log files, or `None`.
    """

    returncodes: dict
    pids: dict
    stopped: list
    seconds: float
    log_dir: str | None = None


def role():
    """`"chief"` or `"worker"` in a process started by `launch()`, else `None`."""
    return os.environ.get(ROLE_ENV) or None


def task_name():
    """This process's name in its launch (`"chief"`, `"tuner0"`, ...), or `None`."""
    return os.environ.get(TASK_ENV) or None


def task_index():
    """This process's index among its role (the chief's is 0), or `None`."""
    index = os.environ.get(INDEX_ENV)
    return None if index is None else int(index)


def free_ports(count=1):
    """`count` distinct TCP ports of 127.0.0.1 that nothing listens on right now."""
    check_int("count", count, 1)
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:  # all held open until all are chosen: distinct
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]


def _cluster_env(cluster, workers):
    """`{name: environment}` of the chief, then of each worker, for `cluster`."""
    if cluster == "kerastuner":
        common = {"KERASTUNER_ORACLE_IP": HOST, "KERASTUNER_ORACLE_PORT": str(free_ports()[0])}
        names = ["chief"] + [f"tuner{i}" for i in range(workers)]
        return {name: {**common, "KERASTUNER_TUNER_ID": name} for name in names}
    addresses = [f"{HOST}:{port}" for port in free_ports(workers + 1)]
    spec = {"chief": addresses[:1], "worker": addresses[1:]}
    tasks = [("chief", {"type": "chief", "index": 0})]
    tasks += [(f"worker{i}", {"type": "worker", "index": i}) for i in range(workers)]
    return {name: {"TF_CONFIG": json.dumps({"cluster": spec, "task": task})}
            for name, task in tasks}


def wait_for_peers(timeout=600.0):
    """Marks this process ready, then waits until every process of its launch is.

    So that a worker slower to start (importing TensorFlow on a busy
    machine) still gets its share of the work. Outside a launch it returns
    at once.

    Args:
        timeout: the most seconds to wait; then it returns anyway. Defaults
            to `600.0`.

    Returns:
        `True` when every process was ready, `False` after `timeout`.
    """
    check_range("timeout", timeout, 0, low_open=False)
    folder = os.environ.get(PEERS_ENV)
    if not folder or not os.path.isdir(folder):
        return True
    write_atomic(os.path.join(folder, task_name() or str(os.getpid())), str(os.getpid()))
    deadline = time.monotonic() + timeout
    count = int(os.environ[COUNT_ENV])
    while len([n for n in os.listdir(folder) if not n.startswith(".")]) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _check_command(name, command):
    if not (isinstance(command, (list, tuple)) and command
            and all(isinstance(part, str) for part in command)):
        raise ArgumentError(f"Argument `{name}` must be a non-empty list of strings (a program "
                            f"and its arguments). Received: {name}={command!r}")
    return list(command)


def _describe(code):
    with contextlib.suppress(ValueError, TypeError):
        if code < 0:
            return f"status {code} ({signal.Signals(-code).name})"
    return f"status {code}"


def _stream(name, pipe, log_path, echo, lock):
    """Copies a process's output into its log file and, prefixed, to stdout."""
    with open(log_path, "a") if log_path else contextlib.nullcontext() as log:
        for line in pipe:
            if log:
                log.write(line)
                log.flush()
            if echo and not NOISE.match(line):
                with lock:
                    sys.stdout.write(f"[{name}] {line}")
                    sys.stdout.flush()


def _stop(procs, grace):
    """SIGTERM to the process groups still running; SIGKILL to those left after `grace` s."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        running = [p for p in procs if p.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)  # a session of its own: its group is its own
        deadline = time.monotonic() + wait
        while any(p.poll() is None for p in running) and time.monotonic() < deadline:
            time.sleep(0.05)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def launch(command, *, workers=2, chief_command=None, cluster="kerastuner", env=None,
           timeout=None, grace=10.0, log_dir=None, echo=True):
    """Runs `command` as one chief and `workers` workers on 127.0.0.1.

    Starts the chief, then the workers, each in a session of its own with
    the environment of `cluster` (see the module docstring), and waits:

    - a process that exits with a non-zero status stops all the others and
      raises `LaunchError`, and so does a launch still running at `timeout`;
    - Ctrl-C or SIGTERM in the launcher stops them all, workers first, and
      raises `KeyboardInterrupt`;
    - the launch is done when every process has exited 0. With
      `"kerastuner"`, once every worker has exited 0, the chief (which
      serves until it is stopped) is stopped; once the chief has exited 0,
      workers still running get `grace` seconds, then are stopped.

    To stop is SIGTERM to the process and its group, then SIGKILL to what
    still runs `grace` seconds later.

    Args:
        command: the program and its arguments, a list of strings, run by
            every worker, and by the chief unless `chief_command` is given.
        workers: the number of workers beside the chief, an int >= 1.
            Defaults to `2`.
        chief_command: the chief's command. Defaults to `None` (`command`).
        cluster: `"kerastuner"` or `"tf_config"`. Defaults to `"kerastuner"`.
        env: extra environment variables, a dict for every process or a
            function `(role, index) -> dict` for each. Defaults to `None`.
        timeout: seconds after which every process is stopped and
            `LaunchError` raised, or `None` for no limit. Defaults to `None`.
        grace: seconds from SIGTERM to SIGKILL, and for workers still
            running once the chief is done. Defaults to `10.0`.
        log_dir: a folder for one `<name>.log` per process (appended to),
            or `None` for none. Defaults to `None`.
        echo: print each process's output prefixed with `[<name>] `
            (TensorFlow's start-up lines only go to the logs). Defaults to
            `True`.

    Returns:
        A `Launch`.

    Raises:
        ArgumentError: an argument is invalid.
        LaunchError: a process failed, or the launch ran past `timeout`.
        KeyboardInterrupt: Ctrl-C or SIGTERM in the launcher.

    Example:

    >>> result = distribute.launch([sys.executable, "search.py"], workers=2,
    ...                            timeout=3600, log_dir="runs/logs")
    >>> result.returncodes, result.stopped
    ({'chief': -15, 'tuner0': 0, 'tuner1': 0}, ['chief'])
    """
    command = _check_command("command", command)
    chief_command = command if chief_command is None else _check_command(
        "chief_command", chief_command)
    workers = check_int("workers", workers, 1)
    if cluster not in CLUSTERS:
        raise ArgumentError(
            f"Argument `cluster` must be one of {CLUSTERS}. Received: cluster={cluster!r}")
    if env is not None and not (isinstance(env, dict) or callable(env)):
        raise ArgumentError("Argument `env` must be a dict, a function (role, index) -> dict, "
                            f"or None. Received: env={env!r}")
    timeout = None if timeout is None else check_range("timeout", timeout, 0)
    grace = check_range("grace", grace, 0, low_open=False)
    if log_dir is not None:
        os.makedirs(log_dir, exist_ok=True)

    envs = _cluster_env(cluster, workers)
    names = list(envs)
    peers = tempfile.mkdtemp(prefix="kerasrec-peers-")
    lock = threading.Lock()
    procs, readers, stopped = {}, [], []
    main_thread = threading.current_thread() is threading.main_thread()
    previous_term = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    start = time.monotonic()
    try:
        for index, name in enumerate(names):
            part, task = ("chief", 0) if index == 0 else ("worker", index - 1)
            extra = env(part, task) if callable(env) else env
            child_env = {"TF_CPP_MIN_LOG_LEVEL": "2", **os.environ, **(extra or {}), **envs[name],
                         ROLE_ENV: part, TASK_ENV: name, INDEX_ENV: str(task), PEERS_ENV: peers,
                         COUNT_ENV: str(len(names)), "PYTHONUNBUFFERED": "1"}
            procs[name] = subprocess.Popen(
                chief_command if index == 0 else command, env=child_env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, errors="replace", start_new_session=True)
            log_path = os.path.join(log_dir, f"{name}.log") if log_dir else None
            readers.append(threading.Thread(target=_stream, daemon=True, args=(
                name, procs[name].stdout, log_path, echo, lock)))
            readers[-1].start()
        with lock:
            print("[launch] started " + ", ".join(f"{n} (pid {p.pid})" for n, p in procs.items())
                  + f" on {HOST} ({cluster})" + (f"; logs in {log_dir}" if log_dir else ""),
                  flush=True)
        chief_done = None  # when the chief exited 0
        while True:
            codes = {n: p.poll() for n, p in procs.items()}
            failed = {n: c for n, c in codes.items() if c not in (None, 0) and n not in stopped}
            if failed:
                raise LaunchError(", ".join(f"{n} exited with {_describe(c)}"
                                            for n, c in failed.items())
                                  + (f" (output in {log_dir})" if log_dir else ""), codes, log_dir)
            running = [n for n, c in codes.items() if c is None]
            if not running:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                raise LaunchError(f"still running after the timeout of {timeout:g} s: "
                                  + ", ".join(running), codes, log_dir)
            if cluster == "kerastuner" and running == ["chief"]:
                stopped.append("chief")  # every worker is done: nothing left to serve
                _stop([procs["chief"]], grace)
            elif codes["chief"] == 0:
                chief_done = chief_done or time.monotonic()
                if time.monotonic() - chief_done > grace:
                    stopped += running
                    _stop([procs[n] for n in running], grace)
            time.sleep(0.1)
    except BaseException:
        _stop([procs[n] for n in names[1:] if n in procs], grace)
        _stop([procs[n] for n in names[:1] if n in procs], grace)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous_term or signal.SIG_DFL)
        for reader in readers:
            reader.join(5)
        shutil.rmtree(peers, ignore_errors=True)
    return Launch({n: p.returncode for n, p in procs.items()}, {n: p.pid for n, p in procs.items()},
                  stopped, time.monotonic() - start, log_dir)


def main(argv=None):
    """`python -m kerasrec.distribute [--workers N ...] -- command ...`: `launch()` from a shell.

    Returns:
        The exit status: 0 when every process succeeded, 1 when one failed
        or the launch timed out, 130 on Ctrl-C. Bad arguments exit with 2.
    """
    parser = argparse.ArgumentParser(prog="python -m kerasrec.distribute",
                                     description="Runs a command as a chief and N workers "
                                     "on 127.0.0.1.")
    add = parser.add_argument
    add("--workers", type=int, default=2, help="workers beside the chief (default: %(default)s)")
    add("--cluster", choices=CLUSTERS, default="kerastuner", help="default: %(default)s")
    add("--timeout", type=float, default=None, help="seconds (default: no limit)")
    add("--grace", type=float, default=10.0, help="default: %(default)s")
    add("--log-dir", default=None, help="a folder for one <name>.log per process")
    add("--chief-command", default=None, help="the chief's command, if not the workers'")
    add("command", nargs=argparse.REMAINDER, help="the program and its arguments, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        launch(command, workers=args.workers, cluster=args.cluster, timeout=args.timeout,
               grace=args.grace, log_dir=args.log_dir,
               chief_command=args.chief_command.split() if args.chief_command else None)
    except ArgumentError as e:
        parser.error(str(e))
    except LaunchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: stopped every process", file=sys.stderr)
        return 130
    return 0


# -- KerasTuner: who ran each trial -------------------------------------------

RUNS_FOLDER = "trial_runs"


def record_runs(tuner, verbose=True):
    """Makes a KerasTuner tuner record every run of a trial, in whichever process runs it.

    A search's own files say what each trial scored, not who ran it or how
    often. This wraps the tuner's `on_trial_begin` and `on_trial_end`: at a
    trial's start the process writes
    `<project>/trial_runs/trial_<id>.<tuner id>.<pid>.<start ns>.json`
    (`trial_id`, `tuner_id`, `pid`, `host`, `hyperparameters`, `start_ns`,
    `status` `"RUNNING"`), and at its end, before the result goes to the
    chief, rewrites it with the trial's status and `seconds`. A killed run
    keeps `"RUNNING"`. Call it on the tuner of every process.

    Args:
        tuner: a KerasTuner tuner (e.g. `kerasrec.tuning.RandomSearch`).
        verbose: print a line when a trial ends. Defaults to `True`.

    Returns:
        `tuner`, its two hooks wrapped.

    Example:

    >>> tuner = distribute.record_runs(tuning.RandomSearch(build, ...))
    >>> tuner.search(x, y, validation_split=0.2)
    >>> distribute.read_runs(tuner.project_dir)[0]["tuner_id"]
    'tuner0'
    """
    if not (callable(getattr(tuner, "on_trial_begin", None)) and hasattr(tuner, "project_dir")):
        raise ArgumentError(
            f"Argument `tuner` must be a KerasTuner tuner. Received: tuner={tuner!r}")
    begin, end, current = tuner.on_trial_begin, tuner.on_trial_end, {}

    def write(r):
        name = f"trial_{r['trial_id']}.{r['tuner_id']}.{r['pid']}.{r['start_ns']}.json"
        write_json(os.path.join(str(tuner.project_dir), RUNS_FOLDER, name), r)

    def on_trial_begin(trial):
        begin(trial)
        current[trial.trial_id] = record = {
            "trial_id": trial.trial_id, "tuner_id": tuner.tuner_id, "pid": os.getpid(),
            "host": socket.gethostname(), "hyperparameters": dict(trial.hyperparameters.values),
            "status": "RUNNING", "start_ns": time.time_ns(), "seconds": None}
        write(record)

    def on_trial_end(trial):
        record = current.pop(trial.trial_id, None)
        if record is not None:
            seconds = (time.time_ns() - record["start_ns"]) / 1e9
            record.update(status=str(trial.status), seconds=seconds)
            write(record)
            if verbose:
                print(f"trial {trial.trial_id} {record['status'].lower()} by {record['tuner_id']} "
                      f"(pid {record['pid']}) in {seconds:.1f} s: {record['hyperparameters']}",
                      flush=True)
        end(trial)

    tuner.on_trial_begin, tuner.on_trial_end = on_trial_begin, on_trial_end
    return tuner


def read_runs(project_dir):
    """The records `record_runs` wrote in a KerasTuner project folder, oldest first."""
    folder = os.path.join(str(project_dir), RUNS_FOLDER)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    records = [read_json(os.path.join(folder, n)) for n in names if n.endswith(".json")]
    return sorted((r for r in records if r), key=lambda r: r["start_ns"])


def count_runs(trials, records, max_trials):
    """Counts the runs of every trial of a search, from its trials and run records.

    Args:
        trials: the search's trials, dicts with `trial_id`, `status` and
            `hyperparameters` (the rows of `tuner.trials_table()`).
        records: the run records, from `read_runs()`.
        max_trials: the search's `max_trials`, an int >= 1.

    Returns:
        A dict: `finished_runs` (`{trial id: its runs that ended}`),
        `interrupted_runs` (runs that never ended: killed), `mismatched`
        (ids of the trials a run of which had other hyperparameters than the
        trial, or that the search does not have), `per_worker` (`{tuner id:
        runs that ended}`), `pids` (`{tuner id: its process ids}`) and
        `exactly_once`: all `max_trials` trials completed, each by exactly
        one run that ended, with the trial's hyperparameters.
    """
    check_int("max_trials", max_trials, 1)
    trials = {t["trial_id"]: t for t in trials}
    ended = [r for r in records if r["status"] != "RUNNING"]
    finished = collections.Counter(r["trial_id"] for r in ended)
    mismatched = sorted({r["trial_id"] for r in records if r["trial_id"] not in trials
                         or r["hyperparameters"] != trials[r["trial_id"]]["hyperparameters"]})
    pids = collections.defaultdict(set)
    for r in records:
        pids[r["tuner_id"]].add(r["pid"])
    completed = [t for t in trials.values() if t["status"] == "COMPLETED"]
    return {
        "finished_runs": dict(sorted(finished.items())),
        "interrupted_runs": len(records) - len(ended),
        "mismatched": mismatched,
        "per_worker": dict(sorted(collections.Counter(r["tuner_id"] for r in ended).items())),
        "pids": {tuner_id: sorted(p) for tuner_id, p in sorted(pids.items())},
        "exactly_once": (len(trials) == len(completed) == max_trials and not mismatched
                         and set(finished) == set(trials)
                         and all(finished[t] == 1 for t in trials)),
    }


if __name__ == "__main__":
    sys.exit(main())
