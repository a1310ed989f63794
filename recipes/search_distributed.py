"""
Title: Distributed search: one KerasTuner search shared by a chief and N workers on 127.0.0.1
Author: kerasrec contributors
Date created: 2026/11/25
Last modified: 2026/12/01
Description: KerasTuner's chief/worker mode on one machine: every trial runs once, on some worker.
Lecture section: 1. Training dynamics (choosing hyperparameters: random search)
Run: make recipe-search-distributed   (make recipe-search-distributed WORKERS=4 ARGS="--trials 16")
"""

"""
## Introduction

A random search (lecture, "Choosing hyperparameters") is embarrassingly
parallel: the trials do not depend on each other, so several processes can
run them at the same time. KerasTuner has this built in. Every process runs
the *same* script, told its part by three environment variables:

- `KERASTUNER_TUNER_ID`: `"chief"` for one process, `"tuner0"`, `"tuner1"`,
  ... for the workers;
- `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`: where the chief listens.

In the chief, `tuner.search()` trains nothing: it serves the *oracle* (the
object that proposes hyperparameters and records results) over gRPC. In a
worker, `tuner.search()` asks the chief for a trial, trains it, reports the
result, and asks again until the chief answers "stopped" (`max_trials`
reached). All the processes share one project folder: the chief writes
`oracle.json` and every `trial_*/trial.json`; the worker that ran a trial
writes its best-epoch weights beside them.

What a cluster scheduler would do, `kerasrec.distribute.launch()` does on
one machine: it picks a free port of 127.0.0.1, starts this same script as
a chief and `--workers` workers, streams their output with a `[chief]` /
`[tuner0]` prefix (and into `logs/`), stops them all on Ctrl-C or when one
dies, and gives up after `--timeout` seconds, so that no worker waits
forever for a peer that is gone. The script tells which part it plays from
`kerasrec.distribute.role()`. Then the recipe checks, from the files on
disk, that:

1. **every trial ran exactly once**: each process records every run of a
   trial it starts and finishes (`kerasrec.distribute.record_runs`: tuner
   id, process id, hyperparameters), and each of the `max_trials` trials
   has exactly one finished run, with the hyperparameters the oracle gave;
2. **all workers took part**, each in its own process, and the chief
   trained nothing;
3. **the distributed search is the single-process search**: with the same
   seed the oracle proposes the same hyperparameters whoever asks, so the
   same search run in one process (`--baseline`, on by default) tries the
   very same trials. Its wall time is the baseline of the speed-up.

**Resuming.** The distributed search and the baseline are steps of the
harness (`run.step(..., workdir=True)`): a rerun with the same `--out`
reuses a finished search. A killed search resumes through KerasTuner's own
files: the oracle writes each result when its trial ends, and rerunning
the same command reloads them and runs only the unfinished trials.
`kerasrec.tuning`'s oracles write those files atomically and repair what a
kill leaves; that repair also covers the one trap of the chief in
KerasTuner 1.4.8, where `oracle.json` still lists the last trial each
worker finished as running and a plain reload would run it again.

The search: `kerasrec.tuning.RandomSearch` over Adam's learning rate
(log-uniform in `[--min-learning-rate, --max-learning-rate]`) and its
decoupled weight decay (log-uniform in `[1e-6, 1e-2]`) of the reference
CNN, `--trials` (12) trials of `--epochs` (10) epochs on the embedded
`digits`; the objective is the best epoch's validation accuracy.
`--learning-rate` is not used: the search samples it.
"""

"""
## Setup

`--quick` runs 4 trials of 2 epochs of the MLP, a minute or two. A
process started by the launcher (`distribute.role()` is `"chief"` or
`"worker"`) parses the same flags; the launcher passes it the search's
folder in `SEARCH_FOLDER`, and one share of the cores through TensorFlow's
`TF_NUM_INTRAOP_THREADS` (two workers on two cores: one thread each), so
the workers do not fight over them.
"""

import argparse
import math
import os
import sys
import time
import warnings

import keras

from kerasrec import data, distribute, models, runs, tuning

PROJECT = "search"  # the KerasTuner project folder inside a step's folder
FOLDER_ENV = "SEARCH_FOLDER"  # how the launcher tells the others where it is
WEIGHT_DECAY_RANGE = (1e-6, 1e-2)
# The best model's checkpoint holds its optimizer's state, which is not needed.
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")

parser = runs.make_parser(__doc__, dataset="digits", epochs=10, batch_size=64)
add = parser.add_argument
add("--workers", type=int, default=2, help="workers beside the chief (default: 2)")
add("--trials", type=int, default=12, help="max_trials (default: %(default)s)")
add("--model", choices=["cnn", "mlp"], default="cnn", help="default: %(default)s")
add("--min-learning-rate", type=float, default=1e-4, help="default: %(default)s")
add("--max-learning-rate", type=float, default=1e-1, help="default: %(default)s")
add(
    "--baseline",
    action=argparse.BooleanOptionalAction,
    default=True,
    help="also run the same search in one process (default: %(default)s)",
)
add(
    "--timeout",
    type=float,
    default=3600.0,
    help="seconds the distributed search may take (default: %(default)s)",
)

QUICK = {"trials": 4, "model": "mlp"}
run = runs.start("search-distributed", parser, quick=QUICK)
args = run.args
lr_range = low, high = args.min_learning_rate, args.max_learning_rate
runs.require(
    args,
    (args.workers >= 1, "workers", "a positive integer"),
    (args.trials >= 1, "trials", "a positive integer"),
    (0 < low < math.inf, "min-learning-rate", "a finite number > 0"),
    (low < high < math.inf, "max-learning-rate", "finite and > `--min-learning-rate`"),
    (0 < args.timeout < math.inf, "timeout", "a finite number > 0"),
)

"""
## Data

The launcher loads the data first: on first use that prepares the embedded
dataset, once, before several processes read it.
"""

train, val, test, info = data.load(
    args.dataset,
    batch_size=args.batch_size,
    quick=args.quick,
    train_size=args.train_size,
    seed=args.seed,
)

"""
## The search, the same in every process

`tuning.make_hypermodel` turns a model-building function into a
hypermodel that samples the learning rate and the weight decay and
compiles the model with Adam. `build_model` seeds Keras first, so every
trial starts from the same weights whichever process runs it.
`make_tuner` is the tuner of the chief, of every worker and of a single
process alike; `record_runs` makes whichever process trains a trial write
down that it did.
"""


def build_model():
    keras.utils.set_random_seed(args.seed)
    return models.build(args.model, info.input_shape, info.num_classes)


hypermodel = tuning.make_hypermodel(
    build_model,
    optimizer="adam",
    learning_rate=lr_range,
    weight_decay=WEIGHT_DECAY_RANGE,
)


def make_tuner(folder):
    tuner = tuning.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=args.seed + 1,  # KerasTuner reads seed=0 as "no seed"
        directory=folder,
        project_name=PROJECT,
        overwrite=False,  # a rerun reloads the finished trials
    )
    return distribute.record_runs(tuner)


# What `fit` gets in every trial. The pipeline shuffles itself.
fit_kwargs = dict(validation_data=val, epochs=args.epochs, shuffle=False, verbose=0)


"""
## The chief and the workers

This is all a process started by the launcher does: wait until the others
are up (so that a worker slower to import TensorFlow still gets its share),
then `tuner.search()`. In the chief it serves the oracle; the launcher
stops the chief once every worker has been told to stop and has exited.
"""

if distribute.role():
    tuner = make_tuner(os.environ[FOLDER_ENV])
    distribute.wait_for_peers()
    tuner.search(train, **fit_kwargs)
    sys.exit(0)

run.record(dataset_info=info.to_dict(), cpu_count=os.cpu_count())
run.log(
    f"{info.name}: {info.split_sizes}; {args.trials} trials of {args.epochs} "
    f"epochs on {args.workers} workers"
)

"""
## The search, distributed and in one process

`search(folder, workers)` runs the search in `folder`: with `workers`, as
this script started again as a chief and the workers; with 0, in this
process (KerasTuner's ordinary mode, with all the cores). Then it reads
the search back from its files: the trial table (`tuning.trials_table()`:
every trial's `trial.json` and the `history.json` its worker wrote), the
run records, and the best trial's model, rebuilt with the weights its
worker saved at its best epoch (`tuner.get_best_models()`) and scored
again on the validation set (it must give the recorded score) and on the
test set.
"""

# The chief and the workers: this script again, same flags, same run folder.
command = [sys.executable, os.path.abspath(__file__), *sys.argv[1:], "--out", run.path]


def search(folder, workers):
    project = os.path.join(folder, PROJECT)
    earlier = os.listdir(project) if os.path.isdir(project) else []
    threads = str(max(1, (os.cpu_count() or 1) // max(workers, 1)))
    env = {FOLDER_ENV: folder, "TF_NUM_INTRAOP_THREADS": threads}
    env["TF_NUM_INTEROP_THREADS"] = threads
    start = time.time()
    if workers:
        distribute.launch(
            command,
            workers=workers,
            env=env,
            timeout=args.timeout,
            log_dir=run.file("logs"),
        )
    else:
        make_tuner(folder).search(train, **fit_kwargs)
    seconds = time.time() - start
    tuner = make_tuner(folder)  # reloads the search from its files
    best_trial = tuner.oracle.get_best_trials(1)[0]
    best_model = tuner.get_best_models(1)[0]
    trials = tuning.trials_table(project)  # from the files every process wrote
    if workers:
        run.save_model(best_model)
        tuning.save_trials(trials, run.path, objective="val_accuracy")
    return {
        "seconds": seconds,
        "resumed_trials": sum(name.startswith("trial_") for name in earlier),
        "trials": trials,
        "runs": distribute.read_runs(project),
        "best_trial": best_trial.trial_id,
        "reloaded_val_accuracy": best_model.evaluate(val, verbose=0)[1],
        "test_accuracy": best_model.evaluate(test, verbose=0)[1],
    }


"""
A search that stops (Ctrl-C, a dead worker, `--timeout`) keeps every
finished trial on disk; the same command with the same `--out` finishes
it. The flags that decide what the trials are (and `--workers`, for the
distributed search) are the steps' inputs: a change starts a fresh search
in a folder of its own.
"""

skip = ("workers", "baseline", "timeout", "learning_rate")  # not what the trials are
inputs = {name: value for name, value in run.flags().items() if name not in skip}
rerun = f"rerun the same command with --out {run.path} to finish the search"
try:
    distributed = run.step(
        "distributed",
        lambda folder: search(folder, args.workers),
        workdir=True,
        workers=args.workers,
        **inputs,
    )
    single = None
    if args.baseline:
        run.log("the same search in one process (--baseline)")
        single = run.step(
            "single", lambda folder: search(folder, 0), workdir=True, **inputs
        )
except KeyboardInterrupt:
    print(f"interrupted: stopped the search; {rerun}.", file=sys.stderr)
    sys.exit(130)
except distribute.LaunchError as e:
    print(f"error: the search stopped: {e}; {rerun}.", file=sys.stderr)
    sys.exit(1)

"""
## What ran where

The run records against the trial table: how often each trial ran, on
which worker, in which process.
"""

trials, records = distributed["trials"], distributed["runs"]
summary = distribute.count_runs(trials, records, args.trials)
workers = [f"tuner{i}" for i in range(args.workers)]
idle = [w for w in workers if not summary["per_worker"].get(w)]
pids = [pid for tuner_pids in summary["pids"].values() for pid in tuner_pids]
for worker in workers:
    ran = [r["trial_id"] for r in records if r["tuner_id"] == worker]
    run.log(f"{worker} (pid {summary['pids'].get(worker)}) ran trials {', '.join(ran)}")
# From the first trial's start to the last one's end: without the start-up.
starts = [r["start_ns"] / 1e9 for r in records]
ends = [start + r["seconds"] for start, r in zip(starts, records) if r["seconds"]]
training_seconds = max(ends, default=0) - min(starts, default=0)
best = next(t for t in trials if t["trial_id"] == distributed["best_trial"])
run.save_history(
    best["history"],
    title=f"best trial {best['trial_id']}: learning_rate "
    f"{best['hyperparameters']['learning_rate']:.3g}, weight_decay "
    f"{best['hyperparameters']['weight_decay']:.3g}",
)

"""
## Results

The claims, each checked on this run: every trial ran exactly once, all
the workers took part, the best trial's saved weights reload with its
score, and (with `--baseline`) one process runs the very same trials.
The scores are compared, not claimed equal: TensorFlow on the CPU is not
bit-reproducible across thread counts (a worker here runs one thread, the
single process all the cores), and a trial's batches come in another order
in a process that ran other trials before it.

`--quick` (4 trials of 2 epochs of the MLP on `digits`, 2 workers, on two
cores that other jobs were also using): the four claims held. Each worker
ran 2 trials, every trial once; the single process tried the same 4
(learning rate, weight decay) pairs, and its validation accuracies differed
by at most 7 of the 359 examples; best validation accuracy 91.9% (test
94.7%) at learning rate 0.0074, the same in every run. The distributed
search took 24 s against 12 s in one process (0.50x; 53 s against 35 s at
a load of 9), although its trials ran from the first start to the last end
in 8 s: starting the chief and two workers (three TensorFlow imports on
two cores) costs more than parallel trials save on a search this short.
The speed-up is measured, not claimed; the full run
(`make results ONLY=search-distributed`: 12 trials of 10 epochs of the
CNN; RESULTS.md has its numbers) is the one to quote.
"""

run.check(
    "every trial ran exactly once",
    summary["exactly_once"],
    f"{len(trials)} trials of max_trials={args.trials}; finished runs per trial "
    f"{sorted(set(summary['finished_runs'].values()))}; "
    f"{summary['interrupted_runs']} interrupted runs; hyperparameters differ from "
    f"the oracle's in {summary['mismatched'] or 'none'}",
)
run.check(
    f"all {args.workers} workers took part, each in its own process, and the chief "
    "trained nothing",
    not idle
    and "chief" not in summary["pids"]
    and len(set(pids)) == len(pids),  # no process ran trials for two workers
    f"finished trials per worker {summary['per_worker']}; processes {summary['pids']}"
    + (f"; idle: {', '.join(idle)}" if idle else ""),
)
run.check(
    "the best trial's saved weights reload with its recorded validation accuracy",
    abs(distributed["reloaded_val_accuracy"] - best["score"]) < 1e-6,
    f"recorded {best['score']:.4f}, reloaded {distributed['reloaded_val_accuracy']:.4f}",
)
metrics = {
    "workers": args.workers,
    "trials": len(trials),
    "completed_trials": sum(t["status"] == "COMPLETED" for t in trials),
    "trials_per_worker": summary["per_worker"],
    "interrupted_runs": summary["interrupted_runs"],
    "best_trial": best["trial_id"],
    "best_val_accuracy": best["score"],
    "best_test_accuracy": distributed["test_accuracy"],
    "best_learning_rate": best["hyperparameters"]["learning_rate"],
    "best_weight_decay": best["hyperparameters"]["weight_decay"],
    "resumed_trials": distributed["resumed_trials"],
    "search_seconds": distributed["seconds"],
    "training_seconds": training_seconds,
}
if single:
    same = [t["hyperparameters"] for t in single["trials"]] == [
        t["hyperparameters"] for t in trials
    ]
    gaps = [
        abs(a["score"] - b["score"])
        for a, b in zip(trials, single["trials"])
        if a["score"] is not None and b["score"] is not None
    ]
    one_example = 1 / info.split_sizes["validation"]
    run.check(
        "one process with the same seed runs the same search: the same trials with "
        "the same hyperparameters",
        same,
        f"{len(trials)} trials, hyperparameters {'identical' if same else 'DIFFERENT'}; "
        f"validation accuracies differ by at most {max(gaps, default=0):.4f} "
        f"({max(gaps, default=0) / one_example:.0f} examples)",
    )
    resumed = distributed["resumed_trials"] or single["resumed_trials"]
    metrics.update(
        single_process_seconds=single["seconds"],
        speedup=single["seconds"] / distributed["seconds"],
        single_process_best_val_accuracy=max(t["score"] or 0 for t in single["trials"]),
        max_score_difference=max(gaps, default=None),
    )
    run.log(
        f"wall time {distributed['seconds']:.1f} s on {args.workers} workers, "
        f"{single['seconds']:.1f} s in one process: speed-up {metrics['speedup']:.2f}x"
        + (" (a resumed search: not comparable)" if resumed else "")
    )
run.finish(
    metrics,
    headline=f"{info.name}: {len(trials)} trials on {args.workers} workers in "
    f"{distributed['seconds']:.0f} s; best val {best['score']:.1%} (test "
    f"{distributed['test_accuracy']:.1%}) at learning_rate "
    f"{best['hyperparameters']['learning_rate']:.3g}",
)
