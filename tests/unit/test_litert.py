"""The LiteRT runtime: the exported `.tflite` answers exactly like the `.keras` model, without TensorFlow.

Models come from DIGIT_LAB_MODELS_DIR (default ./models). A model with a committed `.tflite` is compared
as committed (so a stale export fails here); the default model without one is exported to a temporary
directory first, so the check never silently skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import ModelLoadError
from app.training.data import Mnist
from app.training.evaluate import prepare
from tests.conftest import PROJECT_ROOT
from tests.helpers import in_own_thread

TOLERANCE = 1e-5  # the bar: same probabilities as Keras within 1e-5
DIGITS = 256


def model_ids(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.models_dir.glob("*.keras"))


@pytest.fixture(scope="module")
def tflite_dir(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models_dir when every model has its .tflite; otherwise a copy with the missing ones exported."""
    ids = model_ids(settings)
    if not ids:
        pytest.skip(f"no trained models in {settings.models_dir}")
    missing = [i for i in ids if not (settings.models_dir / f"{i}.tflite").is_file()]
    if not missing:
        return settings.models_dir
    from app.export import export_model

    folder = tmp_path_factory.mktemp("tflite")
    for model_id in ids:
        for suffix in (".keras", ".json", ".tflite"):
            source = settings.models_dir / f"{model_id}{suffix}"
            if source.is_file():
                shutil.copy(source, folder / source.name)
    if settings.default_model in missing:
        export_model(folder / f"{settings.default_model}.keras")
    return folder


@pytest.fixture(scope="module")
def digits(mnist: Mnist) -> np.ndarray:
    """Real MNIST test digits through the serving preprocessing, (n, 28, 28, 1) float32."""
    return prepare(mnist.x_test[:DIGITS])


def runtimes(folder: Path, model_id: str):
    from app.inference.keras_runtime import KerasRuntime
    from app.inference.litert_runtime import LiteRTRuntime

    return KerasRuntime(folder / f"{model_id}.keras"), LiteRTRuntime(folder / f"{model_id}.tflite")


def test_litert_probabilities_equal_keras_on_real_digits(tflite_dir: Path, digits: np.ndarray) -> None:
    compared = 0
    for model_id in model_ids(Settings(models_dir=tflite_dir)):
        if not (tflite_dir / f"{model_id}.tflite").is_file():
            continue
        keras_rt, litert_rt = runtimes(tflite_dir, model_id)
        expected = keras_rt.predict(digits)
        batched = litert_rt.predict(digits)
        single = np.concatenate([litert_rt.predict(digits[i : i + 1]) for i in range(16)])
        assert batched.shape == (DIGITS, 10)
        assert np.abs(batched - expected).max() <= TOLERANCE, model_id
        assert np.abs(single - expected[:16]).max() <= TOLERANCE, model_id
        assert (batched.argmax(axis=1) == expected.argmax(axis=1)).all(), model_id
        compared += 1
    assert compared >= 1


def test_litert_explain_matches_keras(tflite_dir: Path, settings: Settings, digits: np.ndarray) -> None:
    keras_rt, litert_rt = runtimes(tflite_dir, settings.default_model)
    keras_layers, keras_logits = keras_rt.explain(digits[:1])
    litert_layers, litert_logits = litert_rt.explain(digits[:1])
    assert [name for name, _ in litert_layers] == [name for name, _ in keras_layers]
    for (name, ours), (_, theirs) in zip(litert_layers, keras_layers, strict=True):
        assert ours.shape == theirs.shape, name
        assert np.allclose(ours, theirs, atol=1e-4), name
    assert np.allclose(litert_logits, keras_logits, atol=1e-4)


def test_litert_is_safe_from_many_threads(tflite_dir: Path, settings: Settings, digits: np.ndarray) -> None:
    """FastAPI calls the runtime from its thread pool: pooled interpreters, mixed batch sizes, same answers."""
    from app.inference.litert_runtime import LiteRTRuntime

    runtime = LiteRTRuntime(tflite_dir / f"{settings.default_model}.tflite", pool_size=2)
    runtime.warm()
    expected = runtime.predict(digits[:32])
    failures: list[str] = []

    def worker(offset: int) -> None:
        for round_ in range(20):
            size = 1 + (offset + round_) % 4
            start = (offset * 3 + round_) % (32 - size)
            got = runtime.predict(digits[start : start + size])
            if np.abs(got - expected[start : start + size]).max() > TOLERANCE:
                failures.append(f"thread {offset} round {round_}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_event_loop_runs_litert_itself_and_queues_only_when_no_interpreter_is_free(
        tflite_dir: Path, settings: Settings, digits: np.ndarray) -> None:
    """POST /predict awaits LoadedModel.predict_async on the event loop: with LiteRT it answers right there (no
    batcher call), and with every interpreter borrowed it queues for the batcher instead of waiting."""
    import asyncio

    from app.inference.litert_runtime import LiteRTRuntime
    from app.inference.registry import LoadedModel
    from app.modeling.card import ModelCard

    runtime = LiteRTRuntime(tflite_dir / f"{settings.default_model}.tflite", pool_size=1)
    runtime.warm()
    loaded = LoadedModel(ModelCard.read(settings.models_dir / f"{settings.default_model}.json"), runtime)
    expected = runtime.predict(digits[:1])[0]

    async def inline() -> np.ndarray:
        return await loaded.predict_async(digits[0])

    async def while_busy() -> tuple[bool, np.ndarray]:
        with runtime._borrow():  # the only interpreter is busy (a worker thread's /predict/batch, say)
            assert runtime.predict_now(digits[:1]) is None
            pending = asyncio.ensure_future(loaded.predict_async(digits[0]))
            await asyncio.sleep(0.05)
            waited = not pending.done()  # queued: the batcher's thread waits for the interpreter, the loop does not
        return waited, await pending

    answered_inline = in_own_thread(asyncio.run, inline())
    assert loaded.batcher.calls == 0
    waited, queued = in_own_thread(asyncio.run, while_busy())
    loaded.batcher.close()
    assert waited and loaded.batcher.calls == 1
    np.testing.assert_allclose(answered_inline, expected, atol=TOLERANCE)
    np.testing.assert_allclose(queued, expected, atol=TOLERANCE)


def test_missing_tflite_is_a_clear_load_error(tmp_path: Path) -> None:
    from app.inference.litert_runtime import LiteRTRuntime

    with pytest.raises(ModelLoadError, match="digit-lab export"):
        LiteRTRuntime(tmp_path / "cnn.tflite")
    (tmp_path / "bad.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelLoadError, match="bad.tflite"):
        LiteRTRuntime(tmp_path / "bad.tflite")


def test_litert_serving_imports_no_tensorflow(tflite_dir: Path, settings: Settings) -> None:
    """The point of the LiteRT runtime is a fast start: the app and the registry must not pull in TensorFlow."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from app.main import create_app\n"
        "from app.inference.registry import Registry\n"
        f"registry = Registry.load(Path({str(tflite_dir)!r}), {settings.default_model!r}, 'litert')\n"
        "create_app(registry=registry)\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_export_command_rejects_unknown_models(tmp_path: Path) -> None:
    from app.cli import main

    assert main(["export", "--model", "nope", "--model-dir", str(tmp_path)]) == 2
    assert main(["export", "--all", "--model-dir", str(tmp_path)]) == 2


def test_keras_single_images_answer_as_in_a_batch(settings: Settings, digits: np.ndarray) -> None:
    """The batcher puts one request's image into a batch with others: its answer must not depend on that."""
    from app.inference.keras_runtime import KerasRuntime

    runtime = KerasRuntime(settings.models_dir / f"{settings.default_model}.keras")
    runtime.warm()
    expected = runtime.predict(digits)
    single = np.concatenate([runtime.predict(digits[i : i + 1]) for i in range(16)])
    assert np.abs(single - expected[:16]).max() <= TOLERANCE
