"""After training: averaging models.

Several trained models usually predict better together than any one of them.
This module averages them in two ways:

- `average(models)`: one `keras.Model` whose prediction is the mean of the
  members' predicted probabilities (or their normalized geometric mean). It
  compiles, evaluates and saves to one `.keras` file like any model.
- `average_weights(models)`: checkpoint averaging as in SWA: one model whose
  every weight is the mean of the members' weights, with its BatchNorm
  statistics measured again for those weights (`kerasrec.batchnorm`). It only
  makes sense for members on one trajectory (snapshots of one run).

`train_members` trains the members of an ensemble with one seed each, saving
and resuming them, and `load_snapshots` averages the snapshots that a
`SnapshotEnsemble` callback wrote (`snapshot-001.keras`, `snapshot-002.keras`,
...; `snapshot_paths` lists them in cycle order).
"""

import os
import re

import keras
import numpy as np

from kerasrec import batchnorm
from kerasrec._checks import ArgumentError, check_positive_int, check_range
from kerasrec._io import replacing

__all__ = [
    "METHODS",
    "AverageProbabilities",
    "average",
    "average_weights",
    "growth",
    "load_snapshots",
    "score",
    "snapshot_paths",
    "train_members",
]

METHODS = ("probabilities", "log_probabilities")

_SNAPSHOT = re.compile(r"snapshot-(\d{3,})\.keras")


def _check_method(method):
    if method not in METHODS:
        raise ArgumentError(
            f"Argument `method` must be one of {', '.join(repr(m) for m in METHODS)}. Received: method={method!r}"
        )
    return method


@keras.saving.register_keras_serializable(package="kerasrec")
class AverageProbabilities(keras.layers.Layer):
    """Averages a list of probability tensors over their last axis' classes.

    With `method="probabilities"` the output is the arithmetic mean of the
    inputs; with `method="log_probabilities"` it is their normalized
    geometric mean:

    ```python
    mean = exp(mean(log(clip(p, epsilon, 1)) for p in inputs))
    output = mean / sum(mean, axis=-1)
    ```

    Args:
        method: `"probabilities"` or `"log_probabilities"`. Defaults to
            `"probabilities"`.
        epsilon: float > 0. The probabilities are clipped at it before the
            log (`"log_probabilities"` only). Defaults to `1e-7`.
        **kwargs: base layer arguments, such as `name`.

    Example:

    >>> layer = kerasrec.ensembles.AverageProbabilities()
    >>> layer([np.array([[0.2, 0.8]]), np.array([[0.6, 0.4]])])
    <tf.Tensor: shape=(1, 2), dtype=float32, numpy=array([[0.4, 0.6]], dtype=float32)>
    """

    def __init__(self, method="probabilities", epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.method = _check_method(method)
        self.epsilon = check_range("epsilon", epsilon, 0, 1)

    def call(self, inputs):
        stacked = keras.ops.stack(list(inputs), axis=0)
        if self.method == "probabilities":
            return keras.ops.mean(stacked, axis=0)
        logs = keras.ops.log(keras.ops.clip(stacked, self.epsilon, 1.0))
        mean = keras.ops.exp(keras.ops.mean(logs, axis=0))
        return mean / keras.ops.sum(mean, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "method": self.method, "epsilon": self.epsilon}


def _load(models, *, compile=False):
    """`models` as a list of distinct `keras.Model`s, paths loaded."""
    if (
        isinstance(models, (str, os.PathLike, keras.Model))
        or not isinstance(models, (list, tuple))
        or not models
    ):
        raise ArgumentError(
            f"Argument `models` must be a non-empty list of `keras.Model`s or `.keras` paths. Received: models={models!r}"
        )
    loaded = []
    for entry in models:
        if isinstance(entry, (str, os.PathLike)):
            if not os.path.isfile(entry):
                raise ArgumentError(
                    f"Argument `models` must hold existing `.keras` files. Received: no file at {os.fspath(entry)!r}"
                )
            entry = keras.saving.load_model(entry, compile=compile)
        elif not isinstance(entry, keras.Model):
            raise ArgumentError(
                f"Argument `models` must hold `keras.Model`s or `.keras` paths. Received: an entry {entry!r}"
            )
        if any(entry is other for other in loaded):
            raise ArgumentError(
                f"Argument `models` must hold distinct models. Received: model {entry.name!r} twice"
            )
        loaded.append(entry)
    return loaded


def _tensors(model):
    """The model's symbolic inputs and outputs (functional or built Sequential)."""
    try:
        return list(model.inputs), list(model.outputs)
    except (AttributeError, TypeError):
        raise ArgumentError(
            "Argument `models` must hold functional or `keras.Sequential` models with known inputs "
            f"(built from `keras.Input`). Received: model {model.name!r} of type {type(model).__name__}"
        ) from None


def _final_activation(model):
    """The name of the activation that makes the model's output, or None if unknown."""
    history = getattr(model.outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None)
    if isinstance(layer, keras.Model) and getattr(layer, "outputs", None):
        return _final_activation(layer)
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) if callable(activation) else None


def average(models, *, method="probabilities", name="ensemble"):
    """Returns one model that averages the members' predicted probabilities.

    The members must end in a softmax: the mean of logits is not the mean
    of probabilities. A final layer with another activation (a linear
    `Dense` that outputs logits, a sigmoid) raises a `ValueError`; a final
    layer of another kind is not checked. With `method="probabilities"`

    ```python
    ensemble(x) = mean(member(x) for member in models)
    ```

    and with `method="log_probabilities"` the normalized geometric mean of
    `AverageProbabilities`. Each member is wrapped in a functional model
    named `member_0`, `member_1`, ...: Keras refuses two layers of one name
    in a functional model, and two models of one builder share theirs. The
    members are not renamed or changed; the ensemble shares their weights
    (so one model twice is refused: its `.keras` file would not load). It
    is not compiled: compile it to `evaluate` it. Saved as `.keras`, it
    loads after `import kerasrec` without `custom_objects`.

    Args:
        models: list of `keras.Model`s (functional, or `keras.Sequential`
            built from a `keras.Input`) or paths to `.keras` files, with
            the same input and output shapes. Paths are loaded uncompiled.
        method: `"probabilities"` or `"log_probabilities"`. Defaults to
            `"probabilities"`.
        name: str. The ensemble's name. Defaults to `"ensemble"`.

    Returns:
        A `keras.Model` with the members' inputs and one output.

    Raises:
        ValueError: if `models` is empty, holds something other than a
            model or an existing path, holds one model twice, or its members
            differ in input or output shapes or do not end in a softmax, or
            if `method` is unknown.

    Example:

    >>> members = kerasrec.ensembles.train_members(train_one, seeds=[0, 1, 2])
    >>> ensemble = kerasrec.ensembles.average(members)
    >>> ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> ensemble.evaluate(x_test, y_test)
    """
    _check_method(method)
    members = _load(models)
    signatures = [_tensors(model) for model in members]
    first_inputs, first_outputs = signatures[0]
    for label, position in (("input", 0), ("output", 1)):
        shapes = [[tuple(t.shape[1:]) for t in signature[position]] for signature in signatures]
        if any(s != shapes[0] for s in shapes):
            listed = ", ".join(str(s[0] if len(s) == 1 else s) for s in shapes)
            raise ArgumentError(
                f"Argument `models` must hold models with the same {label} shapes. Received: {label} shapes {listed}"
            )
    if len(first_outputs) != 1:
        raise ArgumentError(
            f"Argument `models` must hold models with one output. Received: {len(first_outputs)} outputs"
        )
    for model in members:
        activation = _final_activation(model)
        if activation is not None and activation != "softmax":
            raise ArgumentError(
                "Argument `models` must hold models that end in a softmax (probabilities, not logits). "
                f"Received: model {model.name!r} ends in activation {activation!r}"
            )

    def new_inputs():
        tensors = [keras.Input(shape=t.shape[1:], dtype=t.dtype) for t in first_inputs]
        return tensors[0] if len(tensors) == 1 else tensors

    wrapped = []
    for index, model in enumerate(members):
        inputs = new_inputs()
        wrapped.append(keras.Model(inputs, model(inputs), name=f"member_{index}"))
    inputs = new_inputs()
    outputs = AverageProbabilities(method=method, name="average")(
        [member(inputs) for member in wrapped]
    )
    return keras.Model(inputs, outputs, name=name)


def _probabilities(probabilities, labels):
    p = np.asarray(probabilities, dtype="float64")
    y = np.asarray(labels).reshape(-1)
    if p.ndim != 2 or len(p) != len(y) or len(y) == 0:
        raise ArgumentError(
            "Arguments `probabilities` and `labels` must be (examples, classes) probabilities "
            f"and one integer label per example. Received: shapes {p.shape} and {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ArgumentError(
            f"Argument `labels` must be integers in [0, {p.shape[1]}). Received: labels of "
            f"dtype {y.dtype} in [{y.min()}, {y.max()}]"
        )
    return p, y


def score(probabilities, labels, *, epsilon=1e-7):
    """Accuracy and negative log-likelihood of predicted probabilities.

    ```python
    accuracy = mean(argmax(probabilities, axis=-1) == labels)
    nll = mean(-log(clip(probabilities[i, labels[i]], epsilon, 1)))
    ```

    The NLL is Keras's `sparse_categorical_crossentropy` of the
    probabilities (which clips at the same `epsilon`).

    Args:
        probabilities: array of shape `(examples, classes)`, e.g. a
            member's `predict`.
        labels: integer array of shape `(examples,)`.
        epsilon: float in (0, 1). Defaults to `1e-7`.

    Returns:
        `{"accuracy": float, "nll": float}`.
    """
    check_range("epsilon", epsilon, 0, 1)
    p, y = _probabilities(probabilities, labels)
    picked = np.clip(p[np.arange(len(y)), y], epsilon, 1.0)
    return {
        "accuracy": float(np.mean(np.argmax(p, axis=-1) == y)),
        "nll": float(np.mean(-np.log(picked))),
    }


def growth(probabilities, labels, *, method="probabilities", epsilon=1e-7):
    """`score` of the ensemble of the first `k` members, for `k = 1..N`.

    The members' averaged probabilities, as `AverageProbabilities` averages
    them, for each prefix of the list: how accuracy and NLL change as
    members are added.

    Args:
        probabilities: list of N arrays `(examples, classes)`, one a member.
        labels: integer array of shape `(examples,)`.
        method: as in `average`. Defaults to `"probabilities"`.
        epsilon: as in `AverageProbabilities`. Defaults to `1e-7`.

    Returns:
        `{"accuracy": [N floats], "nll": [N floats]}`, entry `k - 1` for
        the first `k` members (a dict that `kerasrec.plots.plot_histories`
        draws).
    """
    _check_method(method)
    if not isinstance(probabilities, (list, tuple)) or not probabilities:
        raise ArgumentError(
            "Argument `probabilities` must be a non-empty list of arrays, one per member. "
            f"Received: probabilities of type {type(probabilities).__name__}"
        )
    members = [_probabilities(p, labels)[0] for p in probabilities]
    if method == "log_probabilities":
        members = [np.log(np.clip(p, epsilon, 1.0)) for p in members]
    out = {"accuracy": [], "nll": []}
    total = np.zeros_like(members[0])
    for k, member in enumerate(members, start=1):
        total += member
        mean = total / k
        if method == "log_probabilities":
            mean = np.exp(mean)
            mean /= mean.sum(axis=-1, keepdims=True)
        scores = score(mean, labels, epsilon=epsilon)
        out["accuracy"].append(scores["accuracy"])
        out["nll"].append(scores["nll"])
    return out


def _check_seeds(seeds):
    ok = (
        isinstance(seeds, (list, tuple))
        and len(seeds) > 0
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    )
    if not ok:
        raise ArgumentError(
            f"Argument `seeds` must be a non-empty list of ints >= 0. Received: seeds={seeds!r}"
        )
    if len(set(seeds)) != len(seeds):
        raise ArgumentError(f"Argument `seeds` must hold distinct seeds. Received: seeds={seeds!r}")
    return list(seeds)


def train_members(train_member, seeds, *, directory=None):
    """Trains one member per seed through your own training function.

    For each seed, in order:

    ```python
    keras.utils.set_random_seed(seed)
    model = train_member(seed)  # builds, compiles and fits; returns the model
    ```

    so the members differ in initial weights, data order and dropout, and
    one seed gives the same member again. With `directory`, each member is
    saved atomically as `member-seed<seed>.keras` there, and an existing
    file is loaded instead of trained: a rerun trains only what is missing.

    Args:
        train_member: callable taking the seed (int) and returning the
            trained `keras.Model`.
        seeds: non-empty list of distinct ints >= 0.
        directory: str or None. Where to save and resume the members.
            Defaults to `None`: nothing is saved.

    Returns:
        The list of members, in the order of `seeds`.

    Raises:
        ValueError: if `seeds` is empty or holds a non-int, a negative int
            or a repeated seed, or if `train_member` is not callable or
            returns something other than a `keras.Model`.

    Example:

    >>> def train_one(seed):
    ...     model = kerasrec.models.mlp(num_classes=10)
    ...     model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     model.fit(train, epochs=10, verbose=0)
    ...     return model
    >>> members = kerasrec.ensembles.train_members(train_one, [0, 1, 2], directory="run/members")
    """
    if not callable(train_member):
        raise ArgumentError(
            f"Argument `train_member` must be callable. Received: train_member={train_member!r}"
        )
    seeds = _check_seeds(seeds)
    members = []
    for seed in seeds:
        path = None if directory is None else os.path.join(directory, f"member-seed{seed}.keras")
        if path is not None and os.path.isfile(path):
            members.append(keras.saving.load_model(path))
            continue
        keras.utils.set_random_seed(seed)
        model = train_member(seed)
        if not isinstance(model, keras.Model):
            raise ArgumentError(
                "Argument `train_member` must return a `keras.Model`. "
                f"Received: {type(model).__name__} for seed={seed}"
            )
        if path is not None:
            with replacing(path, suffix=".keras") as tmp:
                model.save(tmp)
        members.append(model)
    return members


def average_weights(models, *, batchnorm_data=None, num_batches=None):
    """Returns a new model whose weights are the mean of the members' weights.

    Checkpoint averaging, as in SWA: a clone of the first member
    (`keras.models.clone_model`, so it shares no variable with any member)
    in which every floating-point weight, trainable or not, is

    ```python
    averaged[i] = mean(member.weights[i] for member in models)
    ```

    (a non-float weight, such as a counter, is the first member's). The
    averaged BatchNorm statistics belong to none of the weights; with
    `batchnorm_data` they are measured again for the averaged weights by
    `kerasrec.batchnorm.recompute_batchnorm`. Average checkpoints of one
    run (snapshots, SWA): the weights of independently trained models are
    not aligned, and their average is a poor model.

    Args:
        models: list of `keras.Model`s or `.keras` paths of one
            architecture (the same number and shapes of weights).
        batchnorm_data: data for `recompute_batchnorm` (a batched
            `tf.data.Dataset`, an array of inputs or an `(x, y)` pair).
            Defaults to `None`: the statistics stay averaged.
        num_batches: int > 0 or None. Batches of `batchnorm_data` to use.
            Defaults to `None`: all of them.

    Returns:
        A new, uncompiled `keras.Model` (compile it to evaluate it).

    Raises:
        ValueError: if `models` is empty, holds something other than a
            model or an existing path, or its members differ in the number
            or shapes of their weights.

    Example:

    >>> averaged = kerasrec.ensembles.average_weights(
    ...     kerasrec.ensembles.snapshot_paths("run/snapshots"), batchnorm_data=train, num_batches=100)
    """
    check_positive_int("num_batches", num_batches, allow_none=True)
    members = _load(models)
    shapes = [[tuple(w.shape) for w in model.weights] for model in members]
    for model, model_shapes in zip(members[1:], shapes[1:]):
        if model_shapes != shapes[0]:
            raise ArgumentError(
                "Argument `models` must hold models of one architecture (the same number and shapes of weights). "
                f"Received: {len(shapes[0])} weights of shapes {shapes[0]} and "
                f"{len(model_shapes)} weights of shapes {model_shapes} (model {model.name!r})"
            )
    values = [model.get_weights() for model in members]
    averaged = []
    for index, first in enumerate(values[0]):
        if np.issubdtype(first.dtype, np.floating):
            mean = np.mean([np.asarray(v[index], dtype="float64") for v in values], axis=0)
            averaged.append(mean.astype(first.dtype))
        else:
            averaged.append(np.array(first))
    result = keras.models.clone_model(members[0])
    result.set_weights(averaged)
    if batchnorm_data is not None:
        batchnorm.recompute_batchnorm(result, batchnorm_data, num_batches=num_batches)
    return result


def snapshot_paths(directory):
    """The `snapshot-NNN.keras` files in `directory`, in cycle order.

    The `SnapshotEnsemble` callback's convention: `snapshot-001.keras`,
    `snapshot-002.keras`, ... (the 1-based cycle, at least 3 digits). They
    are sorted by number (`snapshot-010` after `snapshot-002`); other files,
    temporary files (starting with `.`) included, are ignored.

    Args:
        directory: str. The snapshots' folder.

    Returns:
        A list of paths; empty if `directory` does not exist (yet).

    Example:

    >>> kerasrec.ensembles.snapshot_paths("run/snapshots")
    ['run/snapshots/snapshot-001.keras', 'run/snapshots/snapshot-002.keras']
    """
    if not os.path.isdir(directory):
        return []
    found = []
    for filename in os.listdir(directory):
        match = _SNAPSHOT.fullmatch(filename)
        if match and os.path.isfile(os.path.join(directory, filename)):
            found.append((int(match.group(1)), filename))
    return [os.path.join(directory, filename) for _, filename in sorted(found)]


def load_snapshots(directory, *, last=None, method="probabilities"):
    """Returns the `average` of the snapshots in `directory`.

    Args:
        directory: str. A folder written by the `SnapshotEnsemble` callback
            (see `snapshot_paths`).
        last: int > 0 or None. Average only the last `last` snapshots (the
            early ones are often worse). Defaults to `None`: all of them.
        method: as in `average`. Defaults to `"probabilities"`.

    Returns:
        An uncompiled `keras.Model`, as from `average`.

    Raises:
        ValueError: if `directory` does not exist or holds no snapshot, if
            `last` is not an int > 0 or is more than the snapshots present,
            or as `average` does.

    Example:

    >>> ensemble = kerasrec.ensembles.load_snapshots("run/snapshots", last=3)
    """
    check_positive_int("last", last, allow_none=True)
    _check_method(method)
    if not os.path.isdir(directory):
        raise ArgumentError(
            f"Argument `directory` must be an existing folder. Received: directory={directory!r}"
        )
    paths = snapshot_paths(directory)
    if not paths:
        raise ArgumentError(
            "Argument `directory` must hold snapshots (snapshot-001.keras, ...). "
            f"Received: directory={directory!r} with none"
        )
    if last is not None and last > len(paths):
        raise ArgumentError(
            f"Argument `last` must be <= the number of snapshots present ({len(paths)}). Received: last={last}"
        )
    return average(paths if last is None else paths[-last:], method=method)
