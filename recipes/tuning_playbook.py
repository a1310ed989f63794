"""
Title: The tuning playbook: from the initial loss to a tuned model, one command
Author: kerasrec contributors
Date created: 2026/11/25
Last modified: 2026/12/01
Description: Runs the lecture's tuning procedure step by step and writes a report with every number.
Lecture section: 1. Choosing hyperparameters (the procedure without a big compute budget)
Run: make recipe-playbook   (make recipe-playbook ARGS=--quick: a minute or two)
"""

"""
## Introduction

The lecture's procedure for choosing hyperparameters without a big compute
budget, every step a call into `kerasrec.playbook` that you can also make
alone:

1. **Initial loss.** With weight decay off, the untrained softmax classifier
   should lose about `ln(C)` (2.30 for 10 classes).
2. **Overfit a small sample.** Five minibatches, no regularization: the model
   must reach ~100% training accuracy, or something is broken.
3. **LR range test.** The learning rate grows exponentially over 600
   batches of all the data (about 4 epochs: `shapes` sits on a plateau for
   its first ~300 steps, and a shorter test sees nothing else); half-way
   down the longest fall of the loss is the suggestion (fast.ai's `valley`,
   `kerasrec.callbacks.LRFinder`).
4. **Coarse grid.** Learning rate (a decade either side of the suggestion)
   x weight decay, 2 epochs each (`kerasrec.tuning.GridSearch`).
5. **Refine.** Random search in the ranges the best coarse trials span,
   trained longer at a constant learning rate (`kerasrec.tuning.RandomSearch`).
6. **Read the learning curves.** `kerasrec.diagnose` names the lecture's
   patterns in the curves of the refinement's best trial.
7. **Train the chosen configuration** with a cosine schedule and early
   stopping, and compare it with the constant-learning-rate baseline
   (`recipes/baseline.py`: Adam at 1e-3 for 10 epochs): the tuned model
   should beat the baseline's test accuracy in at most half its epochs,
   over several seeds (`--seeds`).

The weight decay that steps 3-5 tune is the optimizer's *decoupled* weight
decay (Keras's optimizer argument `weight_decay=`: every step shrinks each
weight by `learning_rate * weight_decay * w`), not an L2 penalty added to
the loss (`kerasrec.models.build_cnn(l2=...)`, `keras.regularizers.L2`). The
models here have no L2 penalty of their own, so the optimizer's decay is
the only one.

Every run from step 4 on starts with a linear warmup over `--warmup-epochs`
(1). The range test only ever applies a high learning rate to a network that
has trained a while at lower ones, so its suggestion holds after a warmup:
on `shapes` from the initial weights no learning rate above ~0.1 leaves the
plateau quickly, while after a one-epoch warmup 0.46 trains best
(`recipes/lr_range_test.py` measures both).

The search runs once; only the final fit and the baseline are repeated over
`--seeds` and reported as mean ± sd, because that comparison is the claim.
"""

"""
## Setup

`kerasrec.runs` is the harness: the flags, the seeds and the run folder.
Each step is a `run.step` with the flags and the earlier results it uses as
its inputs, so a rerun with the same `--out` reuses every step whose inputs
did not change and redoes the others: a new `--coarse-epochs` redoes the
coarse grid and what depends on it, and keeps steps 1-3. The KerasTuner
searches run in a folder of their own for each set of inputs
(`workdir=True`): a search killed half-way resumes there, and one under
other settings never mixes with it.
"""

import functools
import gc

import keras

from kerasrec import data, models, playbook, plots, report, runs

# The range test's span per optimizer: `recipes/lr_range_test.py` measured
# SGD's on `shapes` (a test from 1e-5 reads the fall of an initial loss
# above chance as learning); Adam-type steps are ~100x smaller.
LR_RANGE = {"sgd": (1e-3, 10.0), "adamw": (1e-5, 0.1)}
PATIENCE = 3  # early stopping of the final fit
BASELINE_LR = 1e-3  # recipes/baseline.py: Adam at a constant 1e-3

"""
## Flags

The shared flags (`--epochs` is the final fit's budget, `--learning-rate`
step 2's Adam), the optimizer to tune, the baseline, and one flag per
budget of the procedure: its default, its `--quick` default (`None`: the
same), its least value, and what it sets.
"""

BUDGETS = {
    "overfit_epochs": (200, 100, 1, "the most epochs of step 2"),
    "lr_steps": (600, 150, 2, "batches of the LR range test"),
    "warmup_epochs": (1.0, 0.5, 0, "linear warmup from step 4 on, in epochs"),
    "grid_points": (3, None, 2, "values per hyperparameter of the coarse grid"),
    "coarse_epochs": (2, None, 1, "epochs of each coarse-grid trial"),
    "refine_trials": (3, 2, 1, "random-search trials of the refinement"),
    "refine_epochs": (4, 3, 1, "epochs of each refinement trial"),
    "baseline_epochs": (10, 6, 1, "epochs of the constant-LR baseline"),
}
parser = runs.make_parser(__doc__, epochs=5, batch_size=128, learning_rate=1e-3)
add = parser.add_argument
add("--optimizer", choices=["sgd", "adamw"], default="sgd", help="what steps 3-7 use")
add("--baseline", help="results.json of a baseline run (default: train one here)")
add("--coarse-train-size", type=int, help="coarse-grid examples (default: all)")
for name, (default, _, _, text) in BUDGETS.items():
    text += " (default: %(default)s)"
    add("--" + name.replace("_", "-"), type=type(default), default=default, help=text)


def check_flags(args):
    """Raises `runs.ArgumentError` for a flag out of range."""
    at_least = [
        (getattr(args, name) >= least, name.replace("_", "-"), f">= {least}")
        for name, (_, _, least, _) in BUDGETS.items()
    ]
    size, shortest = args.coarse_train_size, min(args.coarse_epochs, args.refine_epochs)
    runs.require(
        args,
        *at_least,
        (size is None or size >= 1, "coarse-train-size", ">= 1"),
        (
            args.warmup_epochs < min(shortest, args.epochs),
            "warmup-epochs",
            "below the shortest training run (--coarse-epochs, --refine-epochs, --epochs)",
        ),
    )
    if args.baseline is not None:
        report.read_baseline(args.baseline, argument="--baseline")


"""
`--quick` runs the whole procedure on `digits` (8x8 images, which the MLP
learns in seconds) with short searches: every step shows real learning in
about a minute, but one seed is a smoke test, not evidence.
"""

quick = {name: value[1] for name, value in BUDGETS.items() if value[1] is not None}
quick.update(dataset="digits", batch_size=32, epochs=3)
run = runs.start("playbook", parser, check=check_flags, quick=quick)
args = run.args
# KerasTuner runs gc.collect() around every trial; with TensorFlow loaded
# that scans millions of objects (~1.5 s a call here). Objects that exist
# now live until the end anyway: exempt them from the scans.
gc.freeze()

"""
## Data and model

`kerasrec.data.load` gives batched `tf.data` pipelines. The coarse grid
may train on the first `--coarse-train-size` examples only; by default it
trains on all of them, since on `shapes` a trial needs a few hundred steps
to leave the plateau (3 epochs of 5k images, 120 steps, left every trial at
chance). The model is the reference CNN for images of 16x16 pixels or more,
the MLP for `digits` (8x8), with no regularization of its own.
"""

load = functools.partial(data.load, args.dataset, batch_size=args.batch_size)
train, val, test, info = load(
    quick=args.quick, train_size=args.train_size, seed=args.seed
)
n_train = info.split_sizes["train"]
coarse_size = min(args.coarse_train_size or n_train, n_train)
if coarse_size < n_train:
    coarse_train = load(quick=args.quick, train_size=coarse_size, seed=args.seed)[0]
else:
    coarse_train = train
small = len(info.input_shape) < 3 or info.input_shape[0] < 16
model_name = "mlp" if small else "cnn"
build_model = functools.partial(
    models.build, model_name, info.input_shape, info.num_classes
)
run.record(dataset_info=info.to_dict(), model=model_name)
run.log(f"{info.name}: {info.split_sizes}, model {model_name}")
on_data = run.flags("dataset", "train_size", "batch_size", "quick")

"""
## Step 1: the initial loss

The untrained model on 10 batches, in training mode, without
regularization terms.
"""

initial = run.step(
    "step1_initial_loss",
    lambda: playbook.check_initial_loss(build_model(), train).to_dict(),
    **on_data,
)
run.log(f"step 1: {initial['message']}")

"""
## Step 2: overfit a small sample

Five batches, Adam at `--learning-rate`, no regularization, until 99%
training accuracy or `--overfit-epochs`.
"""

overfit_config = {
    "max_epochs": args.overfit_epochs,
    "learning_rate": args.learning_rate,
}
overfit = run.step(
    "step2_overfit",
    lambda: playbook.overfit_small_sample(
        build_model, train, **overfit_config
    ).to_dict(),
    **on_data,
    **overfit_config,
)
run.log(f"step 2: {overfit['message']}")

"""
## Step 3: the LR range test

The optimizer the searches tune, with a little decoupled weight decay
(1e-4), over `--lr-steps` batches of the whole training set.
"""

low, high = LR_RANGE[args.optimizer]
lr_config = {"optimizer": args.optimizer, "num_steps": args.lr_steps}
lr_config.update(min_learning_rate=low, max_learning_rate=high)
lr_test = run.step(
    "step3_lr_range_test",
    lambda: playbook.find_learning_rate(
        build_model, train, plot_path=run.file("step3_lr_range_test.png"), **lr_config
    ).to_dict(),
    **on_data,
    **lr_config,
)
suggested = lr_test["suggested_learning_rate"]
run.log(f"step 3: suggested learning rate {suggested:.3g} ({lr_test['stop_reason']})")

"""
## Step 4: the coarse grid

`--grid-points` learning rates from a tenth of the suggestion to ten
times it, times as many decoupled weight decays from 1e-5 to 1e-3, each
trained `--coarse-epochs` epochs at a constant learning rate after the
warmup. The tuner's project lives in the step's own folder (`workdir`):
a killed search resumes there, and other inputs get another folder.
"""

search = {"optimizer": args.optimizer, "warmup_epochs": args.warmup_epochs}
coarse_config = {"learning_rate": suggested, "grid_points": args.grid_points}
coarse_config.update(search, epochs=args.coarse_epochs)
coarse = run.step(
    "step4_coarse",
    lambda folder: playbook.coarse_search(
        build_model, coarse_train, val, directory=folder, **coarse_config
    ).to_dict(),
    workdir=True,
    **on_data,
    **coarse_config,
    coarse_train_size=coarse_size,
)
plots.plot_trials(
    coarse["table"], run.file("step4_coarse.png"), direction=coarse["direction"]
)
best_coarse = report.format_hyperparameters(coarse["best_hyperparameters"])
run.log(f"step 4: best of {len(coarse['table'])} trials {best_coarse}")

"""
## Step 5: refine

The ranges the three best coarse trials span (the best in the direction
of the tuner's objective: `narrow_ranges` is told it), widened by 2x on
each side and sampled at random; each trial trains longer, still at a
constant learning rate.
"""

ranges = playbook.narrow_ranges(coarse["table"], direction=coarse["direction"], top_k=3)
refine_config = {"max_trials": args.refine_trials, "epochs": args.refine_epochs}
refine_config.update(search, **ranges, seed=args.seed)
refine = run.step(
    "step5_refine",
    lambda folder: playbook.refine_search(
        build_model, train, val, directory=folder, **refine_config
    ).to_dict(),
    workdir=True,
    **on_data,
    **refine_config,
)
plots.plot_trials(
    refine["table"], run.file("step5_refine.png"), direction=refine["direction"]
)
chosen = refine["best_hyperparameters"]
run.log(
    f"step 5: best of {len(refine['table'])} {report.format_hyperparameters(chosen)}"
)

"""
## Step 6: read the learning curves

`kerasrec.diagnose` on the refinement's best trial: `train_longer` (train
and validation accuracy still rising together) says the final fit may
train longer than the trials did; `lr_too_high` or `diverged` would send
us back to step 5 with lower learning rates.
"""

best = playbook.best_trial(refine["table"], direction=refine["direction"])
findings = run.step(
    "step6_diagnosis",
    lambda: [f.to_dict() for f in playbook.diagnose_curves(best["history"])],
    history=best["history"],
)
run.log(f"step 6: {', '.join(f['code'] for f in findings)}")

"""
## Step 7: the final fit, against the constant-LR baseline

The chosen learning rate and decoupled weight decay, the warmup, then a
cosine decay over the rest of `--epochs` (half the baseline's budget by
default) and early stopping on validation accuracy (patience 3, best
weights restored; the best epoch is the one `EarlyStopping` kept). Once per
seed, like the baseline: Adam at a constant 1e-3 for `--baseline-epochs`
(`recipes/baseline.py`), unless `--baseline` gives the per-seed numbers of
an earlier baseline run.
"""

final_config = {"learning_rate": chosen["learning_rate"], "epochs": args.epochs}
final_config.update(search, weight_decay=chosen.get("weight_decay"), patience=PATIENCE)


def final_fit(seed):
    result = playbook.train_final(build_model, train, val, **final_config)
    test_loss, test_accuracy = result.model.evaluate(test, verbose=0)
    if seed == run.seed:
        run.save_model(result.model)
    found = [f.to_dict() for f in playbook.diagnose_curves(result.history)]
    return {
        "history": result.history,
        "best_epoch": result.best_epoch,
        "findings": found,
        "epochs": result.epochs,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
    }


def baseline_fit(seed):
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(BASELINE_LR),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(train, epochs=args.baseline_epochs, verbose=0)
    test_loss, test_accuracy = model.evaluate(test, verbose=0)
    return {
        "history": history.history,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
    }


final = run.repeat("step7_final", final_fit, **on_data, **final_config)
run.save_history(final[0]["history"], title=f"playbook: final fit ({info.name})")
tuned = [f["test_accuracy"] for f in final]
if args.baseline:
    baseline = report.read_baseline(args.baseline, argument="--baseline")
else:
    epochs = args.baseline_epochs
    per_seed = run.repeat(
        "baseline", baseline_fit, **on_data, epochs=epochs, lr=BASELINE_LR
    )
    source = f"trained here: Adam at {BASELINE_LR:g}, constant"
    baseline = {
        "test_accuracy": [b["test_accuracy"] for b in per_seed],
        "epochs": epochs,
    }
    baseline["source"] = source
run.log(
    f"step 7: test accuracy {runs.format_mean_sd(tuned)}; baseline "
    f"{runs.format_mean_sd(baseline['test_accuracy'])}"
)

"""
## Results

The claims: steps 1 and 2 pass their checks, and in step 7 the tuned model
beats the baseline's test accuracy by more than the seeds' spread (the
difference of the means exceeds the sum of the two standard deviations:
`run.check_difference`; with one seed that is a smoke test and does not
hold) in at most half its epochs.

`make results ONLY=playbook` runs it with `--seeds 3` in about 17
minutes, taking the baseline's three seeds from the `baseline-shapes`
entry (`--baseline`: the same recipe and seeds); RESULTS.md has its
numbers, step by step. On `shapes` the range test suggests about 0.24, the
refinement's best trials sit near 0.25-0.28, and warmup + cosine over 5
epochs beats the constant-LR baseline's 10 epochs in every seed; the
baseline's own spread (one of its seeds ends far below the others) is what the
claim has to exceed.
"""

run.check("step 1: the initial loss is about ln(C)", initial["ok"], initial["message"])
run.check(
    "step 2: the model memorizes 5 batches (>= 99% training accuracy)",
    overfit["reached"],
    overfit["message"],
)
run.check_difference(
    f"step 7: the tuned model ({args.epochs} epochs) beats the constant-LR baseline "
    f"({baseline['epochs']} epochs) in test accuracy",
    tuned,
    baseline["test_accuracy"],
    names=("tuned", "baseline"),
)
most = max(f["epochs"] for f in final)
run.check(
    "step 7: the tuned model trains at most half the baseline's epochs",
    most <= baseline["epochs"] / 2,
    f"tuned {most} epochs (the most over the seeds), baseline {baseline['epochs']}",
)
results = {"initial_loss": initial, "overfit": overfit, "lr_range_test": lr_test}
results.update(coarse=coarse, ranges=ranges, refine=refine, diagnosis=findings)
results.update(final=final, baseline=baseline)
settings = {**vars(args), "dataset": info.name, "train_examples": n_train}
settings.update(coarse_examples=coarse_size, refine_examples=n_train)
text = report.playbook_report(
    results,
    settings={**settings, "patience": PATIENCE},
    claims=run.claims,
    quick=args.quick,
)
run.save_text("report.md", text)
run.save_text("report.html", report.markdown_to_html(text, title="Tuning playbook"))
run.log(f"report: {run.file('report.md')}")
run.finish(
    {**report.playbook_metrics(results), "optimizer": args.optimizer},
    headline=f"{info.name}: tuned {args.optimizer} {report.format_hyperparameters(chosen)}: "
    f"{runs.format_mean_sd(tuned)} test in {most} epochs vs baseline "
    f"{runs.format_mean_sd(baseline['test_accuracy'])} in {baseline['epochs']}",
)
