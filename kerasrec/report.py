"""The tuning playbook's report: every step's numbers in one Markdown page.

`playbook_report` turns the results of the playbook's steps (the dicts that
`kerasrec.playbook`'s results give with `to_dict()`, as a run folder stores
them) into `report.md`; `markdown_to_html` makes `report.html` from it, and
`playbook_metrics` the flat numbers of `results.json`.
`recipes/tuning_playbook.py` writes both into its run folder, next to the
plots the report shows.

```python
results = {"initial_loss": initial, "overfit": overfit, ..., "baseline": baseline}
text = kerasrec.report.playbook_report(results, settings=settings, claims=run.claims)
run.save_text("report.md", text)
run.save_text("report.html", kerasrec.report.markdown_to_html(text, title="Tuning playbook"))
```
"""

import html

from kerasrec import diagnosis as _diagnosis
from kerasrec import runs
from kerasrec._checks import ArgumentError
from kerasrec._io import read_json

__all__ = [
    "PLOTS",
    "format_hyperparameters",
    "markdown_to_html",
    "playbook_metrics",
    "playbook_report",
    "read_baseline",
    "trials_markdown",
]

# The plots the report shows, by step, as file names in the run folder.
PLOTS = {
    "lr_range_test": "step3_lr_range_test.png",
    "coarse": "step4_coarse.png",
    "refine": "step5_refine.png",
    "final": "learning_curves.png",
}

_RESULTS = ("initial_loss", "overfit", "lr_range_test", "coarse", "ranges", "refine",
            "diagnosis", "final", "baseline")
_SETTINGS = ("dataset", "optimizer", "batch_size", "train_examples", "coarse_examples",
             "coarse_epochs", "refine_examples", "refine_epochs", "warmup_epochs", "epochs",
             "patience")

_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:auto}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
          "img{max-width:100%}")


def format_hyperparameters(values):
    """`"learning_rate=0.279, weight_decay=1.18e-05"`: floats to 3 significant digits.

    Args:
        values: `{name: value}`, e.g. a trial's `hyperparameters`.

    Returns:
        A string.

    Example:

    >>> kerasrec.report.format_hyperparameters({"learning_rate": 0.27867, "weight_decay": 0})
    'learning_rate=0.279, weight_decay=0'
    """
    if not isinstance(values, dict):
        raise ArgumentError(f"Argument `values` must be a dict. Received: values={values!r}")
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items())


def _number(value, spec):
    return "-" if value is None else format(value, spec)


def trials_markdown(table, *, objective="val_accuracy"):
    """A search's trials as a Markdown table, one row per trial.

    Columns: the trial id, every hyperparameter (3 significant digits), the
    score (the objective at the trial's best epoch), the epochs and the
    seconds the trial took; `-` where a value is missing (a trial still
    running, or a score that was not finite).

    Args:
        table: `trials_table()` rows (a `SearchResult.table`).
        objective: the score's name, for its column header. Defaults to
            `"val_accuracy"`.

    Returns:
        A Markdown table as a string.

    Raises:
        ValueError: `table` is not a list of rows.

    Example:

    >>> print(kerasrec.report.trials_markdown(coarse.table, objective=coarse.objective))
    | trial | learning_rate | weight_decay | val_accuracy | epochs | seconds |
    ...
    """
    if not isinstance(table, (list, tuple)) or not all(isinstance(r, dict) for r in table):
        raise ArgumentError("Argument `table` must be a list of `trials_table()` rows. "
                            f"Received: table={table!r}")
    names = []
    for r in table:
        names += [n for n in r.get("hyperparameters", {}) if n not in names]
    lines = ["| trial | " + " | ".join([*names, objective, "epochs", "seconds"]) + " |",
             "|---" * (len(names) + 4) + "|"]
    for r in table:
        hps = r.get("hyperparameters", {})
        cells = [str(r.get("trial_id", "")),
                 *(_number(hps.get(n), ".3g") if not isinstance(hps.get(n), str) else hps[n]
                   for n in names),
                 _number(r.get("score"), ".4f"), str(r.get("epochs", "-")),
                 _number(r.get("seconds"), ".0f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _check_keys(name, value, keys):
    missing = [k for k in keys if k not in value] if isinstance(value, dict) else list(keys)
    if missing:
        raise ArgumentError(f"Argument `{name}` must be a dict with {list(keys)}. "
                            f"Received: {name} without {missing}")


def _warmup(epochs):
    if not epochs:
        return "no warmup"
    return f"a linear warmup over {epochs:g} epoch{'' if epochs == 1 else 's'}"


def _findings(found):
    return _diagnosis.format_findings([_diagnosis.Finding(**f) for f in found])


def playbook_report(results, *, settings, claims=(), quick=False, plots=None):
    """The playbook's `report.md`: every step's numbers, plots and verdicts.

    One section per step (1. Initial loss ... 7. Final fit), then the
    claims. The final fit and the baseline are reported over their seeds
    as mean ± sd (`kerasrec.runs.format_mean_sd`).

    Args:
        results: the steps' results, a dict with
            - `initial_loss`: step 1, `InitialLoss.to_dict()`;
            - `overfit`: step 2, `OverfitResult.to_dict()`;
            - `lr_range_test`: step 3, `LRRangeResult.to_dict()`;
            - `coarse`: step 4, `SearchResult.to_dict()`;
            - `ranges`: step 5's ranges, `narrow_ranges()`;
            - `refine`: step 5, `SearchResult.to_dict()`;
            - `diagnosis`: step 6, the `Finding.to_dict()`s of the
              refinement's best trial;
            - `final`: step 7, one dict per seed with `test_accuracy`,
              `epochs`, `best_epoch` and `findings` (the `Finding.to_dict()`s
              of its curves);
            - `baseline`: `{"test_accuracy": [one per seed], "epochs": int,
              "source": str}`.
        settings: the run's settings, a dict with `dataset`, `optimizer`,
            `batch_size`, `train_examples`, `coarse_examples`,
            `coarse_epochs`, `refine_examples`, `refine_epochs`,
            `warmup_epochs`, `epochs` and `patience`.
        claims: the run's claims (`Run.claims`: dicts with `claim`,
            `holds`, `evidence`). Defaults to `()`.
        quick: whether this is a `--quick` smoke run (the report says so).
            Defaults to `False`.
        plots: `{step: file name}` of the plots to show, for the keys of
            `PLOTS`. Defaults to `None` (`PLOTS`).

    Returns:
        The report as a Markdown string.

    Raises:
        ValueError: `results` or `settings` lacks an entry, or `final` is
            empty.

    Example:

    >>> text = kerasrec.report.playbook_report(results, settings=settings, claims=run.claims)
    >>> "## 7. Final fit" in text
    True
    """
    _check_keys("results", results, _RESULTS)
    _check_keys("settings", settings, _SETTINGS)
    r, s = results, settings
    final, baseline, coarse, refine = r["final"], r["baseline"], r["coarse"], r["refine"]
    if not isinstance(final, (list, tuple)) or not final:
        raise ArgumentError("Argument `results` must hold a non-empty list `final`, one "
                            f"result per seed. Received: final={final!r}")
    plots = {**PLOTS, **(plots or {})}
    warmup = _warmup(s["warmup_epochs"])
    initial, overfit, lr_test = r["initial_loss"], r["overfit"], r["lr_range_test"]
    lines = [
        f"# Tuning playbook: {s['dataset']}",
        "",
        f"Optimizer {s['optimizer']} (its decoupled weight decay is what steps 3-5 tune); "
        f"batch size {s['batch_size']}; {s['train_examples']} training examples"
        + (" (--quick: a smoke run, the numbers are not the results)" if quick else "") + ".",
        "",
        "## 1. Initial loss",
        "",
        f"{initial['loss']:.3f} against ln(C) = {initial['expected']:.3f}: "
        f"**{'ok' if initial['ok'] else 'off'}**. {initial['message']}.",
        "",
        "## 2. Overfit a small sample",
        "",
        f"**{'reached' if overfit['reached'] else 'missed'}**: {overfit['message']}.",
        "",
        "## 3. LR range test",
        "",
        f"Suggested learning rate **{lr_test['suggested_learning_rate']:.3g}** "
        f"({lr_test['method']}; {len(lr_test['losses'])} batches from "
        f"{lr_test['learning_rates'][0]:.2g} to {lr_test['learning_rates'][-1]:.2g}; "
        f"stopped early: {lr_test['stopped_early']}).",
        "",
        f"![LR range test]({plots['lr_range_test']})",
        "",
        "## 4. Coarse grid",
        "",
        f"{len(coarse['table'])} trials of {s['coarse_epochs']} epochs on "
        f"{s['coarse_examples']} examples, {warmup}, then a constant learning rate. "
        f"Best: {format_hyperparameters(coarse['best_hyperparameters'])}, "
        f"{coarse.get('objective', 'val_accuracy')} {coarse['best_score']:.4f}.",
        "",
        trials_markdown(coarse["table"], objective=coarse.get("objective", "val_accuracy")),
        "",
        f"![coarse grid]({plots['coarse']})",
        "",
        "## 5. Refine",
        "",
        "Ranges that the best coarse trials span, widened: "
        + ", ".join(f"{k} {lo:.3g} to {hi:.3g}" for k, (lo, hi) in r["ranges"].items())
        + f". {len(refine['table'])} random trials of {s['refine_epochs']} epochs on "
        f"{s['refine_examples']} examples, {warmup}. "
        f"Best: {format_hyperparameters(refine['best_hyperparameters'])}, "
        f"{refine.get('objective', 'val_accuracy')} {refine['best_score']:.4f}.",
        "",
        trials_markdown(refine["table"], objective=refine.get("objective", "val_accuracy")),
        "",
        f"![refine]({plots['refine']})",
        "",
        "## 6. Learning curves",
        "",
        "Best refinement trial:",
        "",
        _findings(r["diagnosis"]),
        "",
        "Final run (first seed):",
        "",
        _findings(final[0].get("findings", [])),
        "",
        "## 7. Final fit",
        "",
        f"The chosen configuration, {warmup}, a cosine decay over {s['epochs']} epochs and "
        f"early stopping (patience {s['patience']}, best weights restored), over "
        f"{len(final)} seed{'s' if len(final) > 1 else ''}: test accuracy "
        f"**{runs.format_mean_sd([f['test_accuracy'] for f in final])}**; epochs run "
        + ", ".join(str(f["epochs"]) for f in final)
        + ", best epochs " + ", ".join(str(f["best_epoch"]) for f in final)
        + f". Baseline ({baseline['source']}): "
        f"{runs.format_mean_sd(baseline['test_accuracy'])} after {baseline['epochs']} epochs.",
        "",
        f"![final learning curves]({plots['final']})",
        "",
        "## Claims",
        "",
        *(f"- [{'holds' if c['holds'] else 'FAILS'}] {c['claim']}: {c['evidence']}"
          for c in claims),
        "",
    ]
    return "\n".join(lines)


def playbook_metrics(results):
    """The playbook's headline numbers, flat, for `results.json`.

    Args:
        results: the steps' results, as for `playbook_report`.

    Returns:
        A dict of numbers and short strings: the initial loss, step 2's
        epochs and accuracy, the suggested learning rate, the best coarse
        and refinement trials, the final fit's and the baseline's test
        accuracy (mean, sd and one per seed) and epochs, and the diagnoses.

    Raises:
        ValueError: `results` lacks an entry.

    Example:

    >>> metrics = kerasrec.report.playbook_metrics(results)
    >>> metrics["final_test_accuracy"], metrics["baseline_test_accuracy"]
    (0.966, 0.914)
    """
    _check_keys("results", results, _RESULTS)
    r = results
    coarse, refine, final, baseline = r["coarse"], r["refine"], r["final"], r["baseline"]
    tuned = [f["test_accuracy"] for f in final]
    tuned_stats, baseline_stats = runs.mean_sd(tuned), runs.mean_sd(baseline["test_accuracy"])
    codes = lambda found: ",".join(f["code"] for f in found)  # noqa: E731
    return {
        "initial_loss": r["initial_loss"]["loss"],
        "ln_classes": r["initial_loss"]["expected"],
        "overfit_epochs": r["overfit"]["epochs"],
        "overfit_accuracy": r["overfit"]["accuracy"],
        "suggested_learning_rate": r["lr_range_test"]["suggested_learning_rate"],
        "coarse_trials": len(coarse["table"]),
        **{f"coarse_best_{k}": v for k, v in coarse["best_hyperparameters"].items()},
        f"coarse_best_{coarse.get('objective', 'score')}": coarse["best_score"],
        "refine_trials": len(refine["table"]),
        **{f"chosen_{k}": v for k, v in refine["best_hyperparameters"].items()},
        f"refine_best_{refine.get('objective', 'score')}": refine["best_score"],
        "final_test_accuracy": tuned_stats["mean"],
        "final_test_accuracy_sd": tuned_stats["sd"],
        "final_test_accuracy_per_seed": tuned,
        "final_epochs": max(f["epochs"] for f in final),
        "final_best_epoch": final[0]["best_epoch"],
        "baseline_test_accuracy": baseline_stats["mean"],
        "baseline_test_accuracy_sd": baseline_stats["sd"],
        "baseline_test_accuracy_per_seed": list(baseline["test_accuracy"]),
        "baseline_epochs": baseline["epochs"],
        "diagnosis_refine": codes(r["diagnosis"]),
        "diagnosis_final": codes(final[0].get("findings", [])),
    }


def read_baseline(path, *, argument="path"):
    """The per-seed test accuracies of an earlier baseline run, from its results.json.

    Reads what `recipes/baseline.py` writes: `metrics.test_accuracy_per_seed`
    (or, from a run of one seed, `metrics.test_accuracy`) and
    `metrics.epochs`, as the `baseline` entry of `playbook_report`'s
    results.

    Args:
        path: the `results.json` of the baseline run.
        argument: the name the error message gives `path` (a recipe's
            flag, e.g. `"--baseline"`). Defaults to `"path"`.

    Returns:
        `{"test_accuracy": [one per seed], "epochs": int, "source": path}`.

    Raises:
        ValueError: `path` is not such a file.

    Example:

    >>> kerasrec.report.read_baseline("runs/results/baseline-shapes/results.json")
    {'test_accuracy': [0.868, 0.871, 0.859], 'epochs': 10, 'source': 'runs/...'}
    """
    try:
        metrics = (read_json(path) or {}).get("metrics") or {}
    except (OSError, ValueError, AttributeError, TypeError):
        metrics = {}
    accuracies = metrics.get("test_accuracy_per_seed") or (
        [metrics["test_accuracy"]] if "test_accuracy" in metrics else None)
    if not accuracies or "epochs" not in metrics:
        raise ArgumentError(
            f"Argument `{argument}` must be the results.json of a baseline run, with the "
            "metrics test_accuracy (or test_accuracy_per_seed) and epochs. "
            f"Received: {argument.lstrip('-').replace('-', '_')}={path!r}")
    return {"test_accuracy": list(accuracies), "epochs": metrics["epochs"], "source": str(path)}


def markdown_to_html(text, *, title="Report"):
    """A standalone HTML page of a Markdown text (tables included).

    Uses the `markdown` package (installed with TensorBoard) where it is
    there; otherwise the text, escaped, in a `<pre>` block.

    Args:
        text: the Markdown.
        title: the page's title. Defaults to `"Report"`.

    Returns:
        The HTML page as a string.

    Example:

    >>> page = kerasrec.report.markdown_to_html("| a |\\n|---|\\n| 1 |", title="t")
    >>> "<table>" in page
    True
    """
    if not isinstance(text, str):
        raise ArgumentError(f"Argument `text` must be a string. Received: text={text!r}")
    try:
        import markdown

        body = markdown.markdown(text, extensions=["tables"])
    except ImportError:
        body = f"<pre>{html.escape(text)}</pre>"
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style>\n{body}\n")
