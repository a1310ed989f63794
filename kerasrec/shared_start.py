"""Comparing learning-rate schedules from a shared start.

On data whose first steps are a plateau near chance of seed-dependent
length (our `shapes`: ~300 steps), schedules compared from the initial
weights measure which run left the plateau first, not which schedule is
better: a schedule that decays while the network is still on the plateau
keeps it there longer. `compare_schedules` removes that: for each seed it
trains one *shared start* (a linear warmup, then the peak learning rate, for
`start_epochs`) and, from the start's weights, each schedule with a fresh
optimizer for the remaining epochs. The runs of one seed then differ only in
what the lecture compares: whether the learning rate decays once the network
learns. `ScheduleComparison.gains` compares them seed by seed.

Every run is a step of the recipe's `kerasrec.runs.Run`: a rerun with the
same run folder reuses each finished run whose settings did not change.

```python
comparison = shared_start.compare_schedules(
    run, build_model, load,
    name="sgd",
    optimizer=lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    learning_rate=0.3,
    schedules=["constant", "cosine"],
    epochs=8, start_epochs=5, steps_per_epoch=79,
)
comparison.gains("cosine")   # cosine - constant test accuracy, per seed
```
"""

import math
import time

import keras

from kerasrec import callbacks, schedules as _schedules
from kerasrec._checks import ArgumentError, check_int, check_positive_int, check_range
from kerasrec.stats import mean_sd

__all__ = ["ScheduleComparison", "compare_schedules", "paired_differences"]


def paired_differences(a, b):
    """`a[i] - b[i]` for runs paired by seed; `None` where either is `None`.

    Args:
        a, b: Lists of numbers (or `None`, a diverged run) of equal length.

    Returns:
        A list of floats (or `None`).
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ArgumentError(
            "Arguments `a` and `b` must have one value per seed each, as many in both. "
            f"Received: len(a)={len(a)}, len(b)={len(b)}"
        )
    return [None if x is None or y is None else x - y for x, y in zip(a, b)]


class ScheduleComparison:
    """What `compare_schedules` trained: the starts and every schedule's runs.

    Attributes:
        name: the comparison's name (its steps' prefix).
        seeds: the seeds, in order.
        start: list of the shared starts' results, one per seed.
        results: dict, schedule name -> list of results, one per seed. Each
            result holds `history`, `test_accuracy`, `test_loss`,
            `val_accuracy` (the last epoch's), `seconds` and `weights` (the
            path of the run's final weights).
        schedules: dict, schedule name -> the `LearningRateSchedule` it
            trained after the start (its step 0 is the start's end).
        start_schedule: the start's schedule (warmup, then constant).
        start_steps: the start's length in optimizer steps.
    """

    def __init__(self, name, seeds, start, results, built, start_schedule, start_steps):
        self.name = name
        self.seeds = list(seeds)
        self.start = start
        self.results = results
        self.schedules = built
        self.start_schedule = start_schedule
        self.start_steps = start_steps

    def _runs(self, schedule):
        if schedule not in self.results:
            raise ArgumentError(
                f"Argument `schedule` must be one of {sorted(self.results)}. "
                f"Received: schedule={schedule!r}"
            )
        return self.results[schedule]

    def values(self, schedule, field="test_accuracy"):
        """`field` of each seed's run under `schedule`, in seed order."""
        return [r[field] for r in self._runs(schedule)]

    def mean(self, schedule, field="val_accuracy"):
        """The mean of `field` over the seeds (`None` if a run diverged)."""
        return mean_sd(self.values(schedule, field))["mean"]

    def best_decay(self):
        """The decaying schedule with the highest mean validation accuracy.

        Chosen on validation accuracy, so that the test set does not pick
        it; a schedule whose runs diverged ranks last.
        """
        decays = [n for n in self.results if n != "constant"]
        return max(decays, key=lambda n: self.mean(n) or -math.inf)

    def gains(self, schedule, field="test_accuracy", *, over="constant", lower_is_better=False):
        """Seed by seed, how much `schedule` beats `over` in `field`.

        `field` of `schedule` minus that of `over` (the other way round
        with `lower_is_better=True`, e.g. for `"test_loss"`): the runs of
        one seed share their start, so their difference does not carry
        how long that seed's start stayed on the plateau.
        """
        a, b = self.values(schedule, field), self.values(over, field)
        return paired_differences(b, a) if lower_is_better else paired_differences(a, b)

    def start_accuracy(self):
        """Each seed's validation accuracy at the end of its shared start."""
        return [r["val_accuracy"] for r in self.start]

    def learning_rate(self, schedule):
        """`step -> learning rate` over the whole run: the start, then `schedule`."""
        self._runs(schedule)
        then = self.schedules[schedule]

        def at(step):
            if step < self.start_steps:
                return float(self.start_schedule(step))
            return float(then(step - self.start_steps))

        return at

    def history(self, schedule, seed_index=0):
        """One seed's epoch logs over the whole run: the start's, then the schedule's."""
        first, then = (
            self.start[seed_index]["history"],
            self._runs(schedule)[seed_index]["history"],
        )
        return {key: first[key] + then[key] for key in first if key in then}


def _fit(build_model, load, seed, optimizer, schedule, epochs, weights, folder, label):
    train, validation, test, _ = load(seed)
    model = build_model()
    if weights:
        model.load_weights(weights)
    model.compile(
        optimizer=optimizer(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.time()
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=0,
        callbacks=[callbacks.LearningRateLogger()],
    ).history
    test_loss, test_accuracy = model.evaluate(test, verbose=0)
    result = dict(history=history, test_accuracy=test_accuracy, test_loss=test_loss)
    result.update(val_accuracy=history["val_accuracy"][-1], seconds=time.time() - start)
    result["weights"] = f"{folder}/final.weights.h5"
    model.save_weights(result["weights"])
    print(
        f"{label} seed {seed}: validation accuracy {result['val_accuracy']:.3f}, "
        f"test {test_accuracy:.3f}",
        flush=True,
    )
    return result


def compare_schedules(
    run,
    build_model,
    load,
    *,
    name,
    optimizer,
    learning_rate,
    schedules,
    epochs,
    start_epochs,
    steps_per_epoch,
    warmup_epochs=1.0,
    inputs=None,
):
    """Trains a shared start per seed, then each schedule from its weights.

    For each of `run.seeds`: the start, `schedules.get("constant",
    learning_rate=learning_rate, warmup_steps=...)` for `start_epochs`;
    then, from its weights and with a fresh `optimizer(schedule)`, each
    schedule `schedules.get(name, learning_rate=learning_rate,
    total_steps=...)` for the remaining `epochs - start_epochs` epochs: the
    same number of optimizer steps for every schedule, with `"constant"`
    keeping the peak and the others decaying from it. Models are compiled
    with sparse categorical cross-entropy and accuracy, and every run's
    epoch logs include its learning rate (`callbacks.LearningRateLogger`).

    Args:
        run: the recipe's `kerasrec.runs.Run`; each start and each
            schedule's run of a seed is one of its steps,
            `"<name>/start/seed<s>"` and `"<name>/<schedule>/seed<s>"`.
        build_model: callable returning a fresh, uncompiled
            `keras.Model`.
        load: callable, `load(seed) -> (train, validation, test, info)`
            (as `kerasrec.data.load`): called anew by every run, so that a
            run's batches do not depend on which runs came before it.
        name: str. The comparison's name, e.g. the optimizer's.
        optimizer: callable, `optimizer(schedule) -> keras.optimizers.Optimizer`.
        learning_rate: float > 0. The peak learning rate.
        schedules: list of names `kerasrec.schedules.get` knows, with
            `"constant"` and at least one decay.
        epochs: int. The length of every run, the start included.
        start_epochs: int, > 0 and < `epochs`. The shared start.
        steps_per_epoch: int > 0. Optimizer steps an epoch.
        warmup_epochs: float, >= 0 and < `start_epochs`. The start's linear
            warmup. Defaults to `1.0`.
        inputs: dict. Anything else the runs depend on (the data flags),
            recorded with every step. Defaults to `None`.

    Returns:
        A `ScheduleComparison`.
    """
    for arg, value in (
        ("build_model", build_model),
        ("load", load),
        ("optimizer", optimizer),
    ):
        if not callable(value):
            raise ArgumentError(f"Argument `{arg}` must be callable. Received: {arg}={value!r}")
    if not isinstance(name, str) or not name:
        raise ArgumentError(f"Argument `name` must be a non-empty string. Received: name={name!r}")
    check_range("learning_rate", learning_rate, 0)
    check_positive_int("steps_per_epoch", steps_per_epoch)
    check_positive_int("epochs", epochs)
    check_int("start_epochs", start_epochs, 1)
    if start_epochs >= epochs:
        raise ArgumentError(
            "Argument `start_epochs` must be below `epochs`. "
            f"Received: start_epochs={start_epochs}, epochs={epochs}"
        )
    check_range("warmup_epochs", warmup_epochs, 0, start_epochs, low_open=False)
    names = list(schedules) if isinstance(schedules, (list, tuple)) else None
    known = sorted(_schedules.NAMES)
    if (
        not names
        or "constant" not in names
        or len(set(names)) < 2
        or any(n not in known for n in names)
    ):
        raise ArgumentError(
            "Argument `schedules` must be a list of schedule names with 'constant' and a "
            f"decaying one, from {known}. Received: schedules={schedules!r}"
        )
    names = list(dict.fromkeys(names))
    to_steps = lambda n: _schedules.epochs_to_steps(n, steps_per_epoch)  # noqa: E731
    start_steps, total_steps = to_steps(start_epochs), to_steps(epochs)
    begin = _schedules.get(
        "constant",
        learning_rate=learning_rate,
        total_steps=start_steps,
        warmup_steps=to_steps(warmup_epochs),
    )
    serialize = keras.saving.serialize_keras_object
    common = dict(inputs or {}, optimizer=name, start_epochs=start_epochs)
    starts = [
        run.step(
            f"{name}/start/seed{s}",
            lambda folder, s=s: _fit(
                build_model,
                load,
                s,
                optimizer,
                begin,
                start_epochs,
                None,
                folder,
                f"{name} start",
            ),
            workdir=True,
            seed=s,
            schedule=serialize(begin),
            **common,
        )
        for s in run.seeds
    ]
    built, results = {}, {}
    for schedule in names:
        built[schedule] = _schedules.get(
            schedule, learning_rate=learning_rate, total_steps=total_steps - start_steps
        )
        results[schedule] = [
            run.step(
                f"{name}/{schedule}/seed{s}",
                lambda folder, s=s, start=start: _fit(
                    build_model,
                    load,
                    s,
                    optimizer,
                    built[schedule],
                    epochs - start_epochs,
                    start["weights"],
                    folder,
                    f"{name} {schedule}",
                ),
                workdir=True,
                seed=s,
                schedule=serialize(built[schedule]),
                start=serialize(begin),
                epochs=epochs,
                **common,
            )
            for s, start in zip(run.seeds, starts)
        ]
    return ScheduleComparison(name, run.seeds, starts, results, built, begin, start_steps)
