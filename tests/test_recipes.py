"""Every recipe in its quick mode, run as a user would: a fresh process."""

import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = sorted(glob.glob(os.path.join(ROOT, "recipes", "*.py")))
PROMISED = {"config.json", "history.json", "results.json", "learning_curves.png", "model.keras"}


def run_recipe(name, *argv, check=True):
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"), *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


HEADER_FIELDS = (
    "Title", "Author", "Date created", "Last modified", "Description", "Lecture section", "Run",
)
MAX_CODE_LINES = 250
MAX_HELPERS = 3
FORBIDDEN_IMPORTS = {"subprocess", "threading", "signal", "socket", "multiprocessing"}


def _source(path):
    with open(path) as f:
        return f.read()


def _string_statements(tree):
    """(node, is_module_level, is_docstring) for every string-expression statement."""
    out = []

    def visit(body, module_level):
        for index, node in enumerate(body):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
                node.value.value, str
            ):
                out.append((node, module_level, index == 0 and not module_level))
            for field in ("body", "orelse", "finalbody", "handlers"):
                child = getattr(node, field, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.AST):
                    visit(child, False)

    visit(tree.body, True)
    return out


def code_lines(text):
    """Lines of code: not blank, not a comment, not inside a docstring or markdown block."""
    tree = ast.parse(text)
    prose = set()
    for node, _, _ in _string_statements(tree):
        prose.update(range(node.lineno, node.end_lineno + 1))
    return sum(
        1
        for number, line in enumerate(text.splitlines(), 1)
        if number not in prose and line.strip() and not line.strip().startswith("#")
    )


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: os.path.basename(p)[:-3])
def test_recipe_has_the_keras_io_form(path):
    text = _source(path)
    tree = ast.parse(text)
    header = ast.get_docstring(tree, clean=False)
    assert header is not None and text.startswith('"""\n'), "no header docstring"
    fields = [line.split(":", 1)[0] for line in header.strip().splitlines()]
    assert fields == list(HEADER_FIELDS), f"header fields {fields}"
    values = dict(line.split(": ", 1) for line in header.strip().splitlines())
    description = values["Description"]
    assert description[0].isupper() and description.endswith("."), description
    assert len(description) < 100, f"Description is {len(description)} characters"
    for field in ("Date created", "Last modified"):
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", values[field]), f"{field}: {values[field]}"
    assert values["Run"].startswith("make recipe-")
    # Markdown blocks: only at column 0 between top-level code (tutobooks
    # reads nothing else); a helper may have a docstring.
    for node, module_level, docstring in _string_statements(tree):
        assert module_level or docstring, f"a text block inside code at line {node.lineno}"
        if module_level:
            assert node.col_offset == 0
    blocks = [n for n, module_level, _ in _string_statements(tree) if module_level][1:]
    assert len(blocks) >= 4, "fewer than 4 markdown blocks"
    assert all(b.value.value.lstrip("\n").startswith("## ") for b in blocks[:1])
    for number, line in enumerate(text.splitlines(), 1):
        assert line == line.rstrip(), f"trailing spaces on line {number}"
        assert not re.fullmatch(r'\s*""".*"""\s*', line) or not line.startswith('"'), (
            f"a one-line \"\"\"...\"\"\" block on line {number}"
        )
    lines = code_lines(text)
    assert lines <= MAX_CODE_LINES, f"{lines} lines of code (at most {MAX_CODE_LINES})"
    helpers = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert len(helpers) <= MAX_HELPERS, f"{len(helpers)} helper functions: {helpers}"
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)], "a class in a recipe"
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN_IMPORTS, f"imports {sorted(imported & FORBIDDEN_IMPORTS)}"
    assert "recipes" not in imported, "a recipe imports another recipe"


def test_recipes_are_black_formatted():
    proc = subprocess.run(
        [sys.executable, "-m", "black", "--check", "--diff", "--quiet", *RECIPES],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_code_lines_counts_only_code():
    text = '"""\nTitle: t\n"""\n\n"""\n## Intro\n"""\n\nimport os  # why\n# a comment\n\n\ndef f():\n    """Doc."""\n    return 1\n'
    assert code_lines(text) == 3


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: os.path.basename(p)[:-3])
def test_recipe_has_a_make_target(path):
    text = _source(path)
    target = text.split("Run: make ")[1].split()[0]
    dry_run = subprocess.run(
        ["make", "-n", target, "ARGS=--quick"], cwd=ROOT, capture_output=True, text=True
    )
    assert dry_run.returncode == 0, f"no Makefile target {target} for {path}"
    assert f"recipes/{os.path.basename(path)} --quick" in dry_run.stdout


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: os.path.basename(p)[:-3])
def test_smoke_every_recipe_quick_from_a_copy_alone_in_an_empty_folder(path, tmp_path):
    # What a user does: copy one recipe into an empty folder of their own
    # project (kerasrec installed) and run it there.
    copy = tmp_path / os.path.basename(path)
    shutil.copy(path, copy)
    proc = subprocess.run(
        [sys.executable, copy.name, "--quick", "--out", "run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"{copy.name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    out = tmp_path / "run"
    assert PROMISED <= set(os.listdir(out))
    results = json.loads((out / "results.json").read_text())
    assert results["quick"] is True and results["metrics"] and results["claims"]
    assert "results ==" in proc.stdout  # the printed table
    assert "not the results" in proc.stdout  # quick numbers say what they are


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "-1"], "--batch-size"),
        (["--dataset", "no_such_dataset_xyz"], "Embedded datasets"),
        (["--dataset", "folder:/no/such/folder"], "not a directory"),
        (["--quick", "--dataset", "digits", "--train-size", "0"], "--train-size"),
    ],
)
def test_bad_input_is_one_clear_line_and_loses_nothing(tmp_path, argv, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "earlier.json").write_text('{"keep": true}')
    proc = run_recipe("baseline", *argv, "--out", str(out), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert os.listdir(out) == ["earlier.json"]
    assert (out / "earlier.json").read_text() == '{"keep": true}'


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--label-noise", "1.0"], "Argument `--label-noise` must be a number in [0, 1)"),
        (["--label-noise", "nan"], "Argument `--label-noise`"),
        (["--patience", "0"], "Argument `--patience` must be a positive integer"),
        (["--alpha-pq", "inf"], "Argument `--alpha-pq` must be a finite number > 0"),
    ],
)
def test_early_stopping_bad_flags_are_one_clear_line_and_write_nothing(tmp_path, argv, message):
    # Regression: `--label-noise 1.0` used to end in a ValueError traceback
    # (the old recipe validated its own flags with plain ValueErrors).
    out = tmp_path / "run"
    proc = run_recipe("early_stopping", "--quick", *argv, "--out", str(out), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]
    assert not out.exists()
