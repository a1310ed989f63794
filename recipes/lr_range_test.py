"""
Title: The learning-rate range test: one short run suggests the learning rate
Description: LR range test (LRFinder) on shapes, checked against a sweep of constant learning rates.
Lecture section: 1. Choosing hyperparameters (step 3: find an LR that makes the loss drop fast)
Run: make recipe-lr-range-test   (make recipe-lr-range-test ARGS="--optimizer adam")
"""

"""
## Introduction

Step 3 of the lecture's procedure: before any grid, find a learning rate that
makes the loss drop significantly, on all the data. The learning-rate range
test (Smith 2017, "Cyclical learning rates for training neural networks";
fast.ai's `lr_find`) does it in one short run: raise the learning rate
exponentially from small to huge, one step per batch, record the loss of
every batch, and stop when the loss explodes. The loss first does nothing
(the learning rate is too small to move the weights), then falls, then
explodes; a good learning rate lies where it falls fastest.

`kerasrec.callbacks.LRFinder` is the callback, and
`kerasrec.lr_range.lr_range_test(model, dataset)` the one-call version that
also puts the model's weights back. This recipe checks the claim that makes
the test worth running: **its suggestion lies within 3x of the best constant
learning rate that a sweep finds** at many times the cost. On `shapes`
with the reference CNN (`kerasrec.models.build_cnn`) and SGD + momentum 0.9:

1. The range test: `--range-steps` batches (600, about four epochs: Smith
   runs it for "several epochs"), the learning rate from
   `--min-learning-rate` (1e-3) to `--max-learning-rate` (10), read by each
   of `LRFinder.suggestion`'s methods: `valley` (fast.ai's default: half-way
   down the longest falling stretch of the smoothed loss), `steepest` (the
   steepest fall against log(lr)) and `minimum` (fast.ai's older rule: the
   learning rate of the lowest smoothed loss, divided by 10).
2. Two sweeps: the same model from the same initial weights, trained at
   each of `--sweep-learning-rates` (6 values from 0.0464 to 2.15, a factor
   of 2.15 apart, so that "within 3x" is resolved) for `--epochs` (5)
   epochs of 157 batches, once at a constant learning rate from the first
   step and once after a linear warmup over `--warmup-epochs` (1).
3. The claims: `suggestion / best` between 1/3 and 3, for each method and
   each sweep.

`shapes` is a hard case for the test, for two reasons measured while
writing this recipe (below, under Results). The initial loss, about 2.7, is
above chance (ln 10 = 2.30), and the first few hundred updates at a small
learning rate only bring it down to chance: a drop that the steepest rule
takes for learning if the test starts too low (from 1e-5 it suggested
3e-4), hence `--min-learning-rate 1e-3`, where that drop falls inside the
skipped first 10% of the batches. And the CNN sits on a plateau at chance
for about 300 steps from its initial weights, so a test of fewer steps
sees no learning at all: 150 steps from 1e-5 to 10 gave a curve that only
fell from 2.6 to 2.4 (BatchNorm keeps even lr=10 from exploding). The same
plateau is why the warmup matters, below.

### Judging the sweep

Five epochs take every run off the plateau, but validation accuracy still
swings by several points from one epoch to the next (BatchNorm statistics
at a high learning rate). The sweep is judged instead by the **training
loss of the last `--tail-batches` (50) batches of each run**, averaged: how
far each learning rate brought the loss within the budget, the quantity the
range test itself watches. The validation loss and accuracy of every run are
recorded next to it, so the table shows whether they agree.

Every run resumes: the range test and each finished sweep run are saved in
the run folder (`range_test.json`, `sweep.json`, `sweep_warmup.json`) with
the settings they depend on, and a rerun with the same `--out` and flags
reuses them. The whole default run takes about 20 minutes on two idle CPU
cores (600 + 12 x 785 batches).
"""

"""
## Setup
"""

import io
import json
import math
import time

import keras
import matplotlib
import numpy as np

from kerasrec import callbacks, data, models, plots, runs, schedules

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CLAIM_FACTOR = 3.0  # "within 3x of the best constant learning rate"
# Six values a factor 10 ** (1 / 3) = 2.15 apart, 0.0464 to 2.15 (SGD), 4.64e-4 to 2.15e-2 (Adam).
DEFAULT_SWEEP = {
    "sgd": [float(f"{v:.3g}") for v in np.logspace(-4 / 3, 1 / 3, 6)],
    "adam": [float(f"{v:.3g}") for v in np.logspace(-10 / 3, -5 / 3, 6)],
}
QUICK_TRAIN_SIZE = 1024
QUICK_RANGE_STEPS = 40
METHODS = ("valley", "steepest", "minimum")


def main():
    # --epochs is the length of each sweep run; --learning-rate only the
    # optimizer's starting value, which the range test overwrites and restores.
    parser = runs.make_parser(__doc__, epochs=5, batch_size=128, learning_rate=0.01)
    add = parser.add_argument
    add("--optimizer", choices=["sgd", "adam"], default="sgd",
        help="SGD with momentum 0.9, or Adam (default: %(default)s)")
    add("--min-learning-rate", type=float, default=1e-3,
        help="first learning rate of the range test (default: %(default)s)")
    add("--max-learning-rate", type=float, default=10.0,
        help="last learning rate of the range test (default: %(default)s)")
    add("--range-steps", type=int, default=600,
        help="batches of the range test, at most (default: %(default)s)")
    add("--smoothing", type=float, default=0.95,
        help="beta of the range test's smoothed loss (default: %(default)s)")
    add("--method", choices=METHODS, default="valley",
        help="how the suggestion is read off the curve, for the headline "
        "(default: %(default)s; all are checked)")
    add("--sweep-learning-rates", type=float, nargs="+", default=None,
        help="the constant learning rates of the sweeps (default: 6 values a factor "
        "2.15 apart, 0.0464 to 2.15 for SGD, 4.64e-4 to 2.15e-2 for Adam)")
    add("--warmup-epochs", type=float, default=1.0,
        help="the second sweep raises each learning rate linearly from 0 over this "
        "many epochs, below --epochs (default: %(default)s)")
    add("--tail-batches", type=int, default=50,
        help="the sweep is judged by the mean training loss of each run's last "
        "batches (default: %(default)s)")
    args = parser.parse_args()
    run = runs.start("lr-range-test", args)  # caps --epochs with --quick
    if args.sweep_learning_rates is None:
        args.sweep_learning_rates = DEFAULT_SWEEP[args.optimizer]
    if args.quick:
        # A smoke run of every code path on a few batches: the numbers mean nothing.
        args.train_size = min(args.train_size or QUICK_TRAIN_SIZE, QUICK_TRAIN_SIZE)
        args.range_steps = min(args.range_steps, QUICK_RANGE_STEPS)
        lrs = sorted(args.sweep_learning_rates)
        args.sweep_learning_rates = sorted({lrs[0], lrs[-1]})
        args.tail_batches = min(args.tail_batches, 4)
        args.warmup_epochs = min(args.warmup_epochs, args.epochs / 2)
    args.sweep_learning_rates = sorted(set(args.sweep_learning_rates))
    check_flags(args)

    """
    ## Data and model

    `fresh_start()` resets the seed, reloads the pipelines and builds a new
    reference CNN before every run, so the range test and every sweep run
    start from the same initial weights and see the batches in the same
    order: the learning rate is the only difference.
    """

    def fresh_start():
        keras.utils.set_random_seed(args.seed)
        train, val, _, info = data.load(
            args.dataset, batch_size=args.batch_size, quick=args.quick,
            train_size=args.train_size, seed=args.seed,
        )
        return train, val, models.build_cnn(info.input_shape, info.num_classes), info

    def make_optimizer(learning_rate):
        if args.optimizer == "sgd":
            return keras.optimizers.SGD(learning_rate, momentum=0.9)
        return keras.optimizers.Adam(learning_rate)

    *_, info = fresh_start()
    steps_per_epoch = info.steps_per_epoch
    sweep_steps = args.epochs * steps_per_epoch
    tail = min(args.tail_batches, sweep_steps)
    run.record(dataset_info=info.to_dict(), steps_per_epoch=steps_per_epoch,
               sweep_steps=sweep_steps, tail_batches=tail,
               sweep_learning_rates=args.sweep_learning_rates, range_steps=args.range_steps)
    run.log(f"{info.name}: {info.split_sizes}, {info.num_classes} classes; range test "
            f"{args.range_steps} steps, 2 sweeps of {len(args.sweep_learning_rates)} x "
            f"{sweep_steps} steps ({args.optimizer})")

    """
    ## 1. The range test

    `LRFinder` in an ordinary `fit` over the repeated training data: before
    batch `i` it sets the learning rate to `min * (max / min) ** (i /
    (steps - 1))`, after it records the batch's loss and its bias-corrected
    moving average, and it stops training once that smoothed loss exceeds
    4x its lowest value. The model comes compiled with the optimizer it will
    train with (the learning rate given to it is overwritten at every batch
    and put back at the end), and afterwards holds its initial weights and
    optimizer state again, which the recipe checks.
    `kerasrec.lr_range.lr_range_test(model, train)` does the same in one call.

    The moving average lags the raw losses by about `smoothing / (1 -
    smoothing)` batches: 19 at `--smoothing 0.95`, an eighth of a decade of
    learning rate when 600 steps span 4 decades (a factor 1.3). With
    fast.ai's 0.98 over 100 steps the lag would be half the test, and the
    steepest point of the smoothed curve would sit far too high.
    """
    range_settings = settings(
        args, info, optimizer=args.optimizer, min_learning_rate=args.min_learning_rate,
        max_learning_rate=args.max_learning_rate, num_steps=args.range_steps,
        smoothing=args.smoothing,
    )
    saved = run.load_json("range_test.json")
    if saved is not None and saved.get("settings") == range_settings:
        range_test = saved
        run.log("range test: reusing range_test.json")
    else:
        train, _, model, _ = fresh_start()
        model.compile(optimizer=make_optimizer(args.learning_rate),
                      loss="sparse_categorical_crossentropy")
        initial = [w.copy() for w in model.get_weights()]
        finder = callbacks.LRFinder(
            min_learning_rate=args.min_learning_rate, max_learning_rate=args.max_learning_rate,
            num_steps=args.range_steps, smoothing=args.smoothing,
        )
        start = time.time()
        model.fit(train.repeat(), epochs=1, steps_per_epoch=args.range_steps, verbose=0,
                  callbacks=[finder])
        seconds = time.time() - start
        restored = all(np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))
        range_test = {
            "settings": range_settings,
            "learning_rates": finder.learning_rates,
            "losses": finder.losses,
            "smoothed_losses": finder.smoothed_losses,
            "stop_reason": finder.stop_reason,
            "suggestions": {m: suggestion(finder, m) for m in METHODS},
            "weights_restored": restored,
            "seconds": seconds,
        }
        run.save_json("range_test.json", range_test)
        run.log(f"range test: {len(finder.losses)} batches in {seconds:.0f} s, stopped: "
                f"{finder.stop_reason}; suggestions {range_test['suggestions']}")
    suggestions = range_test["suggestions"]

    """
    ## 2. Two sweeps of constant learning rates

    One run per learning rate, `--epochs` epochs over the training data at a
    constant learning rate, then one evaluation on the validation set; twice:

    - **from the start**: the learning rate is constant from the first step;
    - **after a warmup**: it rises linearly from 0 over the first
      `--warmup-epochs` (1) epoch, then stays constant
      (`kerasrec.schedules.Warmup(kerasrec.schedules.Constant(lr), steps)`).

    The range test raises the learning rate slowly from a small value, so it
    only ever applies a high learning rate to a network that has already
    trained a while at lower ones: its ramp is itself a warmup. The second
    sweep trains the way the test measures; the first shows what a constant
    learning rate from the initial weights can use.
    `kerasrec.callbacks.BatchLoss` records each batch's own training loss: Keras logs the
    running mean of the epoch, weighted by batch size, and the callback
    undoes the mean (see its docstring).
    """
    warmup_steps = schedules.epochs_to_steps(args.warmup_epochs, steps_per_epoch)
    sweeps = {}
    for variant, warmup in (("from the start", 0), ("after a warmup", warmup_steps)):
        sweeps[variant] = run_sweep(
            run, args, info, fresh_start, make_optimizer, tail, warmup,
            "sweep.json" if warmup == 0 else "sweep_warmup.json", save_best=warmup > 0,
        )
    best = {v: min(sweep, key=lambda lr: rank(sweep[lr]["final_train_loss"]))
            for v, sweep in sweeps.items()}
    best_lr = best["after a warmup"]
    run.save_history(sweeps["after a warmup"][best_lr]["history"],
                     title=f"best constant learning rate after a warmup: {best_lr:g}")

    """
    ## Plots

    `lr_range_test.png`: the range test's curve (`kerasrec.plots.plot_lr_range_test`)
    with the three suggestions and both sweeps' best learning rates marked.
    `lr_sweep.png` (after a warmup) and `lr_sweep_from_start.png`: each
    sweep's final training and validation losses against the learning rate,
    with the same marks, and every run's smoothed training loss batch by
    batch.
    """
    plots.plot_lr_range_test(
        range_test["learning_rates"], as_floats(range_test["losses"]), as_floats(range_test["smoothed_losses"]),
        run.file("lr_range_test.png"),
        marks={**{f"{m} {lr:.3g}": lr for m, lr in suggestions.items() if lr is not None},
               **{f"best {v} {lr:g}": lr for v, lr in best.items()}},
        title=f"LR range test, {args.optimizer} ({info.name}, {len(range_test['losses'])} batches)",
    )
    for variant, name in (("after a warmup", "lr_sweep.png"), ("from the start", "lr_sweep_from_start.png")):
        plot_sweep(sweeps[variant], suggestions, best[variant], run.file(name),
                   title=f"Constant LR {variant}, {args.optimizer}, {sweep_steps} steps "
                   f"({info.name})")

    """
    ## Results

    The table of each sweep, then the claims: each suggestion against the
    best learning rate of each sweep. If a best learning rate is at an end
    of the grid the true best may lie beyond it; the evidence says so.

    What the full default run gave (`make results ONLY=lr-range-test`, 27
    minutes on two busy CPU cores; RESULTS.md has every number):

    - The range test (600 batches, 1e-3 to 10, no stop: BatchNorm kept the
      loss below 4x its minimum) suggested **0.591 (valley)**, 1.96
      (steepest) and 0.575 (minimum).
    - After a one-epoch warmup, the training loss of the last 50 of 785
      batches (validation accuracy): 0.0464 gives 0.291 (64.2%), 0.1 0.148
      (78.4%), 0.215 0.145 (95.9%), **0.464 0.115 (93.2%)**, 1 0.209 (82.0%),
      2.15 0.444 (76.1%). The valley suggestion is 1.27x the best, minimum
      1.24x: **the claim holds for both**; steepest is 4.2x too high.
    - From the start (no warmup): 0.0464 gives 0.337 (88.7%), **0.1 0.202
      (86.1%)**, 0.215 0.989 (58.1%), 0.464 1.03 (40.5%), and 1 and 2.15
      never leave chance (2.32, 2.34; 10%). Every suggestion is 5.8x (or
      more) too high.

    So the suggestion is a learning rate for a network that is already
    training. The exponential ramp of the test is itself a warmup: by the
    time it reaches lr 0.5 the network has left the `shapes` plateau at
    smaller learning rates, and there 0.5 trains well; from the initial
    weights at 0.46 it never leaves it in time. With a warmup the
    suggestion holds, and the warmup is worth it: 95.9% validation accuracy
    in 5 epochs (at 0.215) against at most 88.7% without one. The
    playbook (`recipes/tuning_playbook.py`) therefore warms up every run
    that uses the suggestion. On `digits`, where there is no plateau, the
    test and a sweep from the start agree. With `--dataset digits
    --batch-size 32 --epochs 3 --range-steps 100 --min-learning-rate 1e-5
    --smoothing 0.9 --sweep-learning-rates 0.01 0.0215 0.0464 0.1 0.215
    0.464 1` (the earlier version of this recipe, steepest and minimum
    only, under a minute) the range test diverged after 98 batches and
    suggested 0.0285 (steepest) and 0.0404 (minimum); the sweep's best of
    102 steps was 0.0464: ratios 0.61 and 0.87.
    """
    for variant, sweep in sweeps.items():
        print(f"sweep {variant}:", flush=True)
        print_table(sweep, best[variant], suggestions, tail)
    for variant in ("after a warmup", "from the start"):
        sweep, lr_best = sweeps[variant], best[variant]
        lrs = sorted(sweep)
        edge = "; the best is at the end of the grid, the true best may lie beyond" if (
            lr_best in (lrs[0], lrs[-1])) else ""
        for m in (args.method, *[x for x in METHODS if x != args.method]):
            claim = (f"the range test's {m} suggestion lies within {CLAIM_FACTOR:g}x of the "
                     f"best constant learning rate {variant} (by final training loss)")
            lr = suggestions[m]
            if lr is None:
                run.check(claim, False, "the range test recorded too few points to suggest "
                          "a learning rate")
                continue
            ratio = lr / lr_best
            run.check(claim, 1 / CLAIM_FACTOR <= ratio <= CLAIM_FACTOR,
                      f"suggestion {lr:.3g}, best {lr_best:g} (train loss "
                      f"{sweep[lr_best]['final_train_loss']:.4f}), ratio {ratio:.2f}{edge}")
    run.check(
        "the range test leaves the model as it found it (the initial weights are restored)",
        range_test["weights_restored"],
        "weights equal to the initial ones" if range_test["weights_restored"]
        else "weights differ from the initial ones",
    )

    suggested = suggestions[args.method]
    metrics = {
        "optimizer": args.optimizer,
        "suggested_learning_rate": suggested,
        "method": args.method,
        **{f"{m}_learning_rate": lr for m, lr in suggestions.items()},
        "best_after_warmup": best["after a warmup"],
        "best_from_start": best["from the start"],
        "ratio_after_warmup": None if suggested is None else suggested / best["after a warmup"],
        "ratio_from_start": None if suggested is None else suggested / best["from the start"],
        "warmup_steps": warmup_steps,
        "range_test_batches": len(range_test["losses"]),
        "range_test_stop_reason": range_test["stop_reason"],
        "range_test_seconds": range_test["seconds"],
        "sweep_steps_per_run": sweep_steps,
        "sweep_seconds": sum(r["seconds"] for sw in sweeps.values() for r in sw.values()),
    }
    for variant, sweep in sweeps.items():  # the sweep tables
        short = "warmup" if variant == "after a warmup" else "start"
        for lr, r in sweep.items():
            for field in ("final_train_loss", "val_loss", "val_accuracy"):
                metrics[f"{short}/lr={lr:g}/{field}"] = r[field]
    headline = (
        f"{info.name}, {args.optimizer}: range test suggests "
        f"{'nothing' if suggested is None else f'{suggested:.3g}'} ({args.method}, "
        f"{range_test['seconds']:.0f} s); best constant LR after a warmup "
        f"{best['after a warmup']:g}, from the start {best['from the start']:g} "
        f"({metrics['sweep_seconds']:.0f} s)"
    )
    if args.quick:
        headline = "quick smoke run, the numbers mean nothing: " + headline
    run.finish(metrics, headline=headline)


def run_sweep(run, args, info, fresh_start, make_optimizer, tail, warmup_steps, filename,
              save_best=False):
    """Trains one run per learning rate (resuming from `filename`); `{lr: entry}`.

    With `save_best`, the model of the run with the lowest final training
    loss so far becomes the run folder's `model.keras`.
    """
    sweep_settings = settings(args, info, optimizer=args.optimizer, epochs=args.epochs,
                              tail_batches=tail, warmup_steps=warmup_steps)
    label = f"sweep (warmup {warmup_steps} steps)"
    done = {key: from_json(r) for key, r in run.load_json(filename, {}).items()
            if r.get("settings") == sweep_settings}
    for lr in args.sweep_learning_rates:
        key = f"{lr:g}"
        if key in done:
            run.log(f"{label} lr={key}: reusing {filename}")
            continue
        train, val, model, _ = fresh_start()
        schedule = schedules.Constant(lr)
        if warmup_steps:
            schedule = schedules.Warmup(schedule, warmup_steps)
        model.compile(optimizer=make_optimizer(schedule), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        recorder = callbacks.BatchLoss(args.batch_size, info.split_sizes["train"])
        start = time.time()
        history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=0,
                            callbacks=[recorder]).history
        seconds = time.time() - start
        entry = {
            "settings": sweep_settings,
            "learning_rate": lr,
            "final_train_loss": tail_mean(recorder.losses, tail),
            "val_loss": float(history["val_loss"][-1]),
            "val_accuracy": float(history["val_accuracy"][-1]),
            "batch_losses": recorder.losses,
            "history": history,
            "seconds": seconds,
        }
        best = min((rank(r["final_train_loss"]) for r in done.values()), default=None)
        if save_best and (best is None or rank(entry["final_train_loss"]) < best):
            run.save_model(model)
        done[key] = entry
        run.save_json(filename, done)
        run.log(f"{label} lr={key}: train loss (last {tail} batches) "
                f"{entry['final_train_loss']:.4f}, val loss {entry['val_loss']:.4f}, "
                f"val accuracy {entry['val_accuracy']:.3f} ({seconds:.0f} s)")
    return {lr: done[f"{lr:g}"] for lr in args.sweep_learning_rates}


"""
## The pieces used above
"""


def suggestion(finder, method):
    """The finder's suggestion by `method`, or None if it has too few points."""
    try:
        return finder.suggestion(method)
    except ValueError as error:
        print(f"no {method} suggestion: {error}", flush=True)
        return None


def tail_mean(losses, tail):
    """Mean of the last `tail` losses (NaN if any of them is not finite)."""
    return float(np.mean(losses[-tail:]))


def as_floats(values):
    """JSON turns non-finite floats into strings ("nan"); this turns them back."""
    return [float(v) for v in values]


def from_json(entry):
    """A sweep run as `sweep.json` gives it back, with its floats restored."""
    entry = dict(entry)
    for field in ("final_train_loss", "val_loss", "val_accuracy"):
        entry[field] = float(entry[field])
    entry["batch_losses"] = as_floats(entry["batch_losses"])
    entry["history"] = {k: as_floats(v) for k, v in entry["history"].items()}
    return entry


def rank(loss):
    """A loss to minimize, with NaN (a diverged run) ranked worst."""
    return loss if not math.isnan(loss) else math.inf


def smooth(values, beta=0.9):
    """Bias-corrected exponential moving average, for the sweep's curves."""
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta**i))
    return out


def plot_sweep(sweep, suggestions, best_lr, path, title):
    """Final losses against the learning rate, and each run's loss curve."""
    lrs = list(sweep)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    train = [sweep[lr]["final_train_loss"] for lr in lrs]
    val = [sweep[lr]["val_loss"] for lr in lrs]
    left.plot(lrs, train, "o-", label="train loss, last batches")
    left.plot(lrs, val, "s--", label="validation loss")
    finite = [v for v in train + val if math.isfinite(v)]
    if finite:
        low, high = min(finite), min(max(finite), 3 * min(finite) + 1)
        left.set_ylim(low - 0.05 * (high - low + 1e-3), high + 0.1 * (high - low + 1e-3))
    for (label, lr), color in zip(
        [*((f"{m} suggestion {lr:.3g}", lr) for m, lr in suggestions.items() if lr is not None),
         (f"sweep best {best_lr:g}", best_lr)],
        ("tab:red", "tab:green", "black"),
    ):
        left.axvline(lr, color=color, ls=":", lw=1.2, label=label)
    left.set_xscale("log")
    left.set_xlabel("learning rate")
    left.set_ylabel("loss")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=7)
    for lr in lrs:
        curve = np.asarray(smooth(sweep[lr]["batch_losses"]), dtype=float)
        curve[~np.isfinite(curve)] = np.nan
        right.plot(np.arange(1, len(curve) + 1), curve, label=f"lr={lr:g}")
    first = sweep[lrs[0]]["batch_losses"][0]
    if math.isfinite(first):
        right.set_ylim(top=1.3 * first)
    right.set_xlabel("batch")
    right.set_ylabel("training loss, smoothed")
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    runs.write_atomic(path, buffer.getvalue())
    return path


def print_table(sweep, best_lr, suggestions, tail):
    lines = [f"{'lr':>8} {'train loss':>10} {'val loss':>9} {'val acc':>8}",
             f"{'':>8} {f'(last {tail})':>10}"]
    for lr, r in sweep.items():
        mark = "  <- best" if lr == best_lr else ""
        lines.append(f"{lr:>8g} {r['final_train_loss']:>10.4f} {r['val_loss']:>9.4f} "
                     f"{r['val_accuracy']:>8.3f}{mark}")
    for m, lr in suggestions.items():
        lines.append(f"range test, {m}: " + ("no suggestion" if lr is None else f"{lr:.3g}"))
    print("\n".join(lines), flush=True)


def settings(args, info, **more):
    """What a saved result depends on, as JSON gives it back: reused only if equal."""
    return json.loads(json.dumps({
        "dataset": args.dataset, "split_sizes": info.split_sizes,
        "batch_size": args.batch_size, "seed": args.seed, **more,
    }))


def check_flags(args):
    for name in ("min_learning_rate", "max_learning_rate"):
        value = getattr(args, name)
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(
                f"Argument `--{name.replace('_', '-')}` must be a finite number > 0. "
                f"Received: {name}={value}"
            )
    if not args.max_learning_rate > args.min_learning_rate:
        raise ValueError(
            "Argument `--max-learning-rate` must be > `--min-learning-rate`. "
            f"Received: min_learning_rate={args.min_learning_rate}, "
            f"max_learning_rate={args.max_learning_rate}"
        )
    if args.range_steps < 2:
        raise ValueError(
            "Argument `--range-steps` must be an integer >= 2. "
            f"Received: range_steps={args.range_steps}"
        )
    if not 0 <= args.smoothing < 1:
        raise ValueError(
            f"Argument `--smoothing` must be in [0, 1). Received: smoothing={args.smoothing}"
        )
    if not 0 < args.warmup_epochs < args.epochs:
        raise ValueError(
            "Argument `--warmup-epochs` must be > 0 and < `--epochs`. "
            f"Received: warmup_epochs={args.warmup_epochs}, epochs={args.epochs}"
        )
    if args.tail_batches <= 0:
        raise ValueError(
            "Argument `--tail-batches` must be a positive integer. "
            f"Received: tail_batches={args.tail_batches}"
        )
    if any(not (lr > 0 and math.isfinite(lr)) for lr in args.sweep_learning_rates):
        raise ValueError(
            "Argument `--sweep-learning-rates` must be finite numbers > 0. "
            f"Received: sweep_learning_rates={args.sweep_learning_rates}"
        )


if __name__ == "__main__":
    runs.main(main)
