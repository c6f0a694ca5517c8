"""The batcher answers each caller with its own image's result, shares model calls under load, and adds
nothing when a request is alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.inference.batcher import Batcher


class SlowModel:
    """A stand-in model: each image's 'probabilities' encode its own id; every call takes a while."""

    def __init__(self, seconds: float = 0.01, fail_on: int | None = None) -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.batch_sizes: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(images))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        ids = images[:, 0, 0, 0]
        if self.fail_on is not None and self.fail_on in ids:
            raise RuntimeError("model failed")
        return np.repeat(ids[:, np.newaxis], 10, axis=1)


def image(number: int) -> np.ndarray:
    return np.full((28, 28, 1), number, dtype=np.float32)


def test_alone_a_request_runs_at_once_in_its_own_thread() -> None:
    model = SlowModel(seconds=0)
    batcher = Batcher(model)
    assert batcher.predict_one(image(7))[0] == 7
    assert model.batch_sizes == [1] and model.threads == {threading.current_thread().name}


def test_concurrent_requests_share_calls_and_get_their_own_answers() -> None:
    model = SlowModel()
    batcher = Batcher(model, max_batch=8)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: batcher.predict_one(image(n))[0], range(200)))
    assert answers == list(range(200))
    assert sum(model.batch_sizes) == 200 == batcher.images
    assert max(model.batch_sizes) <= 8
    assert len(model.batch_sizes) < 100, f"no sharing: {len(model.batch_sizes)} calls for 200 images"


def test_an_error_reaches_every_request_of_its_batch_and_no_other() -> None:
    model = SlowModel(fail_on=13)
    batcher = Batcher(model)
    outcomes: dict[int, str] = {}

    def ask(number: int) -> None:
        try:
            batcher.predict_one(image(number))
            outcomes[number] = "ok"
        except RuntimeError:
            outcomes[number] = "error"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(ask, range(40)))
    assert outcomes[13] == "error" and len(outcomes) == 40
    assert "ok" in outcomes.values()
    # After a failure the batcher still serves.
    model.fail_on = None
    assert batcher.predict_one(image(3))[0] == 3


@pytest.mark.parametrize("callers", [1, 3, 32])
def test_never_stalls(callers: int) -> None:
    """Every caller returns, whatever the interleaving (the lead is always handed on or released)."""
    model = SlowModel(seconds=0.001)
    batcher = Batcher(model, max_batch=4)
    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(batcher.predict_one, image(n)) for n in range(callers * 10)]
        assert [f.result(timeout=30)[0] for f in futures] == list(range(callers * 10))
    assert not batcher._running and not batcher._waiting
