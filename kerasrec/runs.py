"""The recipe harness: flags, seeds, one run folder, resumable steps, seed repeats.

Every recipe does the same things, so they live here, and a recipe is plain
top-level code:

```python
parser = runs.make_parser(__doc__, epochs=10)
run = runs.start("baseline", parser, quick={"dataset": "digits"})
args = run.args                               # the resolved flags
...                                           # load data, build
history = run.step("fit", train_and_evaluate, epochs=args.epochs)  # reused on a rerun
accuracies = run.repeat("final", train_one_seed, epochs=args.epochs)  # one per --seeds
run.check_difference("tuned beats baseline", tuned, baseline)  # mean ± sd rule
run.finish({"test_accuracy": acc})            # results.json + the printed table
```

- **Flags.** `make_parser` gives every recipe the same flags; `start` parses
  them, applies the recipe's `quick` defaults under `--quick` (a flag given
  on the command line still wins), validates, seeds, and records the
  *resolved* flags in `config.json`. A bad flag, and any other
  `ArgumentError` or `DataUnavailableError` the script raises, ends the
  script with one `error:` line and exit status 2 (set `KERASREC_DEBUG=1`
  for the traceback); every other exception, Keras's own `ValueError`s
  included, keeps its traceback.
- **Steps.** `Run.step(name, fn, **inputs)` runs `fn()` once and stores its
  (JSON) result with its inputs under `steps/`. Rerunning with the same
  `--out` reuses each finished step whose inputs are unchanged and redoes,
  saying so, each step whose inputs changed; a killed run loses at most the
  step in progress. A step that needs a folder of its own (a KerasTuner
  project) gets one per set of inputs (`workdir=True`), so results made
  under different settings never mix.
- **Seeds.** `--seeds N` repeats what `Run.repeat` runs over seeds
  `seed, seed+1, ..., seed+N-1`; `mean_sd`, `format_mean_sd` and
  `Run.check_difference` report and judge them: a difference between two
  set-ups holds only when it exceeds the spread (the sum of the two
  standard deviations, so the mean ± sd intervals do not overlap).

A run folder (`runs/<recipe>/<YYYYmmdd-HHMMSS>/` unless `--out` says
otherwise) holds `config.json`, `steps/`, `history.json`, `results.json`, PNG
plots and `model.keras`. Every file is written atomically (`kerasrec._io`),
and flags are validated before anything is written.
"""

import argparse
import atexit
import contextlib
import datetime
import hashlib
import json
import math
import os
import platform
import re
import sys
import time

import keras

from kerasrec._checks import ArgumentError
from kerasrec._io import read_json, replacing, to_jsonable, write_atomic, write_json
from kerasrec.stats import Comparison, compare, format_mean_sd, mean_sd

__all__ = [
    "ArgumentError", "Comparison", "Run", "compare", "format_mean_sd", "machine",
    "main", "make_parser", "mean_sd", "require", "start", "write_atomic",
]

QUICK_EPOCHS = 2
DEFAULT_ROOT = "runs"


def make_parser(
    doc=None, *, dataset="shapes", epochs=10, batch_size=128, learning_rate=1e-3, seeds=1
):
    """The flags every recipe takes, with the recipe's own defaults.

    `--dataset`, `--epochs`, `--batch-size`, `--learning-rate`, `--seed`,
    `--seeds` (how many seeds `Run.repeat` runs), `--out`, `--quick` (the
    recipe's quick defaults: small data and at most 2 epochs, for smoke runs
    and tests) and `--train-size` (use only the first N training examples).
    Add recipe-specific flags to the returned parser.

    Args:
        doc: the recipe's docstring; its `Description:` line becomes the
            help text. Defaults to `None`.
        dataset: default `--dataset`. Defaults to `"shapes"`.
        epochs: default `--epochs`. Defaults to `10`.
        batch_size: default `--batch-size`. Defaults to `128`.
        learning_rate: default `--learning-rate`. Defaults to `1e-3`.
        seeds: default `--seeds`. Defaults to `1`.

    Returns:
        An `argparse.ArgumentParser`.
    """
    description = None
    for line in (doc or "").splitlines():
        if line.startswith("Description:"):
            description = line.split(":", 1)[1].strip()
    parser = argparse.ArgumentParser(description=description)
    add = parser.add_argument
    add("--dataset", default=dataset,
        help="'shapes', 'shapes/similar', 'shapes/different', 'digits', "
        "'folder:PATH' or any TFDS name (default: %(default)s)")
    add("--epochs", type=int, default=epochs, help="default: %(default)s")
    add("--batch-size", type=int, default=batch_size,
        help="global batch size (default: %(default)s)")
    add("--learning-rate", type=float, default=learning_rate, help="default: %(default)s")
    add("--seed", type=int, default=0, help="the first seed (default: %(default)s)")
    add("--seeds", type=int, default=seeds,
        help="how many seeds the recipe's comparison is repeated over, reported as "
        "mean ± sd (default: %(default)s)")
    add("--out", default=None,
        help="run folder (default: runs/<recipe>/<time>); rerunning with the "
        "same folder reuses every finished step whose inputs did not change")
    add("--quick", action="store_true",
        help=f"the recipe's quick settings (small data, at most {QUICK_EPOCHS} epochs): "
        "a smoke run of a minute or two; quick numbers are not the results")
    add("--train-size", type=int, default=None,
        help="use only the first N training examples (default: all)")
    return parser


def _check_args(args):
    for name in ("epochs", "batch_size", "seeds"):
        value = getattr(args, name, 1)
        if not isinstance(value, int) or value <= 0:
            raise ArgumentError(
                f"Argument `--{name.replace('_', '-')}` must be a positive integer. "
                f"Received: {name}={value}"
            )
    if not (args.learning_rate > 0 and math.isfinite(args.learning_rate)):
        raise ArgumentError(
            "Argument `--learning-rate` must be a finite number > 0. "
            f"Received: learning_rate={args.learning_rate}"
        )
    if args.train_size is not None and args.train_size <= 0:
        raise ArgumentError(
            "Argument `--train-size` must be a positive integer. "
            f"Received: train_size={args.train_size}"
        )


def require(args, *checks):
    """Raises `ArgumentError` for the first recipe flag out of range.

    A recipe's `check` function (see `start`) in one call:

    ```python
    def check_flags(args):
        runs.require(
            args,
            (0 <= args.label_noise < 1, "label-noise", "a number in [0, 1)"),
            (args.patience > 0, "patience", "a positive integer"),
        )
    ```

    Args:
        args: the parsed flags.
        *checks: `(holds, flag, allowed)` tuples: whether the flag's value
            is allowed, the flag's name without `--`, and the allowed
            values in words.

    Raises:
        ArgumentError: naming the first flag whose check does not hold,
            what it allows and the value received.
    """
    for check in checks:
        if not (isinstance(check, tuple) and len(check) == 3 and isinstance(check[1], str)):
            raise ArgumentError(
                "Argument `checks` must be `(holds, flag, allowed)` tuples. "
                f"Received: {check!r}"
            )
        holds, flag, allowed = check
        if not holds:
            name = flag.replace("-", "_")
            raise ArgumentError(
                f"Argument `--{flag}` must be {allowed}. "
                f"Received: {name}={getattr(args, name, None)!r}"
            )


_replacing = replacing  # the name earlier code used
_to_jsonable = to_jsonable


def machine():
    """A one-line description of this machine, for results files."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


_STEP_NAME = re.compile(r"^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*$")


def _normalized(value):
    """`value` as it reads back from a JSON file (tuples as lists, nan as None)."""
    return json.loads(json.dumps(to_jsonable(value), allow_nan=False))


def _changes(old, new):
    """`"name: old -> new"` for each key whose value differs."""
    keys = sorted(set(old) | set(new))
    missing = object()
    out = []
    for key in keys:
        a, b = old.get(key, missing), new.get(key, missing)
        if a != b:
            show = lambda v: "(unset)" if v is missing else json.dumps(v)[:60]  # noqa: E731
            out.append(f"{key}: {show(a)} -> {show(b)}")
    return out


class Run:
    """One run folder and what the recipe has recorded in it so far.

    Made by `start`; `args` are the resolved flags, `seeds` the seeds
    `repeat` runs over.
    """

    def __init__(self, recipe, path, config, args=None):
        self.recipe = recipe
        self.path = path
        self.config = config
        self.args = args
        seed = config.get("seed", 0)
        self.seed = seed
        self.seeds = [seed + i for i in range(config.get("seeds", 1) or 1)]
        self.claims = []
        self.started = time.time()
        self.steps_reused = []
        self.steps_run = []
        # An earlier run wrote here: a recipe that resumes reuses its work,
        # so this run's time is not what the results cost.
        self.resumed = os.path.exists(os.path.join(path, "config.json"))

    def record(self, **values):
        """Adds resolved values (e.g. dataset facts) to `config.json`."""
        self.config.update(values)
        self.save_json("config.json", self.config)

    def file(self, name):
        """The path of `name` inside the run folder."""
        return os.path.join(self.path, name)

    def log(self, message):
        """A progress line on the terminal, prefixed with the recipe name."""
        print(f"[{self.recipe}] {message}", flush=True)

    def save_json(self, name, obj):
        """Writes `obj` as strict JSON to `name` in the run folder (atomically)."""
        if name != "config.json" and not os.path.exists(self.file("config.json")):
            self.save_json("config.json", self.config)
        return write_json(self.file(name), obj)

    def load_json(self, name, default=None):
        """What an earlier (possibly killed) run saved under `name`, if any."""
        return read_json(self.file(name), default)

    def save_text(self, name, text):
        """Writes `text` to `name` in the run folder (atomically)."""
        if not os.path.exists(self.file("config.json")):
            self.save_json("config.json", self.config)
        return write_atomic(self.file(name), text)

    def save_history(self, history, name="history.json", plot="learning_curves.png", title=None):
        """Saves a `History` (or its `.history` dict) and plots its curves."""
        from kerasrec import plots

        data = getattr(history, "history", history)
        self.save_json(name, data)
        if plot:
            plots.plot_history(data, self.file(plot), title=title or self.recipe)
        return data

    def save_model(self, model, name="model.keras"):
        """Saves `model` to `name` in the run folder (atomically)."""
        if not os.path.exists(self.file("config.json")):
            self.save_json("config.json", self.config)
        with replacing(self.file(name), suffix=".keras") as tmp:
            model.save(tmp)  # Keras wants the .keras suffix
        return self.file(name)

    def flags(self, *names):
        """The resolved flags a step depends on, to pass as its `**inputs`.

        Named flags only, or, with no names, every flag but `--out`,
        `--seed` and `--seeds` (a step's seed is an input of its own, and
        asking for more seeds must not redo the finished ones).
        """
        flags = vars(self.args) if self.args is not None else self.config
        if names:
            return {name: flags[name] for name in names}
        return {k: v for k, v in flags.items() if k not in ("out", "seed", "seeds", "recipe")}

    # -- steps: what makes a rerun resume ---------------------------------

    def _step_file(self, name):
        if (not isinstance(name, str) or not _STEP_NAME.match(name)
                or any(part.strip(".") == "" for part in name.split("/"))):
            raise ArgumentError(
                "Argument `name` must be a step name of letters, digits and `_.=-`, "
                f"parts joined by `/`. Received: name={name!r}"
            )
        return self.file(os.path.join("steps", f"{name}.json"))

    def workdir(self, name, **inputs):
        """A folder for step `name` that belongs to these `inputs` only.

        Its name ends in a hash of `inputs`, so a rerun under other settings
        starts a fresh folder instead of resuming one made under the old
        ones, and changing the settings back finds the old folder again.
        """
        self._step_file(name)
        key = json.dumps(_normalized(inputs), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        path = self.file(os.path.join("work", f"{name.replace('/', '-')}-{digest}"))
        os.makedirs(path, exist_ok=True)
        return path

    def step(self, name, fn, *, workdir=False, seed=None, **inputs):
        """Runs `fn()` unless a finished step `name` with the same inputs is stored.

        Before `fn` runs, every random generator is seeded with `seed` (the
        run's `--seed` unless given), so the step's own draws (initial
        weights, dropout, a tuner's samples) do not depend on which earlier
        steps ran now and which were reused. A `tf.data` pipeline made
        before the step keeps its own shuffle state, which advances with
        every pass over it: a step that must see the same batch order
        whether or not earlier steps ran builds its pipelines inside `fn`.
        The result (anything JSON can hold) is
        stored with `inputs` in `steps/<name>.json`; what the step returns
        is the stored value as it reads back, whether it ran now or earlier.

        Args:
            name: the step's name, parts joined by `/` (e.g. `"sgd/cosine/seed1"`).
            fn: the step, called as `fn()`, or `fn(folder)` with `workdir=True`.
            workdir: give `fn` a folder of its own for these inputs (see
                `workdir`). Defaults to `False`.
            seed: the seed set before `fn` runs. Defaults to `None` (the
                run's `--seed`).
            **inputs: everything the result depends on besides the code:
                flags, earlier steps' results. A change in any redoes the step.

        Returns:
            The step's result, as stored.
        """
        path = self._step_file(name)
        seed = self.seed if seed is None else seed
        inputs = _normalized({**inputs, "seed": seed})
        stored = read_json(path)
        if stored is not None and stored.get("inputs") == inputs:
            self.steps_reused.append(name)
            return stored["result"]
        if stored is not None:
            changed = "; ".join(_changes(stored.get("inputs", {}), inputs))
            self.log(f"step {name}: inputs changed since it ran ({changed}): redoing it")
        keras.utils.set_random_seed(seed)
        started = time.time()
        result = fn(self.workdir(name, **inputs)) if workdir else fn()
        record = {
            "inputs": inputs,
            "result": to_jsonable(result),
            "seconds": round(time.time() - started, 1),
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        self.save_json(os.path.join("steps", f"{name}.json"), record)
        self.steps_run.append(name)
        return _normalized(result)

    def repeat(self, name, fn, **inputs):
        """`step(f"{name}/seed{s}", fn(s), seed=s)` for each of `self.seeds`.

        Returns:
            The list of results, one per seed, in seed order.
        """
        return [
            self.step(f"{name}/seed{s}", lambda s=s: fn(s), seed=s, **inputs) for s in self.seeds
        ]

    # -- claims -------------------------------------------------------------

    def check(self, claim, holds, evidence):
        """Records whether one of the recipe's claims held, with the numbers."""
        self.claims.append({"claim": claim, "holds": bool(holds), "evidence": evidence})
        self.log(f"claim {'HOLDS' if holds else 'DOES NOT HOLD'}: {claim} ({evidence})")
        return bool(holds)

    def check_difference(self, claim, a, b, *, names=("A", "B"), higher_is_better=True,
                         scale=100.0, unit="%", digits=1):
        """Records whether set-up `a` beats `b` by more than the seed spread.

        See `compare`. With one seed the claim is recorded as not held: one
        seed is a smoke test, not evidence of a difference.

        Returns:
            The `Comparison`.
        """
        comparison = compare(a, b, names=names, higher_is_better=higher_is_better,
                             scale=scale, unit=unit, digits=digits)
        self.check(claim, comparison.holds, comparison.evidence)
        return comparison

    def finish(self, metrics, headline=None):
        """Writes `results.json` and prints the results table."""
        results = {
            "recipe": self.recipe,
            "dataset": self.config.get("dataset"),
            "quick": self.config.get("quick"),
            "seeds": self.seeds,
            "headline": headline,
            "metrics": metrics,
            "claims": self.claims,
            "seconds": round(time.time() - self.started, 1),
            "resumed": self.resumed,
            "steps_reused": len(self.steps_reused),
            "steps_run": len(self.steps_run),
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        }
        self.save_json("results.json", results)
        if self.config.get("quick"):
            self.log("quick mode: a smoke run on small data; these numbers are not the results")
        print(format_table(self.recipe, metrics, self.claims, self.path), flush=True)
        return results


def format_table(recipe, metrics, claims, path):
    """The short plain-text table a recipe prints at the end."""
    rows = [(k, _fmt(v)) for k, v in metrics.items()]
    width = max([len(k) for k, _ in rows] + [6])
    lines = [f"== {recipe}: results ==", *(f"{k:<{width}}  {v}" for k, v in rows)]
    for c in claims:
        lines.append(f"[{'holds' if c['holds'] else 'FAILS'}] {c['claim']}: {c['evidence']}")
    lines.append(f"run folder: {path}")
    return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _one_line_errors():
    """Makes an uncaught `ArgumentError` or `DataUnavailableError` one line, exit 2.

    A recipe is top-level code, so there is no `main()` to wrap: the
    harness hooks `sys.excepthook` instead. Every other exception (Keras's
    own `ValueError`s included) keeps its traceback.
    """
    if getattr(sys.excepthook, "_kerasrec", False):
        return
    previous = sys.excepthook

    def hook(kind, value, traceback):
        from kerasrec.data import DataUnavailableError

        if issubclass(kind, (ArgumentError, DataUnavailableError)) and not os.environ.get(
            "KERASREC_DEBUG"
        ):
            print(f"error: {value}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            atexit._run_exitfuncs()  # what a normal exit would run
            os._exit(2)
        previous(kind, value, traceback)

    hook._kerasrec = True
    sys.excepthook = hook


def _parse(parser, argv, quick):
    """Parses `argv`; under `--quick`, `quick` (and at most 2 epochs) are the defaults."""
    args = parser.parse_args(argv)
    if not args.quick:
        return args
    defaults = {"epochs": min(parser.get_default("epochs"), QUICK_EPOCHS), **(quick or {})}
    unknown = sorted(set(defaults) - set(vars(args)))
    if unknown:
        raise ArgumentError(
            f"Argument `quick` names flags the parser does not have: {unknown}. "
            f"Received: quick={quick!r}"
        )
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def start(recipe, args, *, root=DEFAULT_ROOT, quick=None, check=None, argv=None, **resolved):
    """Parses and validates the flags, seeds everything, opens the run folder.

    Writes nothing: `config.json` (every resolved flag plus `resolved` and
    what `Run.record` adds) appears with the first file the run saves. When
    the folder holds an earlier run of another recipe, refuses; when it
    holds one of this recipe under other flags, says which flags changed
    (each step then says whether it is reused or redone).

    Args:
        recipe: the recipe's name, used for the folder and the table.
        args: the parser from `make_parser` (the script's flags are parsed
            here, and bad input ends the script with a one-line `error:`),
            or already parsed flags.
        root: where run folders go unless `--out` is given. Defaults to
            `"runs"`.
        quick: the defaults `--quick` sets, e.g. `{"dataset": "digits",
            "train_size": 512}`; `epochs` is at most 2 unless it says
            otherwise, and a flag given on the command line wins. Defaults
            to `None`.
        check: a function of the parsed flags that raises `ArgumentError`
            for a bad combination. Defaults to `None`.
        argv: the command line to parse instead of `sys.argv[1:]`.
            Defaults to `None`.
        **resolved: more values to record in `config.json`.

    Returns:
        A `Run`.

    Raises:
        ArgumentError: a flag is out of range (before anything is written).
    """
    if isinstance(args, argparse.ArgumentParser):
        if argv is None:
            _one_line_errors()
        args = _parse(args, argv, quick)
    elif getattr(args, "quick", False):
        # Flags parsed by the caller: cap the epochs as --quick promises.
        args.epochs = min(args.epochs, QUICK_EPOCHS)
        for name, value in (quick or {}).items():
            setattr(args, name, value)
    _check_args(args)
    if check is not None:
        check(args)
    keras.utils.set_random_seed(args.seed)
    path = args.out
    if path is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(root, recipe, stamp)
        suffix = 1
        while os.path.exists(path):
            suffix += 1
            path = os.path.join(root, recipe, f"{stamp}-{suffix}")
    config = _normalized({"recipe": recipe, **vars(args), **resolved})
    earlier = read_json(os.path.join(path, "config.json"))
    if earlier is not None and earlier.get("recipe") not in (None, recipe):
        raise ArgumentError(
            f"Argument `--out` names a folder that holds a run of recipe "
            f"{earlier.get('recipe')!r}, not {recipe!r}: choose another folder. "
            f"Received: out={path!r}"
        )
    run = Run(recipe, path, config, args=args)
    run.log(f"run folder {path}")
    if earlier is not None:
        flags = {k: v for k, v in earlier.items() if k in config}
        changed = _changes(flags, config)
        if changed:
            run.log("resuming under other flags than the folder's last run ("
                    + "; ".join(changed) + "): steps whose inputs changed are redone")
        else:
            run.log("resuming: finished steps are reused")
    return run


def main(fn):
    """Runs `fn()` and turns kerasrec's argument errors into one line, exit status 2.

    `ArgumentError` and `kerasrec.data.DataUnavailableError` are the errors
    a user fixes from the command line, so they are printed without a
    traceback (set `KERASREC_DEBUG=1` to see it). Any other exception,
    a `ValueError` from inside Keras included, keeps its traceback.
    """
    from kerasrec.data import DataUnavailableError

    try:
        fn()
    except (ArgumentError, DataUnavailableError) as e:
        if os.environ.get("KERASREC_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
