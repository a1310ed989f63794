"""Reruns every recipe at full size and the benchmarks, then writes RESULTS.md.

    make results                          everything (about 10 minutes here)
    make results ONLY=baseline-digits     rerun one entry, keep the others

Each entry runs in its own process with `--out runs/results/<entry>`; the
numbers in RESULTS.md are read from the `results.json` files those runs
wrote, never typed. The README's results table (between the
`<!-- results:begin -->` and `<!-- results:end -->` markers) is rewritten
from the same files.

Each finished entry's `results.json` is also copied to
`tools/results/<entry>.json`, which is committed: a fresh clone rewrites
RESULTS.md from those without rerunning anything, and `ONLY=<entry>` keeps
every other entry as it was. An entry with neither keeps its section of the
existing RESULTS.md (and its README row) unchanged.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from kerasrec import runs  # noqa: E402

OUT = os.path.join("runs", "results")
KEPT = os.path.join("tools", "results")  # committed copies of each entry's results.json
KEPT_NOTE = (
    "_Kept from an earlier RESULTS.md: no results.json of this entry is on the machine "
    "that wrote this file, and the recipe may have changed since. Rerun it with "
    "`make results ONLY=<entry>`._"
)

# entry -> (recipe file, arguments). Full size: no --quick.
ENTRIES = {
    "baseline-shapes": (
        "recipes/baseline.py", ["--dataset", "shapes", "--epochs", "10", "--seeds", "3"],
    ),
    "baseline-digits": (
        "recipes/baseline.py", ["--dataset", "digits", "--epochs", "30", "--seeds", "3"],
    ),
    # 3 seeds x (2 shared starts of 5 epochs + 5 schedules x 3 epochs) of 10k
    # images, plus the sweep: 75 epochs, ~19 min on two idle cores.
    "lr-schedules": (
        "recipes/lr_schedules.py",
        ["--dataset", "shapes", "--train-size", "10000", "--epochs", "8",
         "--start-epochs", "5", "--seeds", "3"],
    ),
    # Converged: every schedule of the recipe, 2 shared epochs then 38, 3 seeds.
    "lr-schedules-digits": (
        "recipes/lr_schedules.py",
        ["--dataset", "digits", "--epochs", "40", "--batch-size", "32",
         "--learning-rate", "0.05", "--start-epochs", "2", "--seeds", "3",
         "--schedules", "constant", "step", "cosine", "linear", "inverse_sqrt",
         "--adam-schedules", "constant", "step", "cosine", "linear"],
    ),
    # The search once; the final fit over 3 seeds, against the 3 seeds of the
    # baseline-shapes entry above (the same recipe, run first): ~17 min.
    "playbook": (
        "recipes/tuning_playbook.py",
        ["--dataset", "shapes", "--seeds", "3",
         "--baseline", os.path.join(KEPT, "baseline-shapes.json")],
    ),
    "lr-range-test": ("recipes/lr_range_test.py", ["--dataset", "shapes"]),
    # 3 seeds x (a common start of 6 epochs + 2 searches of 9 trials x 2 epochs)
    # on 5,000 images at batch 64: ~17-21 min on two idle cores.
    "grid-vs-random": (
        "recipes/grid_vs_random.py",
        ["--dataset", "shapes", "--train-size", "5000", "--batch-size", "64", "--seeds", "3"],
    ),
    "search-distributed": ("recipes/search_distributed.py", ["--dataset", "digits", "--workers", "2"]),
    # 3 seeds x 100 epochs of the 1,078 noisy digits, one run per seed with
    # every rule replayed on it: ~2 min on two idle cores.
    "early-stopping": (
        "recipes/early_stopping.py",
        ["--dataset", "digits", "--label-noise", "0.3", "--epochs", "100", "--seeds", "3"],
    ),
    # 3 experiments x 5 members x 4 epochs of the 20k shapes images.
    "ensembles": ("recipes/ensembles.py", ["--dataset", "shapes", "--seeds", "3"]),
    # 3 seeds x (single + cyclic) x 7 epochs of the 20k shapes images.
    "snapshot-ensemble": ("recipes/snapshot_ensemble.py", ["--dataset", "shapes", "--seeds", "3"]),
    # 3 seeds x (constant, cosine) x 5 epochs of 20k images, 3 EMA evaluations an epoch.
    "ema": ("recipes/ema.py", ["--dataset", "shapes", "--seeds", "3"]),
}
BENCH = "bench"


def recipe_header(path):
    """`Title`, `Lecture section` and `Run` from a recipe's header docstring."""
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    fields = {}
    for key in ("Title", "Lecture section", "Run"):
        m = re.search(rf"^{key}:\s*(.+)$", text, re.M)
        fields[key] = m.group(1).strip() if m else ""
    fields["Run"] = fields["Run"].split("(")[0].strip()
    return fields


def run_entry(name):
    recipe, args = ENTRIES[name]
    out = os.path.join(OUT, name)
    cmd = [sys.executable, recipe, *args, "--out", out]
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    start = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    print(f"== {name}: {time.time() - start:.0f} s", flush=True)
    with open(os.path.join(ROOT, out, "results.json")) as f:
        runs.write_atomic(os.path.join(ROOT, KEPT, f"{name}.json"), f.read())


def run_bench():
    cmd = [sys.executable, "bench/run.py", "--out", os.path.join(OUT, BENCH)]
    print(f"== bench: {' '.join(cmd)}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(os.path.join(ROOT, OUT, BENCH, "bench.json")) as f:
        runs.write_atomic(os.path.join(ROOT, KEPT, f"{BENCH}.json"), f.read())


def _load(path):
    with open(os.path.join(ROOT, path)) as f:
        return json.load(f)


def _value(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and v and all(isinstance(x, float) for x in v):
        return ", ".join(f"{x:.4g}" for x in v)
    return "n/a" if v is None else str(v)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def grouped_tables(metrics):
    """The `row/column` metrics as a table, and the metrics left for the flat one.

    A numeric metric named `<row>/<column>` (the row may hold more `/`) goes
    to a table of rows by columns, with its `<name>_sd` companion, if any,
    shown as `mean ± sd` in the same cell; `<name>_per_seed` lists stay in
    the flat table. Rows and columns keep the order the recipe wrote them in.

    Returns:
        `(table_lines, flat_metrics)`; `table_lines` is empty when no
        metric has a `/`.
    """
    cells, rows, columns = {}, [], []
    for key, value in metrics.items():
        if "/" not in key or not (_is_number(value) or value is None):
            continue
        if key.endswith("_sd") and key[:-3] in metrics:
            continue
        row, column = key.rsplit("/", 1)
        cell = _value(value)
        sd = metrics.get(f"{key}_sd")
        if _is_number(value) and _is_number(sd) and sd:
            cell = f"{value:.4g} ± {sd:.2g}"
        cells[row, column] = cell
        rows += [row] if row not in rows else []
        columns += [column] if column not in columns else []
    if len(rows) < 2:
        return [], dict(metrics)
    grouped = {f"{r}/{c}" for r, c in cells} | {f"{r}/{c}_sd" for r, c in cells}
    flat = {k: v for k, v in metrics.items() if k not in grouped}
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(cells.get((row, c), "") for c in columns) + " |")
    return lines, flat


def render_results():
    lines = [
        "# kerasrec results",
        "",
        "Written by `make results` (tools/results.py) from the `results.json` of each",
        "run; do not edit by hand. Each section names the command, the machine and",
        "the date of the run that produced it.",
        "",
    ]
    readme_rows = []
    old_sections, old_rows = _existing_sections()
    for name, (recipe, args) in ENTRIES.items():
        path = os.path.join(KEPT, f"{name}.json")
        if not os.path.exists(os.path.join(ROOT, path)):
            path = os.path.join(OUT, name, "results.json")
        if not os.path.exists(os.path.join(ROOT, path)):
            if name in old_sections and not any(
                line.startswith("Not run yet") for line in old_sections[name]
            ):
                kept = old_sections[name]
                while kept and not kept[-1].strip():
                    kept = kept[:-1]
                kept = kept + [""]
                if KEPT_NOTE not in "\n".join(kept):
                    kept = kept[:2] + [KEPT_NOTE, ""] + kept[2:]
                lines += kept
                readme_rows += old_rows.get(name, [])
            else:
                lines += [f"## {name}", "", f"Not run yet: `make results ONLY={name}`.", ""]
            continue
        r = _load(path)
        header = recipe_header(recipe)
        lines += [
            f"## {name}: {header['Title']}",
            "",
            f"- Lecture section: {header['Lecture section']}",
            f"- Command: `{recipe} {' '.join(args)}` (`make results ONLY={name}`)",
            f"- Machine: {r['machine']}",
            *([f"- Seeds: {', '.join(map(str, r['seeds']))} (each comparison is mean ± sd "
               "over them; it holds only when the difference exceeds the sum of the sds)"]
              if len(r.get("seeds") or []) > 1 else []),
            f"- Date: {r['finished']}; took {r['seconds']:.0f} s"
            + (" (a rerun in the same folder: work saved by earlier runs was reused)"
               if r.get("resumed") else ""),
            "",
            f"**{r['headline']}**",
            "",
        ]
        table, flat = grouped_tables(r["metrics"])
        lines += table + ([""] if table else [])
        lines += [
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {_value(v)} |" for k, v in flat.items()),
            "",
        ]
        if r["claims"]:
            lines += ["| claim | holds | evidence |", "|---|---|---|"]
            lines += [
                f"| {c['claim']} | {'yes' if c['holds'] else '**no**'} | {c['evidence']} |"
                for c in r["claims"]
            ]
            lines.append("")
        readme_rows.append(
            f"| {header['Title']} | {header['Lecture section']} | `{header['Run']}` | {r['headline']} |"
        )
    bench_path = os.path.join(KEPT, f"{BENCH}.json")
    if not os.path.exists(os.path.join(ROOT, bench_path)):
        bench_path = os.path.join(OUT, BENCH, "bench.json")
    if not os.path.exists(os.path.join(ROOT, bench_path)) and BENCH in old_sections:
        lines += old_sections[BENCH]
    elif os.path.exists(os.path.join(ROOT, bench_path)):
        b = _load(bench_path)
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        from run import format_table

        lines += [
            "## Benchmarks (`make bench`)",
            "",
            f"- Machine: {b['machine']}",
            f"- Date: {b['date']}",
            "",
            format_table(b["benchmarks"]),
            "",
        ]
    return "\n".join(lines), readme_rows


def _existing_sections():
    """The sections of the current RESULTS.md and README rows, by entry name.

    Kept for entries whose results.json is not on this machine, so that
    `ONLY=<entry>` on a fresh clone does not wipe the others.
    """
    sections, rows = {}, {}
    try:
        with open(os.path.join(ROOT, "RESULTS.md")) as f:
            text = f.read()
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
    except FileNotFoundError:
        return sections, rows
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].split(":")[0].strip()
            current = name if name in ENTRIES else (BENCH if name.startswith("Benchmarks") else None)
            if current:
                sections[current] = []
        if current:
            sections[current].append(line)
    for name, (recipe, _) in ENTRIES.items():
        if name in sections:
            headline = next((l[2:-2] for l in sections[name] if l.startswith("**")), None)
            rows[name] = [l for l in readme.splitlines()
                          if l.startswith("| ") and headline and l.endswith(f"| {headline} |")]
    return sections, rows


def update_readme(rows):
    path = os.path.join(ROOT, "README.md")
    with open(path) as f:
        text = f.read()
    table = "\n".join(
        [
            "| recipe | lecture section | make target | headline result (RESULTS.md) |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    new, count = re.subn(
        r"(<!-- results:begin -->\n).*?(\n<!-- results:end -->)",
        lambda m: m.group(1) + table + m.group(2),
        text,
        flags=re.S,
    )
    if count:
        runs.write_atomic(path, new)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None,
                        help=f"comma-separated entries from {sorted(ENTRIES) + [BENCH]}")
    parser.add_argument("--no-run", action="store_true",
                        help="only rewrite RESULTS.md from the existing runs")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else [*ENTRIES, BENCH]
    unknown = sorted(set(names) - set(ENTRIES) - {BENCH})
    if unknown:
        parser.error(f"unknown entries {unknown}; choose from {sorted(ENTRIES) + [BENCH]}")
    if not args.no_run:
        for name in names:
            run_bench() if name == BENCH else run_entry(name)
    text, rows = render_results()
    runs.write_atomic(os.path.join(ROOT, "RESULTS.md"), text.rstrip("\n") + "\n")
    update_readme(rows)
    print(f"wrote RESULTS.md ({len(rows)} recipe entries)")


if __name__ == "__main__":
    main()
