"""The recipe harness: flags, validation, run folder files, atomic writes."""

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
        "seed": 4, "out": "x", "quick": True, "train_size": 50,
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
    ],
)
def test_start_rejects_bad_flags_before_writing(tmp_path, argv, name):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=name):
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
    assert run.load_json("m.json") == {"a": 0.5, "b": 3, "c": "nan", "d": [1, 2]}


def test_main_turns_value_error_into_one_line_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("KERASREC_DEBUG", raising=False)

    def bad():
        raise ValueError("Argument `x` must be positive. Received: x=0")

    with pytest.raises(SystemExit) as e:
        runs.main(bad)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: Argument `x` must be positive. Received: x=0"
