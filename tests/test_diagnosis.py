"""Tests for kerasrec.diagnosis.

Synthetic curves for every pattern (and for curves that must not trigger
one), short real runs on `digits` (or synthetic data) built to show each
pattern, and bad input.
"""

import dataclasses
import json
import math

import keras
import numpy as np
import pytest

import kerasrec
from kerasrec.callbacks import LearningRateLogger
from kerasrec.diagnosis import CODES
from kerasrec.diagnosis import Finding
from kerasrec.diagnosis import diagnose
from kerasrec.diagnosis import format_findings
from kerasrec.schedules import StepDecay


def codes(history, **kwargs):
    return [f.code for f in diagnose(history, **kwargs)]


def finding(history, code, **kwargs):
    found = {f.code: f for f in diagnose(history, **kwargs)}
    assert code in found, f"{code} not in {list(found)}"
    return found[code]


# ---------------------------------------------------------------------------
# Synthetic curves, one per pattern.

T = np.arange(20, dtype=float)


def healthy():
    """Fast fall, then converged: val flat at the end, small gap."""
    return {
        "loss": list(0.05 + 2.25 * np.exp(-T / 2.5)),
        "val_loss": list(0.2 + 2.1 * np.exp(-T / 2.5)),
        "accuracy": list(0.99 - 0.89 * np.exp(-T / 2)),
        "val_accuracy": list(0.95 - 0.85 * np.exp(-T / 2)),
        "learning_rate": [1e-3] * 20,
    }


def bad_initialization():
    """Five epochs at ln(10), then a drop to a good fit."""
    t = np.arange(10, dtype=float)
    loss = [2.303, 2.302, 2.303, 2.301, 2.298] + list(0.1 + 1.6 * np.exp(-t[:10] / 1.5))
    return {"loss": loss}


def lr_too_high():
    """Falls, then a noisy plateau at 0.9 from epoch 3; accuracy stuck at 0.7."""
    noise = [0.0, 0.02, -0.02, 0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01]
    loss = [2.3, 1.2, 0.95] + [0.9 + e for e in noise]
    accuracy = [0.4, 0.62, 0.68] + [0.7 - e for e in noise]
    return {
        "loss": loss,
        "accuracy": accuracy,
        "val_loss": [v + 0.03 for v in loss],
        "val_accuracy": [a - 0.02 for a in accuracy],
    }


def decayed_too_early():
    """Still falling fast when the LR drops 100x at epoch 5; then flat."""
    loss = [2.3, 1.6, 1.2, 0.95, 0.7, 0.69, 0.685, 0.682, 0.68, 0.679, 0.678, 0.678]
    return {
        "loss": loss,
        "accuracy": [0.3, 0.6, 0.75, 0.85, 0.92, 0.925, 0.927, 0.928, 0.929, 0.93, 0.93, 0.93],
        "learning_rate": [0.1] * 4 + [0.001] * 8,
    }


def train_longer():
    """Train and val accuracy rising in step until the last epoch."""
    t = np.arange(10, dtype=float)
    return {
        "loss": list(1.5 - 0.12 * t),
        "val_loss": list(1.55 - 0.12 * t),
        "accuracy": list(0.6 + 0.038 * t),
        "val_accuracy": list(0.58 + 0.038 * t),
    }


def overfitting():
    """Train accuracy to 1, val stuck at 0.8; val loss lowest at epoch 8."""
    t = np.arange(20, dtype=float)
    val_loss = list(0.6 + 1.7 * np.exp(-t[:8] / 2)) + list(0.66 + 0.03 * (t[8:] - 8))
    return {
        "loss": list(0.01 + 2.29 * np.exp(-t / 3)),
        "val_loss": val_loss,
        "accuracy": list(1.0 - 0.9 * np.exp(-t / 3)),
        "val_accuracy": list(0.8 - 0.7 * np.exp(-t / 2)),
    }


def underfitting():
    """Both accuracies level off near 0.45."""
    t = np.arange(15, dtype=float)
    return {
        "loss": list(1.6 + 0.7 * np.exp(-t / 3)),
        "val_loss": list(1.62 + 0.7 * np.exp(-t / 3)),
        "accuracy": list(0.45 - 0.3 * np.exp(-t / 3)),
        "val_accuracy": list(0.44 - 0.3 * np.exp(-t / 3)),
    }


def diverged():
    return {"loss": [2.3, 1.5, 1.1, 9.0, float("nan"), float("nan")]}


PATTERNS = {
    "bad_initialization": bad_initialization,
    "lr_too_high": lr_too_high,
    "decayed_too_early": decayed_too_early,
    "train_longer": train_longer,
    "overfitting": overfitting,
    "underfitting": underfitting,
    "diverged": diverged,
}


def test_codes_are_the_contract():
    assert CODES == (
        "bad_initialization",
        "lr_too_high",
        "decayed_too_early",
        "train_longer",
        "overfitting",
        "underfitting",
        "diverged",
        "healthy",
    )
    assert set(PATTERNS) | {"healthy"} == set(CODES)


def test_healthy_curve_gives_only_healthy():
    findings = diagnose(healthy())
    assert [f.code for f in findings] == ["healthy"]
    assert "20 epochs" in findings[0].evidence
    assert "skipped" not in findings[0].data
    assert findings[0].data["val_accuracy"] == pytest.approx(0.95, abs=1e-3)


@pytest.mark.parametrize("code", sorted(PATTERNS))
def test_each_synthetic_pattern_is_recognised(code):
    found = codes(PATTERNS[code]())
    assert code in found
    assert "healthy" not in found
    assert found == [c for c in CODES if c in found]  # in the order of CODES


def test_bad_initialization_evidence():
    f = finding(bad_initialization(), "bad_initialization")
    assert f.data["flat_epochs"] == 5
    assert f.data["drop_epoch"] == 6
    assert f.data["initial_loss"] == pytest.approx(2.303)
    assert "first 5 epochs" in f.evidence and "2.3" in f.evidence
    assert "epoch 6" in f.evidence
    # Only three flat epochs with flat_epochs=6: not this pattern.
    assert "bad_initialization" not in codes(bad_initialization(), flat_epochs=6)


def test_lr_too_high_evidence_and_underfitting_alongside():
    found = diagnose(lr_too_high())
    assert [f.code for f in found] == ["lr_too_high", "underfitting"]
    f = found[0]
    assert f.data["plateau_epoch"] <= 4
    assert f.data["plateau_loss"] == pytest.approx(0.9, abs=0.02)
    assert f.data["train_accuracy"] == pytest.approx(0.7, abs=0.02)
    assert "0.9" in f.evidence and "0.7" in f.evidence
    assert "lower" in f.advice.lower() and "decay" in f.advice


def test_lr_too_high_from_the_loss_alone_uses_high_loss():
    history = {"loss": lr_too_high()["loss"]}
    f = finding(history, "lr_too_high")
    assert f.data["plateau_to_initial"] == pytest.approx(0.9 / 2.3, abs=0.01)
    assert "39%" in f.evidence
    # A plateau at 39% of the initial loss is not high if high_loss=0.5.
    assert "lr_too_high" not in codes(history, high_loss=0.5)


def test_lr_too_high_is_not_a_slow_steady_fall():
    # Regression: a loss still clearly falling in the second half (a tiny
    # model learning slowly) was taken for a plateau.
    t = np.arange(12, dtype=float)
    history = {"loss": list(1.65 + 0.65 * np.exp(-t / 3) - 0.012 * t)}
    assert "lr_too_high" not in codes(history)


def test_decayed_too_early_evidence():
    f = finding(decayed_too_early(), "decayed_too_early")
    assert f.data["decay_epoch"] == 5
    assert f.data["lr_before"] == pytest.approx(0.1)
    assert f.data["lr_after"] == pytest.approx(0.001)
    assert f.data["loss_before"] == pytest.approx(0.95)
    assert f.data["flat_epochs"] >= 7
    assert "0.1 -> 0.001" in f.evidence and "epochs 4 and 5" in f.evidence
    assert "later" in f.advice
    # The flat tail after a decay is not taken for an LR that is too high.
    assert "lr_too_high" not in codes(decayed_too_early())


def test_decay_after_a_plateau_is_not_too_early():
    # The loss had flattened at the high LR before the decay: good timing.
    history = {
        "loss": [2.3, 1.2, 0.8, 0.65, 0.6, 0.59, 0.585, 0.58, 0.4, 0.39, 0.385, 0.383],
        "learning_rate": [0.1] * 8 + [0.01] * 4,
    }
    assert "decayed_too_early" not in codes(history)


def test_cosine_end_is_not_a_decay_too_early():
    # Near the end of a cosine schedule the LR halves every epoch: no long
    # flat stretch at a constant low LR, so no finding.
    total = 12
    lr = [0.05 * (1 + math.cos(math.pi * (e + 1) / total)) for e in range(total)]
    history = {"loss": list(0.1 + 2.2 * np.exp(-np.arange(total) / 2.0)), "learning_rate": lr}
    assert "decayed_too_early" not in codes(history)


def test_train_longer_evidence():
    f = finding(train_longer(), "train_longer")
    assert f.data["metric"] == "accuracy"
    assert f.data["window"] == 3
    assert f.data["accuracy_end"] == pytest.approx(0.942)
    assert f.data["val_accuracy_end"] == pytest.approx(0.922)
    assert f.data["gap"] == pytest.approx(0.02)
    assert "0.942" in f.evidence and "0.922" in f.evidence and "8-10" in f.evidence


def test_train_longer_from_losses_and_window():
    history = {key: train_longer()[key] for key in ("loss", "val_loss")}
    f = finding(history, "train_longer", window=5)
    assert f.data["metric"] == "loss"
    assert f.data["window"] == 5
    assert f.data["val_loss_end"] == pytest.approx(1.55 - 0.12 * 9)


def test_noisy_flat_validation_is_not_still_improving():
    rng = np.random.default_rng(0)
    history = healthy()
    history["val_accuracy"] = list(np.array(history["val_accuracy"]) + rng.normal(0, 0.005, 20))
    assert codes(history) == ["healthy"]


def test_overfitting_evidence_names_the_peak():
    f = finding(overfitting(), "overfitting")
    assert f.data["gap"] == pytest.approx(0.2, abs=0.01)
    assert f.data["min_val_loss_epoch"] == 8
    assert f.data["val_loss_rise"] >= 0.3
    assert f.data["best_val_epoch"] == 20
    assert "gap of 0.198" in f.evidence
    assert "epoch 8" in f.evidence
    assert "regularization" in f.advice and "epoch 20" in f.advice


def test_overfitting_from_val_loss_alone():
    history = {key: overfitting()[key] for key in ("loss", "val_loss")}
    f = finding(history, "overfitting")
    assert f.data["best_val_epoch"] == 8
    assert "accuracy" not in f.evidence
    assert "overfitting" not in codes(history, val_loss_rise=1.0)


def test_underfitting_evidence_and_target_accuracy():
    f = finding(underfitting(), "underfitting")
    assert f.data["train_accuracy"] == pytest.approx(0.45, abs=0.01)
    assert f.data["gap"] == pytest.approx(0.01, abs=0.005)
    assert "0.446" in f.evidence and "0.436" in f.evidence
    assert "bigger model" in f.advice
    # If 0.45 is near what the task allows, it is not underfitting.
    assert "underfitting" not in codes(underfitting(), target_accuracy=0.5)


def test_big_gap_with_low_accuracy_is_overfitting_not_underfitting():
    history = underfitting()
    history["val_accuracy"] = list(np.array(history["val_accuracy"]) - 0.2)
    found = codes(history)
    assert "overfitting" in found and "underfitting" not in found


def test_a_loss_that_never_moves_is_underfitting():
    f = finding({"loss": [2.3026, 2.3027, 2.3026, 2.3025, 2.3026, 2.3026]}, "underfitting")
    assert "never left" in f.evidence and "2.3" in f.evidence
    assert "step 2" in f.advice


def test_diverged_names_the_epoch():
    found = diagnose(diverged())
    assert found[-1].code == "diverged"
    f = found[-1]
    assert f.data["epoch"] == 4
    assert f.data["value"] == pytest.approx(9.0)
    assert "epoch 4" in f.evidence and "3x" in f.evidence
    assert "epoch 4" in f.advice and "learning rate" in f.advice


@pytest.mark.parametrize(
    "loss, epoch, text",
    [
        ([2.3, 1.0, float("nan")], 3, "nan"),
        ([2.3, float("inf"), float("nan")], 2, "inf"),
        ([2.3, 0.5, 0.2, 2.5], 4, "back above"),
        ([float("nan")], 1, "nan"),
    ],
)
def test_diverged_variants(loss, epoch, text):
    f = finding({"loss": loss}, "diverged")
    assert f.data["epoch"] == epoch
    assert text in f.evidence


def test_nan_val_loss_is_diverged():
    history = {"loss": [2.3, 1.0, 0.8, 0.7], "val_loss": [2.2, 1.1, float("nan"), 0.9]}
    f = finding(history, "diverged")
    assert f.data == {"epoch": 3, "key": "val_loss", "value": f.data["value"], "initial_loss": 2.3,
                      "skipped": f.data["skipped"]}
    assert math.isnan(f.data["value"])


def test_several_problems_give_several_codes():
    history = overfitting()
    plateau = 4
    for key in history:
        history[key] = [history[key][0]] * plateau + history[key]
    found = diagnose(history)
    assert [f.code for f in found] == ["bad_initialization", "overfitting"]
    assert found[0].data["flat_epochs"] == plateau + 1


def test_several_problems_with_a_divergence():
    history = {"loss": [2.3, 2.3, 2.3, 2.3, 1.0, 0.6, 0.5, 0.45, float("nan")]}
    assert codes(history) == ["bad_initialization", "diverged"]


def test_skipped_checks_are_reported():
    history = {"loss": healthy()["loss"]}
    [f] = diagnose(history)
    assert f.code == "healthy"
    skipped = f.data["skipped"]
    assert set(skipped) == {"decayed_too_early", "train_longer", "overfitting"}
    assert "learning_rate" in skipped["decayed_too_early"]
    assert "LearningRateLogger" in skipped["decayed_too_early"]
    assert "not checked" in f.evidence and "overfitting" in f.evidence

    found = diagnose(decayed_too_early())  # no validation curves
    assert all(set(f.data["skipped"]) == {"train_longer", "overfitting"} for f in found)
    text = format_findings(found)
    assert "Not checked: train_longer" in text


def test_one_epoch_runs_what_it_can():
    [f] = diagnose({"loss": [1.0], "accuracy": [0.95], "val_accuracy": [0.94]})
    assert f.code == "healthy"
    assert {"bad_initialization", "lr_too_high", "train_longer"} <= set(f.data["skipped"])
    found = codes({"loss": [1.0], "accuracy": [0.95], "val_accuracy": [0.7]})
    assert found == ["overfitting"]


def test_finding_is_a_frozen_dataclass_with_to_dict():
    f = finding(overfitting(), "overfitting")
    assert dataclasses.is_dataclass(f)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.code = "healthy"
    d = f.to_dict()
    assert set(d) == {"code", "evidence", "advice", "data"}
    assert json.loads(json.dumps(d)) == d
    numbers = {k: v for k, v in d["data"].items() if k != "skipped"}
    assert all(type(v) in (int, float) for v in numbers.values())
    assert d["data"]["skipped"] == {"decayed_too_early": f.data["skipped"]["decayed_too_early"]}
    assert hash(Finding("healthy", "e", "a")) == hash(Finding("healthy", "e", "a"))
    with pytest.raises(ValueError, match="`code`"):
        Finding("wobbly", "e", "a")


def test_format_findings_is_a_markdown_list():
    found = diagnose(lr_too_high())
    text = format_findings(found)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("- **lr_too_high**: ")
    assert lines[1].startswith("- **underfitting**: ")
    assert lines[2].startswith("- Not checked: decayed_too_early (needs 'learning_rate'")
    assert found[0].evidence in lines[0] and found[0].advice in lines[0]
    assert format_findings([]) == ""
    with pytest.raises(ValueError, match="`findings`"):
        format_findings("overfitting")
    with pytest.raises(ValueError, match="`findings`"):
        format_findings([{"code": "healthy"}])


def test_accepts_a_keras_history_object():
    history = keras.callbacks.History()
    history.history = overfitting()
    assert codes(history) == codes(overfitting()) == ["overfitting"]


# ---------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize(
    "history, match",
    [
        ({}, r"`history` must have the key 'loss'.*keys \[\]"),
        ({"val_loss": [1.0, 0.9]}, r"`history` must have the key 'loss'.*\['val_loss'\]"),
        ({"loss": []}, r"`history` must have at least one epoch"),
        ({"loss": [1.0, 0.9, 0.8], "val_loss": [1.0, 0.9]}, r"`history`.*'loss': 3, 'val_loss': 2"),
        ({"loss": [1.0, 0.9], "learning_rate": [0.1]}, r"`history`.*lengths"),
        ({"loss": ["high", "low"]}, r"`history` must map 'loss' to a list of numbers"),
        ({"loss": [[1.0, 0.9]]}, r"`history` must map 'loss'"),
        ([1.0, 0.9], r"`history` must be a `keras.callbacks.History`"),
        (None, r"`history` must be"),
    ],
)
def test_bad_history(history, match):
    with pytest.raises(ValueError, match=match):
        diagnose(history)


def test_other_keys_are_ignored():
    history = healthy()
    history["custom_metric"] = [1.0]  # another length: not read
    assert codes(history) == ["healthy"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"gap": 0}, "gap"),
        ({"gap": 1.5}, "gap"),
        ({"gap": "0.1"}, "gap"),
        ({"target_accuracy": 0}, "target_accuracy"),
        ({"target_accuracy": 1.01}, "target_accuracy"),
        ({"accuracy_shortfall": 0}, "accuracy_shortfall"),
        ({"val_loss_rise": -0.1}, "val_loss_rise"),
        ({"flat_epochs": 1}, "flat_epochs"),
        ({"flat_epochs": 3.0}, "flat_epochs"),
        ({"flat_epochs": True}, "flat_epochs"),
        ({"flat_tolerance": 1.0}, "flat_tolerance"),
        ({"flat_tolerance": float("nan")}, "flat_tolerance"),
        ({"drop": 0}, "drop"),
        ({"high_loss": 1}, "high_loss"),
        ({"lr_drop_factor": 1.0}, "lr_drop_factor"),
        ({"explode_factor": 0.5}, "explode_factor"),
        ({"explode_factor": float("inf")}, "explode_factor"),
        ({"window": 2}, "window"),
    ],
)
def test_bad_thresholds(kwargs, name):
    with pytest.raises(ValueError, match=rf"Argument `{name}` must .* Received: {name}="):
        diagnose(healthy(), **kwargs)


def test_shortfall_must_be_below_target():
    with pytest.raises(
        ValueError,
        match=r"`accuracy_shortfall` must be < `target_accuracy`. "
        r"Received: accuracy_shortfall=0.6, target_accuracy=0.5",
    ):
        diagnose(healthy(), target_accuracy=0.5, accuracy_shortfall=0.6)


# ---------------------------------------------------------------------------
# Real short runs, each built to show one pattern (seeded; checked over
# seeds 0-3 when they were written).


@pytest.fixture(scope="module")
def digits():
    """`digits` as NumPy arrays in [0, 1]: (x, y) for train and validation."""
    train, val, _, _ = kerasrec.data.load("digits", batch_size=2048, seed=0)

    def arrays(dataset):
        x, y = next(iter(dataset))
        return x.numpy().astype("float32") / 255.0, y.numpy()

    return arrays(train), arrays(val)


def mlp(units, *, initializer="glorot_uniform", bottleneck_activation="relu"):
    layers = [keras.Input((8, 8, 1)), keras.layers.Flatten()]
    for width in units:
        layers.append(
            keras.layers.Dense(width, activation=bottleneck_activation, kernel_initializer=initializer)
        )
    layers.append(keras.layers.Dense(10, activation="softmax", kernel_initializer=initializer))
    return keras.Sequential(layers)


def fit(model, optimizer, data, epochs, *, batch_size=32, validation=None, callbacks=()):
    # No XLA: compiling each tiny model would cost more than training it.
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    x, y = data
    return model.fit(
        x, y,
        validation_data=validation,
        validation_batch_size=512,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        verbose=0,
    )


SEED = 0


def test_real_run_tiny_initial_weights_is_bad_initialization(digits):
    # Weights ~ N(0, 0.01) everywhere: the signal through two ReLU layers is
    # ~1e-4 of normal, so the loss sits at ln(10) for a few epochs.
    keras.utils.set_random_seed(SEED)
    model = mlp((64, 64), initializer=keras.initializers.RandomNormal(stddev=0.01))
    history = fit(model, keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), digits[0], 12)
    f = finding(history, "bad_initialization")
    assert f.data["initial_loss"] == pytest.approx(math.log(10), rel=0.01)
    assert f.data["flat_epochs"] >= 3
    assert f.data["lowest_loss"] < 0.5


def test_real_run_far_too_high_learning_rate_diverges():
    # Linear regression with SGD: steps diverge when the learning rate
    # exceeds 2 / (largest Hessian eigenvalue) = 2 / (2 * ~1); 1.5 is far above.
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = x @ rng.normal(size=(8, 1)).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.5), loss="mse", jit_compile=False)
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    f = finding(history, "diverged")
    assert f.data["epoch"] == 2
    assert "epoch 2" in f.evidence


def test_real_run_far_too_high_learning_rate_plateaus_high_is_lr_too_high(digits):
    # SGD at 2.0 on a ReLU MLP: the first updates overshoot, most units die,
    # and the network falls back to predicting the class prior. The loss
    # falls from its first, wild epoch to ln(10) and stays there: falls, then
    # plateaus early and high. (lr_too_high in seeds 0-4; so does 3.0.)
    keras.utils.set_random_seed(SEED)
    history = fit(mlp((64, 64)), keras.optimizers.SGD(learning_rate=2.0), digits[0], 12)
    f = finding(history, "lr_too_high")
    assert f.data["plateau_epoch"] <= 3
    assert f.data["plateau_loss"] == pytest.approx(math.log(10), rel=0.02)
    assert f.data["initial_loss"] > f.data["plateau_loss"]
    assert f.data["train_accuracy"] < 0.2
    assert "diverged" not in codes(history)  # finite all along


def test_real_run_early_step_decay_is_decayed_too_early(digits):
    # Adam at 1e-2, x0.01 after 3 of 12 epochs: the loss is still falling
    # fast when the learning rate drops, steps down, then barely moves.
    keras.utils.set_random_seed(SEED)
    x, _ = digits[0]
    steps_per_epoch = math.ceil(len(x) / 32)
    schedule = StepDecay(0.01, boundaries=[3 * steps_per_epoch], factor=0.01)
    history = fit(
        mlp((64, 64)),
        keras.optimizers.Adam(learning_rate=schedule),
        digits[0],
        12,
        callbacks=[LearningRateLogger()],
    )
    f = finding(history, "decayed_too_early")
    # LearningRateLogger logs the LR of the next update: epoch 3 shows 1e-4.
    assert f.data["decay_epoch"] == 3
    assert f.data["lr_after"] == pytest.approx(1e-4)
    assert f.data["loss_rate_after"] < 0.25 * f.data["loss_rate_before"]


def test_real_run_tiny_training_set_is_overfitting(digits):
    (x, y), validation = digits
    keras.utils.set_random_seed(SEED)
    history = fit(
        mlp((128,)),
        keras.optimizers.Adam(learning_rate=0.01),
        (x[:50], y[:50]),
        20,
        batch_size=50,
        validation=validation,
    )
    f = finding(history, "overfitting")
    assert f.data["train_accuracy"] == pytest.approx(1.0)
    assert f.data["gap"] >= 0.1
    assert f"validation peaked at epoch {f.data['best_val_epoch']}" in f.advice
    assert "underfitting" not in codes(history)


def test_real_run_one_unit_bottleneck_is_underfitting(digits):
    # Every image squeezed through one linear unit: about 30% accuracy.
    train, validation = digits
    keras.utils.set_random_seed(SEED)
    history = fit(
        mlp((1,), bottleneck_activation=None),
        keras.optimizers.Adam(learning_rate=0.01),
        train,
        12,
        batch_size=64,
        validation=validation,
    )
    f = finding(history, "underfitting")
    assert f.data["train_accuracy"] < 0.6
    assert abs(f.data["gap"]) < 0.1
    assert "overfitting" not in codes(history)
