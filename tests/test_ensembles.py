"""Averaging models after training: ensembles, members, weight averages, snapshots."""

import contextlib
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrec import ensembles

NUM_CLASSES = 3


def _classifier(name="net", *, batch_norm=False, activation="softmax", features=4):
    """A small functional classifier; models of one call share their names, as a builder's do."""
    inputs = keras.Input((features,), name="features")
    x = keras.layers.Dense(5, activation="relu", name="hidden")(inputs)
    if batch_norm:
        x = keras.layers.BatchNormalization(name="norm")(x)
    outputs = keras.layers.Dense(NUM_CLASSES, activation=activation, name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, NUM_CLASSES, size=n)


def _probabilities(model, x):
    return keras.ops.convert_to_numpy(model(x))


def _members(count=3):
    return [
        _classifier() for _ in range(count)
    ]  # all named "net", with "hidden" and "probabilities" layers


def test_average_is_the_mean_and_the_normalized_geometric_mean():
    members = _members()
    x, _ = _data()
    probs = np.stack([_probabilities(m, x) for m in members])
    np.testing.assert_allclose(
        _probabilities(ensembles.average(members), x), probs.mean(0), rtol=1e-5, atol=1e-7
    )
    geometric = np.exp(np.log(probs).mean(0))
    geometric /= geometric.sum(-1, keepdims=True)
    result = _probabilities(ensembles.average(members, method="log_probabilities"), x)
    np.testing.assert_allclose(result, geometric, rtol=1e-5, atol=1e-7)
    assert not np.allclose(result, probs.mean(0), atol=1e-4)  # the two methods differ
    # The duplicate names are wrapped, not renamed: the members are unchanged.
    assert [m.name for m in members] == ["net"] * 3
    assert [layer.name for layer in ensembles.average(members).layers[1:4]] == [
        "member_0",
        "member_1",
        "member_2",
    ]


def test_geometric_mean_clips_zero_probabilities():
    layer = ensembles.AverageProbabilities(method="log_probabilities", epsilon=1e-7)
    out = keras.ops.convert_to_numpy(layer([np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])]))
    expected = np.exp((np.log([1e-7, 1.0]) + np.log([0.5, 0.5])) / 2)
    np.testing.assert_allclose(out, [expected / expected.sum()], rtol=1e-5)
    assert np.isfinite(out).all()
    assert (
        layer.get_config()["method"] == "log_probabilities"
        and layer.get_config()["epsilon"] == 1e-7
    )


@pytest.mark.parametrize("distributed", [False, True])
def test_compiled_ensemble_evaluates_to_the_accuracy_of_the_averaged_probabilities(distributed):
    x, y = _data(n=30)
    # A one-device MirroredStrategy runs the layer through tf.distribute's replica code path.
    scope = (
        tf.distribute.MirroredStrategy(["/cpu:0"]).scope()
        if distributed
        else contextlib.nullcontext()
    )
    with scope:
        members = _members()
        ensemble = ensembles.average(members)
        ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    mean = np.mean([_probabilities(m, x) for m in members], axis=0)
    result = ensemble.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx(np.mean(mean.argmax(-1) == y), abs=1e-6)
    assert result["loss"] == pytest.approx(-np.mean(np.log(mean[np.arange(len(y)), y])), rel=1e-4)


def test_members_as_paths_and_the_ensemble_loads_in_a_fresh_process(tmp_path):
    paths = []
    for index, model in enumerate(_members(2)):
        paths.append(str(tmp_path / f"m{index}.keras"))
        model.save(paths[-1])
    x, _ = _data(n=6)
    ensemble = ensembles.average(paths, method="log_probabilities")
    expected = ensemble.predict(x, verbose=0)
    saved = str(tmp_path / "ensemble.keras")
    ensemble.save(saved)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np, keras, kerasrec\n"
        f"m = keras.saving.load_model({saved!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n"
        "print(m.get_layer('average').method)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "log_probabilities"
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5, atol=1e-7)


def test_average_rejects_bad_models(tmp_path):
    member = _classifier()
    with pytest.raises(ValueError, match="`models` must be a non-empty list"):
        ensembles.average([])
    with pytest.raises(ValueError, match="`models` must be a non-empty list"):
        ensembles.average(member)
    with pytest.raises(ValueError, match="`models` must hold `keras.Model`s or `.keras` paths"):
        ensembles.average([member, 3])
    with pytest.raises(
        ValueError, match="`models` must hold existing `.keras` files.*missing.keras"
    ):
        ensembles.average([member, str(tmp_path / "missing.keras")])
    with pytest.raises(ValueError, match="`models` must hold distinct models"):
        ensembles.average([member, member])
    with pytest.raises(
        ValueError, match=r"`models` must hold models with the same input shapes.*\(4,\), \(6,\)"
    ):
        ensembles.average([member, _classifier(features=6)])
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(
        ValueError, match=r"`models` must hold models with the same output shapes.*\(3,\), \(2,\)"
    ):
        ensembles.average([member, other])
    with pytest.raises(
        ValueError, match="`models` must hold models that end in a softmax.*'linear'"
    ):
        ensembles.average([member, _classifier(activation=None)])
    with pytest.raises(
        ValueError, match="`method` must be one of 'probabilities', 'log_probabilities'"
    ):
        ensembles.average([member], method="mean")
    with pytest.raises(
        ValueError, match="`models` must hold functional or `keras.Sequential` models"
    ):
        ensembles.average([keras.Sequential([keras.layers.Dense(3, activation="softmax")])])


def _train_one(calls, initial):
    def train_member(seed):
        calls.append(seed)
        model = _classifier()
        initial.append([w.copy() for w in model.get_weights()])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(*_data(n=8), epochs=1, batch_size=8, verbose=0)
        return model

    return train_member


def test_train_members_seeds_and_resume(tmp_path):
    calls, initial = [], []
    train_member = _train_one(calls, initial)
    first = ensembles.train_members(train_member, [3, 4], directory=str(tmp_path))
    again = ensembles.train_members(train_member, [3])
    assert calls == [3, 4, 3]
    for a, b in zip(initial[0], initial[2]):  # one seed, one member
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(initial[0][0], initial[1][0])  # two seeds, two members
    np.testing.assert_allclose(again[0].get_weights()[0], first[0].get_weights()[0])
    assert sorted(os.listdir(tmp_path)) == ["member-seed3.keras", "member-seed4.keras"]
    x, _ = _data(n=4)
    resumed = ensembles.train_members(train_member, [4, 3, 5], directory=str(tmp_path))
    assert calls == [3, 4, 3, 5]  # only the missing member is trained
    np.testing.assert_allclose(
        _probabilities(resumed[0], x), _probabilities(first[1], x), rtol=1e-6
    )
    np.testing.assert_allclose(
        _probabilities(resumed[1], x), _probabilities(first[0], x), rtol=1e-6
    )


def test_train_members_rejects_bad_arguments():
    train_member = _train_one([], [])
    for seeds in ([], [1, 1], [1.5], "12", [-1], [True], None):
        with pytest.raises(ValueError, match="Argument `seeds` must"):
            ensembles.train_members(train_member, seeds)
    with pytest.raises(ValueError, match="`train_member` must be callable"):
        ensembles.train_members("train", [0])
    with pytest.raises(
        ValueError, match="`train_member` must return a `keras.Model`. Received: NoneType"
    ):
        ensembles.train_members(lambda seed: None, [0])


def _bn_members(count=3):
    members = []
    for index in range(count):
        model = _classifier(batch_norm=True)
        norm = model.get_layer("norm")
        norm.moving_mean.assign(np.full(5, float(index), "float32"))
        norm.moving_variance.assign(np.full(5, 1.0 + index, "float32"))
        members.append(model)
    return members


def test_average_weights_is_the_mean_of_every_weight_and_shares_none(tmp_path):
    members = _bn_members()
    path = str(tmp_path / "last.keras")
    members[-1].save(path)
    result = ensembles.average_weights(members[:-1] + [path])
    assert all(result is not m for m in members) and not result.compiled  # new and uncompiled
    assert len(result.weights) == 8 and len(result.non_trainable_weights) == 2
    for index, weight in enumerate(result.get_weights()):
        np.testing.assert_allclose(
            weight, np.mean([m.get_weights()[index] for m in members], 0), rtol=1e-6, atol=1e-7
        )
    np.testing.assert_allclose(result.get_layer("norm").moving_mean.numpy(), np.ones(5))
    before = [m.get_weights() for m in members]
    for weight in result.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    for model, weights in zip(members, before):
        for a, b in zip(weights, model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_average_weights_recomputes_batchnorm_statistics():
    members = _bn_members(2)
    x, y = _data(n=20)
    result = ensembles.average_weights(members, batchnorm_data=(x, y))
    kernel, bias = result.get_layer("hidden").get_weights()
    hidden = np.maximum(x @ kernel + bias, 0.0)  # one batch of 20 < 32
    norm = result.get_layer("norm")
    np.testing.assert_allclose(norm.moving_mean.numpy(), hidden.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(norm.moving_variance.numpy(), hidden.var(0), rtol=1e-3, atol=1e-6)
    assert not np.allclose(norm.moving_mean.numpy(), 0.5)  # not the averaged statistics
    np.testing.assert_allclose(
        members[0].get_layer("norm").moving_mean.numpy(), 0.0
    )  # members untouched


def test_average_weights_rejects_different_architectures():
    with pytest.raises(ValueError, match="`models` must hold models of one architecture"):
        ensembles.average_weights([_classifier(), _classifier(batch_norm=True)])
    with pytest.raises(ValueError, match="`models` must hold models of one architecture"):
        ensembles.average_weights([_classifier(), _classifier(features=6)])
    with pytest.raises(ValueError, match="`models` must be a non-empty list"):
        ensembles.average_weights([])
    with pytest.raises(ValueError, match="`num_batches`"):
        ensembles.average_weights([_classifier()], num_batches=0)


def _constant(logits):
    """A model that predicts softmax(logits) whatever its input."""
    model = _classifier(name="snapshot")
    layer = model.get_layer("probabilities")
    layer.set_weights([np.zeros((5, NUM_CLASSES), "float32"), np.array(logits, "float32")])
    return model


def _softmax(logits):
    e = np.exp(np.array(logits) - np.max(logits))
    return e / e.sum()


def test_snapshots_sort_by_number_and_last_takes_the_latest(tmp_path):
    logits = {2: [0.0, 1.0, 0.0], 10: [0.0, 0.0, 2.0], 1: [3.0, 0.0, 0.0]}
    for number in (2, 10, 1):  # written out of order
        _constant(logits[number]).save(str(tmp_path / f"snapshot-{number:03d}.keras"))
    for junk in (
        ".snapshot-004.keras.tmp.keras",
        "snapshot-5.keras",
        "snapshot-006.h5",
        "notes.txt",
    ):
        (tmp_path / junk).write_text("not a snapshot")
    assert [os.path.basename(p) for p in ensembles.snapshot_paths(str(tmp_path))] == [
        "snapshot-001.keras",
        "snapshot-002.keras",
        "snapshot-010.keras",
    ]
    x, _ = _data(n=2)
    last_two = _probabilities(ensembles.load_snapshots(str(tmp_path), last=2), x)
    np.testing.assert_allclose(
        last_two, np.tile((_softmax(logits[2]) + _softmax(logits[10])) / 2, (2, 1)), rtol=1e-5
    )
    every = _probabilities(ensembles.load_snapshots(str(tmp_path), method="log_probabilities"), x)
    geometric = np.exp(np.mean([np.log(_softmax(v)) for v in logits.values()], 0))
    np.testing.assert_allclose(every[0], geometric / geometric.sum(), rtol=1e-5)
    assert ensembles.snapshot_paths(str(tmp_path / "absent")) == []


def test_load_snapshots_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`directory` must be an existing folder"):
        ensembles.load_snapshots(str(tmp_path / "absent"))
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match="`directory` must hold snapshots"):
        ensembles.load_snapshots(str(tmp_path))
    _constant([0.0, 0.0, 0.0]).save(str(tmp_path / "snapshot-001.keras"))
    for last in (0, -1, 1.0, "1"):
        with pytest.raises(ValueError, match="Argument `last` must be a positive integer"):
            ensembles.load_snapshots(str(tmp_path), last=last)
    with pytest.raises(
        ValueError,
        match=r"`last` must be <= the number of snapshots present \(1\). Received: last=2",
    ):
        ensembles.load_snapshots(str(tmp_path), last=2)
    with pytest.raises(ValueError, match="`method` must be one of"):
        ensembles.load_snapshots(str(tmp_path), method="vote")


def test_score_and_growth_match_the_averaged_probabilities():
    rng = np.random.default_rng(3)
    members = [rng.dirichlet(np.ones(4), size=30).astype("float32") for _ in range(3)]
    labels = rng.integers(0, 4, size=30)
    p = members[0]
    assert ensembles.score(p, labels) == pytest.approx(
        {
            "accuracy": np.mean(p.argmax(-1) == labels),
            "nll": np.mean(-np.log(p[np.arange(30), labels])),
        }
    )
    curve = ensembles.growth(members, labels)
    for k in (1, 2, 3):
        assert curve["accuracy"][k - 1] == pytest.approx(
            ensembles.score(np.mean(members[:k], 0), labels)["accuracy"]
        )
        assert curve["nll"][k - 1] == pytest.approx(
            ensembles.score(np.mean(members[:k], 0), labels)["nll"], rel=1e-6
        )
    geometric = np.exp(np.mean(np.log(members), 0))
    geometric /= geometric.sum(-1, keepdims=True)
    layer = ensembles.AverageProbabilities(method="log_probabilities")
    assert ensembles.growth(members, labels, method="log_probabilities")["nll"][
        -1
    ] == pytest.approx(ensembles.score(geometric, labels)["nll"], rel=1e-5)
    np.testing.assert_allclose(layer(members).numpy(), geometric, rtol=1e-5)
    with pytest.raises(ValueError, match="`labels` must be integers"):
        ensembles.score(p, labels + 4)
    with pytest.raises(ValueError, match="`probabilities` and `labels`"):
        ensembles.score(p, labels[:5])
    with pytest.raises(ValueError, match="`probabilities` must be a non-empty list"):
        ensembles.growth([], labels)
