"""The recipe harness: shared flags, seeding, one run folder, a results table.

Every recipe does the same five things, so they live here:

```python
parser = runs.make_parser(__doc__, epochs=10)
args = parser.parse_args()
run = runs.start("baseline", args)          # validates, seeds, writes config.json
...                                          # load data, build, fit
run.save_history(history)                    # history.json + learning_curves.png
run.save_model(model)                        # model.keras
run.check("beats chance", acc > 2 / C, f"{acc:.3f} vs chance {1 / C:.3f}")
run.finish({"test_accuracy": acc})           # results.json + the printed table
```

A run folder (`runs/<recipe>/<YYYYmmdd-HHMMSS>/` unless `--out` says
otherwise) holds `config.json`, `history.json`, `results.json`, PNG plots
and `model.keras`. Every file is written atomically (a temporary file in the
same folder, then `os.replace`), so a killed run never leaves half a file,
and arguments are validated before anything is written.
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time

import keras

from kerasrec._checks import ArgumentError

QUICK_EPOCHS = 2
DEFAULT_ROOT = "runs"


def make_parser(
    doc=None, *, dataset="shapes", epochs=10, batch_size=128, learning_rate=1e-3
):
    """The flags every recipe takes, with the recipe's own defaults.

    `--dataset`, `--epochs`, `--batch-size`, `--learning-rate`, `--seed`,
    `--out`, `--quick` (shrink data to 2000/500/500 examples and epochs to
    at most 2, for smoke runs and tests) and `--train-size` (use only the
    first N training examples). Add recipe-specific flags to the returned
    parser.

    Args:
        doc: the recipe's docstring; its `Description:` line becomes the
            help text. Defaults to `None`.
        dataset: default `--dataset`. Defaults to `"shapes"`.
        epochs: default `--epochs`. Defaults to `10`.
        batch_size: default `--batch-size`. Defaults to `128`.
        learning_rate: default `--learning-rate`. Defaults to `1e-3`.

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
    add("--seed", type=int, default=0, help="default: %(default)s")
    add("--out", default=None,
        help="run folder (default: runs/<recipe>/<time>); rerunning with the "
        "same folder keeps what is there")
    add("--quick", action="store_true",
        help=f"small data and at most {QUICK_EPOCHS} epochs: a smoke run in well under a minute")
    add("--train-size", type=int, default=None,
        help="use only the first N training examples (default: all)")
    return parser


def _check_args(args):
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value <= 0:
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


@contextlib.contextmanager
def _replacing(path, suffix=".tmp"):
    """A temporary path beside `path` that replaces `path` if the block succeeds.

    The temporary file (ending in `suffix`) is removed if the block fails.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_atomic(path, data):
    """Writes `data` (str or bytes) to `path` through a temporary file."""
    with _replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def _to_jsonable(value):
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


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


class Run:
    """One run folder and what the recipe has recorded in it so far."""

    def __init__(self, recipe, path, config):
        self.recipe = recipe
        self.path = path
        self.config = config
        self.claims = []
        self.started = time.time()
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
        if name != "config.json" and not os.path.exists(self.file("config.json")):
            self.save_json("config.json", self.config)
        write_atomic(self.file(name), json.dumps(_to_jsonable(obj), indent=2) + "\n")
        return self.file(name)

    def load_json(self, name, default=None):
        """What an earlier (possibly killed) run saved under `name`, if any."""
        try:
            with open(self.file(name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return default

    def save_history(self, history, name="history.json", plot="learning_curves.png", title=None):
        """Saves a `History` (or its `.history` dict) and plots its curves."""
        from kerasrec import plots

        data = getattr(history, "history", history)
        self.save_json(name, data)
        if plot:
            plots.plot_history(data, self.file(plot), title=title or self.recipe)
        return data

    def save_model(self, model, name="model.keras"):
        if not os.path.exists(self.file("config.json")):
            self.save_json("config.json", self.config)
        with _replacing(self.file(name), suffix=".keras") as tmp:
            model.save(tmp)  # Keras wants the .keras suffix
        return self.file(name)

    def check(self, claim, holds, evidence):
        """Records whether one of the recipe's claims held, with the numbers."""
        self.claims.append({"claim": claim, "holds": bool(holds), "evidence": evidence})
        self.log(f"claim {'HOLDS' if holds else 'DOES NOT HOLD'}: {claim} ({evidence})")
        return bool(holds)

    def finish(self, metrics, headline=None):
        """Writes `results.json` and prints the results table."""
        results = {
            "recipe": self.recipe,
            "dataset": self.config.get("dataset"),
            "quick": self.config.get("quick"),
            "headline": headline,
            "metrics": metrics,
            "claims": self.claims,
            "seconds": round(time.time() - self.started, 1),
            "resumed": self.resumed,
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        }
        self.save_json("results.json", results)
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


def start(recipe, args, root=DEFAULT_ROOT, **resolved):
    """Validates the flags, seeds everything, creates the run folder.

    With `--quick`, `args.epochs` is capped at `QUICK_EPOCHS`. Writes
    `config.json` with every flag plus `resolved` values (e.g. the dataset
    facts), so a run can be reproduced from its folder alone.

    Args:
        recipe: the recipe's name, used for the folder and the table.
        args: the parsed flags (from `make_parser`).
        root: where run folders go unless `--out` is given. Defaults to
            `"runs"`.
        **resolved: more values to record in `config.json`.

    Returns:
        A `Run`.

    Raises:
        ValueError: a flag is out of range (before anything is written).
    """
    _check_args(args)
    if args.quick:
        args.epochs = min(args.epochs, QUICK_EPOCHS)
    keras.utils.set_random_seed(args.seed)
    path = args.out
    if path is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = os.path.join(root, recipe, stamp)
        suffix = 1
        while os.path.exists(path):
            suffix += 1
            path = os.path.join(root, recipe, f"{stamp}-{suffix}")
    config = {"recipe": recipe, **vars(args), **resolved}
    run = Run(recipe, path, config)
    run.log(f"run folder {path}")
    return run


def main(fn):
    """Runs `fn()` and turns bad input into a one-line error, exit status 2.

    `ValueError` and `kerasrec.data.DataUnavailableError` are the errors a
    user can fix from the command line, so they are printed without a
    traceback (set `KERASREC_DEBUG=1` to see it).
    """
    from kerasrec.data import DataUnavailableError

    try:
        fn()
    except (ValueError, DataUnavailableError) as e:
        if os.environ.get("KERASREC_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
