"""The recipe harness: flags, validation, run folder files, atomic writes, steps, seeds."""

import argparse
import json
import os

import keras
import numpy as np
import pytest

from kerasrec import runs


def _args(*argv, **defaults):
    return runs.make_parser(**defaults).parse_args(list(argv))


def test_make_parser_shared_flags_and_defaults():
    args = _args(epochs=7, batch_size=64, learning_rate=0.1)
    assert (args.dataset, args.epochs, args.batch_size) == ("shapes", 7, 64)
    assert args.learning_rate == 0.1 and args.seed == 0 and args.quick is False
    assert args.out is None and args.train_size is None
    args = _args("--dataset", "digits", "--epochs", "3", "--batch-size", "8",
                 "--learning-rate", "0.5", "--seed", "4", "--out", "x", "--quick",
                 "--train-size", "50")
    assert vars(args) == {
        "dataset": "digits", "epochs": 3, "batch_size": 8, "learning_rate": 0.5,
        "seed": 4, "seeds": 1, "out": "x", "quick": True, "train_size": 50,
    }


def test_make_parser_takes_description_from_recipe_doc():
    parser = runs.make_parser("Title: t\nDescription: Does a thing.\n")
    assert parser.description == "Does a thing."


@pytest.mark.parametrize(
    "argv, name",
    [
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "-3"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--learning-rate", "0"], "--learning-rate"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--train-size", "0"], "--train-size"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_start_rejects_bad_flags_before_writing(tmp_path, argv, name):
    out = tmp_path / "run"
    with pytest.raises(runs.ArgumentError, match=name):
        runs.start("r", _args(*argv, "--out", str(out)))
    assert not out.exists()


def test_start_quick_caps_epochs_and_seeds(tmp_path):
    run = runs.start("r", _args("--quick", "--epochs", "50", "--out", str(tmp_path / "a")))
    assert run.config["epochs"] == runs.QUICK_EPOCHS
    first = np.random.rand()
    runs.start("r", _args("--out", str(tmp_path / "b")))
    assert np.random.rand() == first  # same seed, same stream


def test_default_run_folders_are_unique(tmp_path):
    a = runs.start("r", _args(), root=str(tmp_path))
    a.save_json("x.json", {})
    b = runs.start("r", _args(), root=str(tmp_path))
    b.save_json("x.json", {})
    assert a.path != b.path
    assert os.path.dirname(a.path) == os.path.join(str(tmp_path), "r")


def test_run_writes_every_promised_file(tmp_path):
    run = runs.start("demo", _args("--out", str(tmp_path / "run")), extra="value")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.rand(32, 3).astype("float32"), np.random.randint(0, 2, 32)
    history = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0)
    run.record(dataset_info={"num_classes": 2})
    run.save_history(history)
    run.save_model(model)
    run.check("a claim", True, "because")
    run.check("another claim", False, "numbers")
    results = run.finish({"accuracy": 0.5}, headline="demo: 50%")

    files = set(os.listdir(run.path))
    assert {"config.json", "history.json", "results.json", "learning_curves.png", "model.keras"} <= files
    assert not [f for f in files if f.startswith(".")], "no temporary files left behind"
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["extra"] == "value" and config["dataset_info"] == {"num_classes": 2}
    assert config["epochs"] == 10 and config["recipe"] == "demo"
    history_json = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history_json["loss"]) == 2 and "val_accuracy" in history_json
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["metrics"] == {"accuracy": 0.5} and saved["headline"] == "demo: 50%"
    assert [c["holds"] for c in saved["claims"]] == [True, False]
    assert saved["machine"] and saved["command"] and saved["finished"]
    reloaded = keras.saving.load_model(str(tmp_path / "run" / "model.keras"))
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with open(tmp_path / "run" / "learning_curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_nothing_written_until_first_save(tmp_path):
    run = runs.start("r", _args("--out", str(tmp_path / "run")))
    assert not os.path.exists(run.path)
    run.save_json("x.json", {"a": 1})
    assert sorted(os.listdir(run.path)) == ["config.json", "x.json"]


def test_rerun_with_same_out_keeps_existing_files(tmp_path):
    out = str(tmp_path / "run")
    first = runs.start("r", _args("--out", out))
    first.save_json("step1.json", {"done": True})
    second = runs.start("r", _args("--out", out))
    assert second.load_json("step1.json") == {"done": True}
    assert second.load_json("missing.json", default="none") == "none"
    # results.json says which run could reuse an earlier one's work.
    assert first.finish({})["resumed"] is False
    assert second.finish({})["resumed"] is True


def test_write_atomic_keeps_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "f.json"
    runs.write_atomic(str(path), '{"old": 1}')

    with pytest.raises(TypeError):  # fails halfway through the write
        runs.write_atomic(str(path), object())
    assert path.read_text() == '{"old": 1}'
    assert os.listdir(tmp_path) == ["f.json"]


def test_save_model_keeps_old_model_when_saving_fails(tmp_path):
    run = runs.start("r", _args("--out", str(tmp_path / "run")))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    run.save_model(model)
    before = (tmp_path / "run" / "model.keras").read_bytes()

    class Failing:
        def save(self, path):
            with open(path, "wb") as f:
                f.write(b"half a model")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run.save_model(Failing())
    assert (tmp_path / "run" / "model.keras").read_bytes() == before
    assert sorted(os.listdir(run.path)) == ["config.json", "model.keras"]


def test_json_handles_numpy_and_non_finite(tmp_path):
    run = runs.start("r", _args("--out", str(tmp_path / "run")))
    run.save_json("m.json", {"a": np.float32(0.5), "b": np.int64(3), "c": float("nan"), "d": (1, 2)})
    # One rule for every kerasrec JSON file: non-finite numbers are null,
    # so the file is strict JSON (no `NaN` token).
    assert run.load_json("m.json") == {"a": 0.5, "b": 3, "c": None, "d": [1, 2]}
    assert "NaN" not in (tmp_path / "run" / "m.json").read_text()


def test_main_turns_argument_error_into_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("KERASREC_DEBUG", raising=False)

    def bad():
        raise runs.ArgumentError("Argument `x` must be positive. Received: x=0")

    with pytest.raises(SystemExit) as e:
        runs.main(bad)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: Argument `x` must be positive. Received: x=0"


def test_main_keeps_the_traceback_of_a_keras_value_error():
    # Regression (issue 9): runs.main turned every ValueError into a one-line
    # error, so Keras's own errors from inside `fit` looked like flag mistakes.
    def keras_error():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.zeros((4, 5)), np.zeros((4, 2)), verbose=0)  # wrong input shape

    with pytest.raises(ValueError) as e:
        runs.main(keras_error)
    assert not isinstance(e.value, runs.ArgumentError)


SCRIPT = """
import sys
from kerasrec import runs
parser = runs.make_parser("Description: A test script.", epochs=9)
parser.add_argument("--fail", choices=["none", "argument", "keras"], default="none")
run = runs.start("script", parser, quick={"train_size": 7})
print("ARGS", run.args.epochs, run.args.train_size, run.args.dataset, flush=True)
if run.args.fail == "argument":
    raise runs.ArgumentError("Argument `--fail` is bad. Received: fail='argument'")
if run.args.fail == "keras":
    raise ValueError("an error from deep inside Keras")
"""


def _script(tmp_path, *argv):
    import subprocess
    import sys

    path = tmp_path / "script.py"
    path.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "KERASREC_DEBUG"}
    return subprocess.run([sys.executable, str(path), *argv], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


def test_top_level_script_gets_one_line_errors_and_keeps_other_tracebacks(tmp_path):
    proc = _script(tmp_path, "--epochs", "0", "--out", "run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: Argument `--epochs`")
    proc = _script(tmp_path, "--fail", "argument", "--out", "run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: Argument `--fail` is bad" in proc.stderr
    proc = _script(tmp_path, "--fail", "keras", "--out", "run")
    assert proc.returncode == 1 and "Traceback" in proc.stderr
    assert "ValueError: an error from deep inside Keras" in proc.stderr
    assert not (tmp_path / "run").exists()  # nothing written by any of them


def test_quick_sets_defaults_and_a_given_flag_still_wins(tmp_path):
    out = _script(tmp_path, "--quick", "--out", "run").stdout
    assert "ARGS 2 7 shapes" in out
    out = _script(tmp_path, "--quick", "--epochs", "5", "--train-size", "3", "--out", "run").stdout
    assert "ARGS 5 3 shapes" in out
    out = _script(tmp_path, "--out", "run").stdout
    assert "ARGS 9 None shapes" in out


def test_config_records_the_resolved_flags(tmp_path):
    parser = runs.make_parser(epochs=9)
    parser.add_argument("--lr-steps", type=int, default=600)
    run = runs.start("r", parser, quick={"lr_steps": 20, "train_size": 64},
                     argv=["--quick", "--out", str(tmp_path / "run")])
    run.record(extra=1)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    # Regression (issue 9): config.json kept the raw flags (lr_steps=600,
    # train_size=None for a quick run).
    assert (config["lr_steps"], config["train_size"], config["epochs"]) == (20, 64, 2)


def test_step_runs_once_and_is_reused_while_its_inputs_are_unchanged(tmp_path):
    out = str(tmp_path / "run")
    calls = []

    def work(value):
        calls.append(value)
        return {"value": value, "loss": float("nan"), "rand": float(np.random.rand())}

    run = runs.start("r", _args("--out", out))
    first = run.step("a", lambda: work(1), epochs=3)
    assert first["loss"] is None  # what it reads back as, the first time too
    again = runs.start("r", _args("--out", out))
    assert again.step("a", lambda: work(1), epochs=3) == first
    assert calls == [1] and again.steps_reused == ["a"]
    changed = runs.start("r", _args("--out", out))
    second = changed.step("a", lambda: work(2), epochs=4)
    assert calls == [1, 2] and second["value"] == 2 and changed.steps_run == ["a"]
    # The step is seeded before it runs: the same draw as the first time.
    assert second["rand"] == first["rand"]


def test_step_says_which_inputs_changed(tmp_path, capsys):
    out = str(tmp_path / "run")
    runs.start("r", _args("--out", out)).step("coarse", lambda: 1, epochs=3)
    capsys.readouterr()
    runs.start("r", _args("--out", out, "--epochs", "4")).step("coarse", lambda: 2, epochs=4)
    text = capsys.readouterr().out
    assert "epochs: 10 -> 4" in text  # the flags
    assert "step coarse: inputs changed since it ran (epochs: 3 -> 4): redoing it" in text


def test_killed_run_loses_only_the_step_in_progress(tmp_path):
    out = str(tmp_path / "run")
    run = runs.start("r", _args("--out", out))
    run.step("one", lambda: 1)

    def killed():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.step("two", killed)
    rerun = runs.start("r", _args("--out", out))
    assert rerun.step("one", lambda: pytest.fail("step one re-ran")) == 1
    assert rerun.step("two", lambda: 2) == 2
    assert not [f for f in os.listdir(tmp_path / "run" / "steps") if f.startswith(".")]


def test_workdir_is_one_folder_per_set_of_inputs(tmp_path):
    run = runs.start("r", _args("--out", str(tmp_path / "run")))
    a = run.step("coarse", lambda d: d, workdir=True, epochs=3)
    b = run.step("coarse", lambda d: d, workdir=True, epochs=4)
    assert a != b and os.path.isdir(a) and os.path.isdir(b)
    assert run.workdir("coarse", epochs=3, seed=0) == a  # back to the old settings


def test_step_rejects_bad_names(tmp_path):
    run = runs.start("r", _args("--out", str(tmp_path / "run")))
    with pytest.raises(runs.ArgumentError, match="`name`"):
        run.step("../escape", lambda: 1)


def test_start_refuses_a_folder_of_another_recipe(tmp_path):
    out = str(tmp_path / "run")
    runs.start("one", _args("--out", out)).save_json("x.json", {})
    with pytest.raises(runs.ArgumentError, match="holds a run of recipe 'one'"):
        runs.start("two", _args("--out", out))


def test_repeat_runs_each_seed_once(tmp_path):
    out = str(tmp_path / "run")
    run = runs.start("r", _args("--seeds", "3", "--seed", "5", "--out", out))
    assert run.seeds == [5, 6, 7]
    values = run.repeat("fit", lambda s: {"seed": s, "r": float(np.random.rand())}, epochs=1)
    assert [v["seed"] for v in values] == [5, 6, 7]
    assert len({v["r"] for v in values}) == 3  # each seeded differently
    keras.utils.set_random_seed(6)
    assert values[1]["r"] == float(np.random.rand())
    rerun = runs.start("r", _args("--seeds", "3", "--seed", "5", "--out", out))
    assert rerun.repeat("fit", lambda s: pytest.fail("re-ran"), epochs=1) == values


def test_require_names_the_first_flag_out_of_range():
    args = argparse.Namespace(patience=0, label_noise=1.5)
    runs.require(args, (True, "patience", "a positive integer"))
    with pytest.raises(runs.ArgumentError) as info:
        runs.require(
            args,
            (0 <= args.label_noise < 1, "label-noise", "a number in [0, 1)"),
            (args.patience > 0, "patience", "a positive integer"),
        )
    assert str(info.value) == (
        "Argument `--label-noise` must be a number in [0, 1). Received: label_noise=1.5"
    )
    with pytest.raises(runs.ArgumentError, match="`checks` must be"):
        runs.require(args, ("patience", True))
