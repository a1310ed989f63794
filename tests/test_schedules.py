"""Tests for kerasrec.schedules.

Every schedule is checked against a plain-Python reference formula at step 0,
the last warmup step, the first step after it, the middle, the end and past
the end; shared behaviour (monotone warmup, config round-trip, jit agreement,
saving) is parametrized over all of them.
"""

import inspect
import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import schedules
from kerasrec.schedules import Constant
from kerasrec.schedules import InverseSqrtDecay
from kerasrec.schedules import LinearDecay
from kerasrec.schedules import StepDecay
from kerasrec.schedules import Warmup

from fresh_process import run_python

REPO_ROOT = Path(__file__).resolve().parents[1]
CosineDecay = keras.optimizers.schedules.CosineDecay
CosineDecayRestarts = keras.optimizers.schedules.CosineDecayRestarts
NAMES = [
    "constant", "step", "cosine", "linear", "inverse_sqrt", "cosine_restarts"
]


def value(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def close(actual, expected):
    return math.isclose(actual, expected, rel_tol=1e-5, abs_tol=1e-8)


# Plain-Python reference formulas, written from the papers / Keras docs, not
# from kerasrec's code.


def ref_step(lr, boundaries, factor):
    return lambda s: lr * factor ** sum(1 for b in boundaries if b <= s)


def ref_linear(lr, decay_steps, end=0.0):
    return lambda s: lr + (end - lr) * min(s, decay_steps) / decay_steps


def ref_inverse_sqrt(lr, timescale):
    return lambda s: lr * math.sqrt(timescale / (s + timescale))


def ref_constant(lr):
    return lambda s: lr


def ref_cosine(lr, decay_steps, alpha=0.0):
    def f(s):
        s = min(s, decay_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * s / decay_steps))
        return lr * ((1 - alpha) * cosine + alpha)

    return f


def ref_cosine_restarts(lr, first_decay_steps, alpha=0.0):
    def f(s):
        fraction = s / first_decay_steps
        fraction -= math.floor(fraction)
        cosine = 0.5 * (1 + math.cos(math.pi * fraction))
        return lr * ((1 - alpha) * cosine + alpha)

    return f


def ref_warmup(ref, warmup_steps, start=0.0):
    def f(s):
        if s < warmup_steps:
            return start + (ref(0) - start) * s / warmup_steps
        return ref(s - warmup_steps)

    return f


def key_steps(warmup_steps, total_steps):
    """Step 0, last warmup step, first after it, middle, end, past the end."""
    steps = [0, total_steps // 2, total_steps - 1, total_steps]
    steps.append(total_steps + 37)
    if warmup_steps:
        steps += [warmup_steps - 1, warmup_steps, warmup_steps + 1]
    return sorted(set(steps))


# id -> (factory, reference, warmup_steps, total_steps)
CASES = {
    "step": (
        lambda: StepDecay(0.1, [30, 60, 90], factor=0.5),
        ref_step(0.1, [30, 60, 90], 0.5),
        0,
        100,
    ),
    "linear": (
        lambda: LinearDecay(0.1, 100, end_learning_rate=0.01),
        ref_linear(0.1, 100, 0.01),
        0,
        100,
    ),
    "inverse_sqrt": (
        lambda: InverseSqrtDecay(0.1, timescale=25),
        ref_inverse_sqrt(0.1, 25),
        0,
        100,
    ),
    "constant": (lambda: Constant(0.05), ref_constant(0.05), 0, 100),
    "warmup_cosine": (
        lambda: Warmup(CosineDecay(0.1, 90, alpha=0.1), 10),
        ref_warmup(ref_cosine(0.1, 90, 0.1), 10),
        10,
        100,
    ),
    "warmup_step_from_start": (
        lambda: Warmup(StepDecay(0.1, [30, 60]), 10, start_learning_rate=0.01),
        ref_warmup(ref_step(0.1, [30, 60], 0.1), 10, 0.01),
        10,
        100,
    ),
    "warmup_restarts": (
        lambda: Warmup(CosineDecayRestarts(0.1, 30, t_mul=1.0, m_mul=1.0), 10),
        ref_warmup(ref_cosine_restarts(0.1, 30), 10),
        10,
        100,
    ),
    "warmup_float": (
        lambda: Warmup(0.1, 10, start_learning_rate=0.02),
        ref_warmup(ref_constant(0.1), 10, 0.02),
        10,
        100,
    ),
    "warmup_inverse_sqrt": (
        lambda: Warmup(InverseSqrtDecay(0.1, 10), 10),
        ref_warmup(ref_inverse_sqrt(0.1, 10), 10),
        10,
        100,
    ),
}

# Boundaries of `get("step")` with the default milestones [0.3, 0.6, 0.9],
# computed by hand for a decay span of 100 and 90 steps.
_GET_STEP_BOUNDARIES = {0: [30, 60, 90], 10: [27, 54, 81]}


def get_reference(name, warmup_steps, total_steps=100, lr=0.1):
    span = total_steps - warmup_steps
    decay = {
        "constant": lambda: ref_constant(lr),
        "step": lambda: ref_step(lr, _GET_STEP_BOUNDARIES[warmup_steps], 0.1),
        "cosine": lambda: ref_cosine(lr, span),
        "linear": lambda: ref_linear(lr, span),
        "inverse_sqrt": lambda: ref_inverse_sqrt(lr, warmup_steps or 1),
        "cosine_restarts": lambda: ref_cosine_restarts(lr, span // 5),
    }[name]()
    return ref_warmup(decay, warmup_steps) if warmup_steps else decay


def get_schedule(name, warmup_steps):
    # 5 cycles divide both decay spans (100 and 90 steps).
    options = {"cycles": 5} if name == "cosine_restarts" else {}
    return schedules.get(
        name, learning_rate=0.1, total_steps=100, warmup_steps=warmup_steps, **options
    )


ALL_FACTORIES = {case: spec[0] for case, spec in CASES.items()}
for _name in NAMES:
    for _warmup in (0, 10):
        ALL_FACTORIES[f"get_{_name}_w{_warmup}"] = (
            lambda n=_name, w=_warmup: get_schedule(n, w)
        )


# ---------------------------------------------------------------------------
# Values against the reference formulas.


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference(case):
    factory, reference, warmup_steps, total_steps = CASES[case]
    schedule = factory()
    for step in key_steps(warmup_steps, total_steps):
        assert close(value(schedule, step), reference(step)), (case, step)


@pytest.mark.parametrize("warmup_steps", [0, 10])
@pytest.mark.parametrize("name", NAMES)
def test_get_matches_reference(name, warmup_steps):
    schedule = get_schedule(name, warmup_steps)
    assert isinstance(schedule, Warmup) == (warmup_steps > 0)
    reference = get_reference(name, warmup_steps)
    for step in key_steps(warmup_steps, 100):
        assert close(value(schedule, step), reference(step)), (name, step)


def test_get_builds_the_documented_classes():
    kinds = {
        "constant": Constant,
        "step": StepDecay,
        "cosine": CosineDecay,
        "linear": LinearDecay,
        "inverse_sqrt": InverseSqrtDecay,
        "cosine_restarts": CosineDecayRestarts,
    }
    for name, kind in kinds.items():
        assert type(get_schedule(name, 0)) is kind
        wrapped = get_schedule(name, 10)
        assert type(wrapped.schedule) is kind
        assert wrapped.warmup_steps == 10
        assert wrapped.start_learning_rate == 0.0
    restarts = get_schedule("cosine_restarts", 10).schedule.get_config()
    assert restarts["first_decay_steps"] == 90 // 5
    assert restarts["t_mul"] == 1.0 and restarts["m_mul"] == 1.0


def test_get_options():
    total, warmup = 110, 10
    cases = [
        (
            "step",
            {"milestones": [0.5, 0.75], "factor": 0.5},
            ref_step(0.2, [50, 75], 0.5),
        ),
        ("cosine", {"alpha": 0.1}, ref_cosine(0.2, 100, 0.1)),
        ("linear", {"end_learning_rate": 0.02}, ref_linear(0.2, 100, 0.02)),
        ("inverse_sqrt", {"timescale": 7}, ref_inverse_sqrt(0.2, 7)),
        (
            "cosine_restarts",
            {"cycles": 4, "alpha": 0.1},
            ref_cosine_restarts(0.2, 25, 0.1),
        ),
    ]
    for name, options, decay in cases:
        schedule = schedules.get(
            name,
            learning_rate=0.2,
            total_steps=total,
            warmup_steps=warmup,
            **options,
        )
        reference = ref_warmup(decay, warmup)
        steps = key_steps(warmup, total) + [warmup + 49, warmup + 50, 109]
        for step in steps:
            assert close(value(schedule, step), reference(step)), (name, step)


def test_step_decay_boundary_is_inclusive():
    schedule = StepDecay(1.0, [3, 5], factor=0.5)
    values = [value(schedule, s) for s in range(7)]
    assert values == [1, 1, 1, 0.5, 0.5, 0.25, 0.25]


def test_step_decay_exact_for_large_int_steps():
    # float32 cannot tell 2**24 + 1 from 2**24; the comparison is done in the
    # step's integer dtype.
    schedule = StepDecay(1.0, [2**24 + 1], factor=0.5)
    assert value(schedule, tf.constant(2**24, tf.int64)) == 1.0
    assert value(schedule, tf.constant(2**24 + 1, tf.int64)) == 0.5


def test_warmup_matches_keras_cosine_decay_warmup():
    # Keras's CosineDecay warms up from `initial_learning_rate` to
    # `warmup_target`, then decays from `warmup_target`: its
    # `initial_learning_rate` is our `start_learning_rate`.
    for start in (0.0, 0.01):
        ours = Warmup(
            CosineDecay(0.1, 90, alpha=0.1), 10, start_learning_rate=start
        )
        theirs = CosineDecay(
            start, 90, alpha=0.1, warmup_target=0.1, warmup_steps=10
        )
        for step in range(0, 121, 3):
            assert close(value(ours, step), value(theirs, step)), (start, step)


def test_warmup_works_on_optimizer_iterations():
    schedule = Warmup(CosineDecay(0.1, 90), 10)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    optimizer.iterations.assign(5)
    assert close(float(optimizer.learning_rate), 0.05)
    optimizer.iterations.assign(55)
    assert close(float(optimizer.learning_rate), ref_cosine(0.1, 90)(45))


def test_epochs_to_steps():
    assert schedules.epochs_to_steps(5, 390) == 1950
    assert schedules.epochs_to_steps(0.5, 3) == 2  # 1.5 rounds up
    assert schedules.epochs_to_steps(0.1, 3) == 1  # at least one step
    assert schedules.epochs_to_steps(0, 3) == 0
    assert schedules.epochs_to_steps(np.int64(2), np.int64(10)) == 20
    assert isinstance(schedules.epochs_to_steps(2.0, 10), int)


# ---------------------------------------------------------------------------
# Shared behaviour, parametrized over every schedule.


WARMUP_CASES = [c for c, spec in sorted(CASES.items()) if spec[2]] + [
    f"get_{name}_w10" for name in NAMES
]


@pytest.mark.parametrize("case", WARMUP_CASES)
def test_warmup_is_monotone(case):
    schedule = ALL_FACTORIES[case]()
    warmup_steps = schedule.warmup_steps
    values = [value(schedule, s) for s in range(warmup_steps + 1)]
    assert values[0] == pytest.approx(schedule.start_learning_rate)
    assert all(b >= a for a, b in zip(values, values[1:])), values
    assert values[-1] > values[0]
    # The warmup ends exactly at the wrapped schedule's step-0 value.
    inner = schedule.schedule
    peak = inner if isinstance(inner, float) else value(inner, 0)
    assert close(values[-1], peak)


@pytest.mark.parametrize("case", sorted(ALL_FACTORIES))
def test_config_round_trip(case):
    schedule = ALL_FACTORIES[case]()
    config = schedule.get_config()
    json.dumps(config)  # JSON-ready, as .keras files need.
    if type(schedule).__module__ == schedules.__name__:
        # get_config() returns exactly the constructor arguments.
        params = inspect.signature(type(schedule).__init__).parameters
        assert set(config) == set(params) - {"self"}
    restored = type(schedule).from_config(config)
    by_name = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
    )
    assert type(by_name) is type(schedule)
    for step in (0, 5, 9, 10, 11, 50, 100, 137):
        expected = value(schedule, step)
        assert value(restored, step) == pytest.approx(expected, rel=1e-7)
        assert value(by_name, step) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("case", sorted(ALL_FACTORIES))
def test_jit_compile_agrees_with_eager(case):
    schedule = ALL_FACTORIES[case]()
    # The optimizer calls the schedule with its int64 `iterations`.
    compiled = tf.function(lambda step: schedule(step), jit_compile=True)
    for step in (0, 9, 10, 11, 50, 100, 137):
        jitted = float(compiled(tf.constant(step, tf.int64)))
        assert close(jitted, value(schedule, step)), (case, step)


# ---------------------------------------------------------------------------
# Saving: a compiled model reloads in a fresh process with no custom_objects.

SGD = keras.optimizers.SGD
Adam = keras.optimizers.Adam
SAVE_CASES = {
    "step_sgd": (lambda: StepDecay(0.1, [3, 6]), SGD),
    "linear_adam": (lambda: LinearDecay(0.01, 20), Adam),
    "inverse_sqrt_sgd": (lambda: InverseSqrtDecay(0.1, 4), SGD),
    "constant_adam": (lambda: Constant(0.01), Adam),
    "warmup_cosine_sgd": (lambda: Warmup(CosineDecay(0.1, 20), 5), SGD),
    "warmup_float_adam": (lambda: Warmup(0.01, 5, 0.001), Adam),
    "get_restarts_sgd": (
        lambda: schedules.get(
            "cosine_restarts",
            learning_rate=0.1,
            total_steps=25,
            warmup_steps=5,
        ),
        SGD,
    ),
}
SAVE_STEPS = [0, 4, 5, 6, 13, 25, 40]
SAVED_ITERATIONS = 7

_LOAD_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})
import keras
import kerasrec.schedules  # registers the classes; no custom_objects below
out = {{}}
for name, path in {paths!r}.items():
    model = keras.saving.load_model(path)
    optimizer = model.optimizer
    row = {{
        "class": optimizer.get_config()["learning_rate"].get("class_name"),
        "iterations": int(keras.ops.convert_to_numpy(optimizer.iterations)),
        "lr_now": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
    }}
    for step in {steps!r}:
        optimizer.iterations.assign(step)
        row[str(step)] = float(
            keras.ops.convert_to_numpy(optimizer.learning_rate)
        )
    out[name] = row
print(json.dumps(out))
"""




@pytest.fixture(scope="module")
def reloaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    paths, expected = {}, {}
    for name, (factory, optimizer_class) in SAVE_CASES.items():
        schedule = factory()
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(
            optimizer=optimizer_class(learning_rate=schedule), loss="mse"
        )
        model.optimizer.build(model.trainable_variables)
        model.optimizer.iterations.assign(SAVED_ITERATIONS)
        paths[name] = str(folder / f"{name}.keras")
        model.save(paths[name])
        expected[name] = {
            "class": type(schedule).__name__,
            "lr_now": value(schedule, SAVED_ITERATIONS),
            **{str(s): value(schedule, s) for s in SAVE_STEPS},
        }
    script = _LOAD_SCRIPT.format(
        repo=str(REPO_ROOT), paths=paths, steps=SAVE_STEPS
    )
    return run_python(script, cwd=folder), expected


@pytest.mark.parametrize("name", sorted(SAVE_CASES))
def test_saved_model_reloads_in_fresh_process(reloaded, name):
    loaded, expected = reloaded
    row, want = loaded[name], expected[name]
    assert row["class"] == want["class"]
    assert row["iterations"] == SAVED_ITERATIONS
    assert row["lr_now"] == pytest.approx(want["lr_now"], rel=1e-6)
    for step in SAVE_STEPS:
        assert row[str(step)] == pytest.approx(want[str(step)], rel=1e-6), step


# ---------------------------------------------------------------------------
# tf.distribute: a short fit under MirroredStrategy with 2 logical CPUs.

_MIRRORED_SCRIPT = """
import json, sys
sys.path.insert(0, {repo!r})
import tensorflow as tf
# Logical devices must be configured before TF initializes: hence a subprocess.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras
import numpy as np
from kerasrec import schedules
from kerasrec.callbacks import LearningRateLogger

keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
schedule = schedules.Warmup(
    schedules.get("cosine", learning_rate=0.1, total_steps=8), warmup_steps=4
)
with strategy.scope():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    # jit_compile=True fails here (InvalidArgumentError on CPU under a
    # strategy); the default "auto" resolves to False under a strategy.
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse"
    )
x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
y = x.sum(axis=1, keepdims=True)
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)  # 4 steps per epoch
history = model.fit(data, epochs=3, verbose=0, callbacks=[LearningRateLogger()])
print(json.dumps({{
    "replicas": strategy.num_replicas_in_sync,
    "iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
    "learning_rate": history.history["learning_rate"],
    "loss": history.history["loss"],
}}))
"""


def test_mirrored_strategy_fit_logs_schedule_values(tmp_path):
    out = run_python(_MIRRORED_SCRIPT.format(repo=str(REPO_ROOT)), cwd=tmp_path)
    assert out["replicas"] == 2
    assert out["iterations"] == 12
    reference = ref_warmup(ref_cosine(0.1, 8), 4)
    expected = [reference(4), reference(8), reference(12)]  # 0.1, 0.05, 0.0
    assert out["learning_rate"] == pytest.approx(expected, rel=1e-6, abs=1e-8)
    assert all(math.isfinite(loss) for loss in out["loss"])


# ---------------------------------------------------------------------------
# Settable learning rate: what Keras 3 does, and the early check.


def _tiny_model(learning_rate):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mse",
    )
    return model


def test_keras_refuses_to_set_a_scheduled_learning_rate():
    # Pins the Keras behaviour that the module docstring documents.
    model = _tiny_model(StepDecay(0.1, [5]))
    with pytest.raises(TypeError, match="not settable"):
        model.optimizer.learning_rate = 0.01
    x = np.zeros((8, 2), "float32")
    y = np.zeros((8, 1), "float32")
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr)
    with pytest.raises(TypeError, match="not settable"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[scheduler])
    # ReduceLROnPlateau only fails at its first plateau.
    reduce = keras.callbacks.ReduceLROnPlateau(patience=0)
    reduce.set_model(model)
    reduce.on_train_begin()
    reduce.on_epoch_end(0, {"val_loss": 1.0})
    with pytest.raises(TypeError, match="not settable"):
        reduce.on_epoch_end(1, {"val_loss": 2.0})


def test_check_settable_learning_rate():
    schedules.check_settable_learning_rate(
        keras.optimizers.SGD(learning_rate=0.1), "ReduceLROnPlateau"
    )
    for optimizer in (
        keras.optimizers.SGD(learning_rate=StepDecay(0.1, [5])),
        keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(learning_rate=CosineDecay(0.1, 10))
        ),
    ):
        with pytest.raises(ValueError, match="ReduceLROnPlateau.*not settable"):
            schedules.check_settable_learning_rate(
                optimizer, "ReduceLROnPlateau"
            )


# ---------------------------------------------------------------------------
# Bad input: ValueError naming the argument.

def _get(name, learning_rate=0.1, total_steps=10, **kwargs):
    return schedules.get(
        name, learning_rate=learning_rate, total_steps=total_steps, **kwargs
    )


BAD_INPUTS = [
    (lambda: StepDecay(0.0, [10]), "`initial_learning_rate`"),
    (lambda: StepDecay(-0.1, [10]), "`initial_learning_rate`"),
    (lambda: StepDecay(0.1, [20, 10]), "`boundaries`.*strictly increasing"),
    (lambda: StepDecay(0.1, [10, 10]), "`boundaries`.*strictly increasing"),
    (lambda: StepDecay(0.1, [0, 10]), "`boundaries`"),
    (lambda: StepDecay(0.1, []), "`boundaries`"),
    (lambda: StepDecay(0.1, 10), "`boundaries`"),
    (lambda: StepDecay(0.1, [10], factor=0.0), "`factor`"),
    (lambda: StepDecay(0.1, [10], factor=1.5), "`factor`"),
    (lambda: StepDecay(0.1, [10], factor=-0.1), "`factor`"),
    (lambda: LinearDecay(0.0, 10), "`initial_learning_rate`"),
    (lambda: LinearDecay(0.1, 0), "`decay_steps`"),
    (lambda: LinearDecay(0.1, -5), "`decay_steps`"),
    (lambda: LinearDecay(0.1, 10.5), "`decay_steps`"),
    (lambda: LinearDecay(0.1, 10, -0.1), "`end_learning_rate`"),
    (lambda: InverseSqrtDecay(-1.0, 10), "`initial_learning_rate`"),
    (lambda: InverseSqrtDecay(0.1, 0), "`timescale`"),
    (lambda: InverseSqrtDecay(0.1, -3), "`timescale`"),
    (lambda: Constant(0.0), "`learning_rate`"),
    (lambda: Constant(float("nan")), "`learning_rate`"),
    (lambda: Warmup("cosine", 10), "`schedule`"),
    (lambda: Warmup(lambda step: 0.1, 10), "`schedule`"),
    (lambda: Warmup(-0.1, 10), "`schedule`"),
    (lambda: Warmup(0.1, 0), "`warmup_steps`"),
    (lambda: Warmup(0.1, -1), "`warmup_steps`"),
    (lambda: Warmup(0.1, 10, -0.1), "`start_learning_rate`"),
    (
        lambda: _get("cosine", total_steps=100, warmup_steps=500),
        "^Argument `warmup_steps` must be < `total_steps`. "
        "Received: warmup_steps=500, total_steps=100$",
    ),
    (
        lambda: _get("cosine", total_steps=100, warmup_steps=100),
        "`warmup_steps` must be < `total_steps`",
    ),
    (lambda: _get("cosine", learning_rate=0.0), "`learning_rate`"),
    (lambda: _get("cosine", total_steps=0), "`total_steps`"),
    (
        lambda: _get("cosine", total_steps=10, warmup_steps=-1),
        "`warmup_steps`",
    ),
    (
        lambda: _get("inverse_sqrt", total_steps=10, timescale=0),
        "`timescale`",
    ),
    (
        lambda: _get("step", total_steps=10, factor=2.0),
        "`factor`",
    ),
    (
        lambda: _get("step", total_steps=10, milestones=[0.6, 0.3]),
        "`milestones`",
    ),
    (
        lambda: _get("step", total_steps=10, milestones=[0.5, 1.5]),
        "`milestones`",
    ),
    (
        lambda: _get("cosine_restarts", total_steps=10, cycles=0),
        "`cycles`",
    ),
    (
        lambda: _get("cosine_restarts", total_steps=10, cycles=11),
        "`cycles`",
    ),
    (
        lambda: _get("cosine_restarts", total_steps=10, cycles=3),
        "`cycles` must divide the decay span",
    ),
    (lambda: _get("cosine", total_steps=10, alpha=2.0), "`alpha`"),
    (lambda: schedules.epochs_to_steps(-1, 10), "`epochs`"),
    (lambda: schedules.epochs_to_steps("3", 10), "`epochs`"),
    (lambda: schedules.epochs_to_steps(float("nan"), 10), "`epochs`"),
    (lambda: schedules.epochs_to_steps(3, 0), "`steps_per_epoch`"),
    (lambda: schedules.epochs_to_steps(3, 2.5), "`steps_per_epoch`"),
    (lambda: schedules.epochs_to_steps(3, True), "`steps_per_epoch`"),
]


@pytest.mark.parametrize("make, message", BAD_INPUTS)
def test_bad_input_raises_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="`name`") as info:
        _get("cosinus")
    for name in NAMES:
        assert repr(name) in str(info.value)


def test_unknown_option_lists_allowed_options():
    with pytest.raises(ValueError, match="milestones") as info:
        _get("cosine", total_steps=100, milestones=[0.5])
    assert "Allowed options for 'cosine': ['alpha']" in str(info.value)
    message = r"Allowed options for 'constant': \[\]"
    with pytest.raises(ValueError, match=message):
        _get("constant", alpha=0.1)
