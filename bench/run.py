"""Benchmarks, as ratios against plain Keras measured in the same run.

    make bench                      all benchmarks
    make bench ARGS="--only pipeline --repeats 5"

Writes `runs/bench/bench.json` and `runs/bench/bench.md` (a table) and
prints the table. `make results` copies it into RESULTS.md.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kerasrec import runs  # noqa: E402


def _median_rate(fn, examples, repeats):
    """Median examples/second of `fn()` over `repeats` timed calls."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(examples / (time.perf_counter() - start))
    return statistics.median(rates)


def bench_pipeline(repeats, quick):
    """Input pipeline examples/s against the reference CNN's training examples/s.

    Both on the same `shapes` training pipeline (batch 128), after a warm-up
    (the cache filled, the train step traced). Goal: the pipeline is at least
    10x faster than training, so it is never the bottleneck.
    """
    import keras

    from kerasrec import data, models

    train, _, _, info = data.load("shapes", batch_size=128, quick=quick)
    n = info.split_sizes["train"]

    def one_epoch():
        for _ in train:
            pass

    one_epoch()  # fills the cache
    pipeline_rate = _median_rate(one_epoch, n, repeats)

    model = models.build_cnn(info.input_shape, info.num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    steps = 10 if quick else 30
    batches = train.repeat()
    fit = lambda: model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0)  # noqa: E731
    fit()  # traces the train step
    train_rate = _median_rate(fit, steps * info.batch_size, repeats)
    ratio = pipeline_rate / train_rate
    return {
        "name": "pipeline",
        "what": "shapes input pipeline (batch 128, cached)",
        "against": "reference CNN training on the same batches",
        "value": round(pipeline_rate),
        "baseline": round(train_rate),
        "unit": "examples/s",
        "ratio": round(ratio, 1),
        "goal": ">= 10x",
        "holds": ratio >= 10,
    }


def bench_schedule_overhead(repeats, quick):
    """Step cost of kerasrec's warmup, cosine and `LearningRateLogger` against Keras's own.

    The same reference CNN (same initial weights), the same batches (a fixed
    slice of the `shapes` training pipeline, cached, so the input pipeline
    adds no noise), Adam with the same learning rates: kerasrec's
    `Warmup(CosineDecay)` from `schedules.get("cosine", warmup_steps=...)`
    plus `callbacks.LearningRateLogger()` (one scalar read per epoch), against
    Keras's own `CosineDecay(0.0, ..., warmup_target=lr, warmup_steps=...)`,
    which computes the same values, with no callback. Each model is compiled
    once and warmed up (train step traced, batches cached); each timed sample
    is a `fit` of several epochs of a fixed number of steps. Every repeat
    times the variants in the order A B B A, so that drift in the machine's
    load hits both alike, and the value is the median over the samples.

    The measure is the CPU time of this process per step (all its threads):
    on a shared machine the wall-clock step time swings by 2x with the load
    of other processes (measured here: 104 to 257 ms for the same step),
    while the work the process does varies by a few percent. The wall-clock
    medians are reported too (`wall_value`, `wall_baseline`). Goal: the
    kerasrec variant costs at most 3% more per step.
    """
    import keras

    from kerasrec import callbacks, data, models, schedules

    learning_rate, warmup_steps, total_steps = 1e-3, 30, 10_000
    steps, epochs = (5, 2) if quick else (15, 4)
    train, _, _, info = data.load("shapes", batch_size=128, quick=quick)
    batches = train.take(steps).cache().repeat()

    def compiled(schedule):
        keras.utils.set_random_seed(0)  # the same initial weights for both
        model = models.build_cnn(info.input_shape, info.num_classes)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    variants = {
        "kerasrec": (
            compiled(schedules.get("cosine", learning_rate=learning_rate,
                                   total_steps=total_steps, warmup_steps=warmup_steps)),
            [callbacks.LearningRateLogger()],
        ),
        "keras": (
            compiled(keras.optimizers.schedules.CosineDecay(
                0.0, total_steps - warmup_steps,
                warmup_target=learning_rate, warmup_steps=warmup_steps,
            )),
            [],
        ),
    }
    samples = {name: {"cpu": [], "wall": []} for name in variants}

    def fit(name):
        model, cbs = variants[name]
        wall, cpu = time.perf_counter(), time.process_time()
        history = model.fit(batches, epochs=epochs, steps_per_epoch=steps, callbacks=cbs, verbose=0)
        samples[name]["cpu"].append((time.process_time() - cpu) / (epochs * steps))
        samples[name]["wall"].append((time.perf_counter() - wall) / (epochs * steps))
        if name == "kerasrec" and len(history.history.get("learning_rate", [])) != epochs:
            raise RuntimeError("LearningRateLogger did not log the learning rate every epoch")

    for name in variants:  # warm-up: trace the train step, fill the cache
        fit(name)
        samples[name] = {"cpu": [], "wall": []}
    for _ in range(repeats):
        for name in ("kerasrec", "keras", "keras", "kerasrec"):
            fit(name)
    ms = {
        name: {clock: statistics.median(values) * 1000 for clock, values in by_clock.items()}
        for name, by_clock in samples.items()
    }
    ours, theirs = round(ms["kerasrec"]["cpu"], 2), round(ms["keras"]["cpu"], 2)
    ratio = round(ours / theirs, 3)
    return {
        "name": "schedule_overhead",
        "what": "reference CNN step, Adam + kerasrec Warmup(cosine) + LearningRateLogger",
        "against": "same step, Adam + keras CosineDecay(warmup_target=...)",
        "value": ours,
        "baseline": theirs,
        "unit": "CPU ms/step",
        "ratio": ratio,
        "goal": "<= 1.03x",
        "holds": ratio <= 1.03,
        "wall_value": round(ms["kerasrec"]["wall"], 2),
        "wall_baseline": round(ms["keras"]["wall"], 2),
    }


BENCHMARKS = {"pipeline": bench_pipeline, "schedule_overhead": bench_schedule_overhead}


def format_table(rows):
    lines = [
        "| benchmark | measured | against (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['what']}: {r['value']} {r['unit']} "
            f"| {r['against']}: {r['baseline']} {r['unit']} "
            f"| {r['ratio']}x | {r['goal']} | {'yes' if r['holds'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help=f"comma-separated subset of {sorted(BENCHMARKS)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, for tests")
    parser.add_argument("--out", default=os.path.join("runs", "bench"))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    if args.repeats <= 0:
        parser.error(f"--repeats must be a positive integer, got {args.repeats}")
    rows = [BENCHMARKS[name](args.repeats, args.quick) for name in names]
    report = {
        "benchmarks": rows,
        "machine": runs.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": "make bench" + (f" ARGS='{' '.join(argv or sys.argv[1:])}'" if (argv or sys.argv[1:]) else ""),
    }
    runs.write_atomic(os.path.join(args.out, "bench.json"), json.dumps(report, indent=2) + "\n")
    table = format_table(rows)
    runs.write_atomic(os.path.join(args.out, "bench.md"), table + "\n")
    print(table)
    return report


if __name__ == "__main__":
    main()
