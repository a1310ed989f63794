"""What was saved before `kerasrec.callbacks` became a package still loads.

The fixtures in `tests/data/` were written by
`tests/data/make_saved_before_split.py` at commit ad7fc21, when
`kerasrec.callbacks` was one module, `kerasrec/callbacks.py`. Keras does
not save callbacks in a `.keras` file; what it does save of them are their
serialized configs (`serialize_keras_object`, with the `module` of that
time), and what `PrecheltStopping(filepath=...)` saves is a model, here
compiled with a kerasrec schedule. Both must load after the move, by the
registered names `kerasrec>ClassName`, which the move kept.
"""

import contextlib
import json
import os

import keras
import numpy as np
import pytest

from kerasrec import callbacks, schedules

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def read(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


SAVED = read("callbacks_before_split.json")


@pytest.mark.parametrize("name", sorted(SAVED))
def test_callback_configs_saved_before_the_split_load(name):
    saved = SAVED[name]
    assert saved["module"] == "kerasrec.callbacks"  # the old module
    assert saved["registered_name"] == f"kerasrec>{name}"
    # BatchLoss's two arguments are deprecated (and ignored) since.
    deprecated = name == "BatchLoss"
    with pytest.warns(DeprecationWarning) if deprecated else contextlib.nullcontext():
        restored = keras.saving.deserialize_keras_object(saved)
    cls = getattr(callbacks, name)
    assert type(restored) is cls
    config = restored.get_config()
    # Arguments added since keep their defaults; the saved ones are kept.
    assert {key: config[key] for key in saved["config"]} == saved["config"]
    assert set(config) - set(saved["config"]) <= {"mode"}
    # Saved again, it keeps the registered name.
    assert keras.saving.serialize_keras_object(restored)["registered_name"] == f"kerasrec>{name}"


def test_prechelt_config_saved_before_mode_existed_means_auto():
    restored = keras.saving.deserialize_keras_object(SAVED["PrecheltStopping"])
    assert restored.mode == "auto"
    assert restored.criterion == "UP" and restored.strips == 2 and restored.strip_length == 4


def test_best_model_saved_by_prechelt_before_the_split_loads():
    path = os.path.join(DATA, "prechelt_best_before_split.keras")
    record = read("prechelt_best_before_split.json")
    model = keras.saving.load_model(path)  # no custom_objects
    saved_schedule = model.optimizer.get_config()["learning_rate"]
    schedule = keras.saving.deserialize_keras_object(saved_schedule)
    assert isinstance(schedule, schedules.Warmup)
    assert schedule.get_config()["warmup_steps"] == 4
    now = float(schedule(model.optimizer.iterations))
    assert float(model.optimizer.learning_rate) == pytest.approx(now)
    np.testing.assert_array_equal(model.get_weights()[0], np.asarray(record["kernel"], "float32"))
    np.testing.assert_array_equal(model.get_weights()[1], np.asarray(record["bias"], "float32"))
    # It evaluates as it did when saved (the data of the generator script).
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0]])).astype("float32")
    assert model.evaluate(x, -y, verbose=0) == pytest.approx(record["val_loss"], rel=1e-6)
    # And it trains on, with its schedule, with the callbacks of today.
    stopper = callbacks.PrecheltStopping("GL", alpha=5.0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, -y),
              callbacks=[stopper, callbacks.LearningRateLogger()])
    assert len(stopper.trace) >= 1


def test_fixtures_are_small():
    sizes = [os.path.getsize(os.path.join(DATA, name)) for name in os.listdir(DATA)]
    assert sum(sizes) < 200_000
