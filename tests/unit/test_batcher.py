"""The batcher answers each caller with its own image's result, shares model calls under load, runs a lone
request at once (a lone awaited one on the event loop itself), and keeps the event loop free while the model
runs for a queue."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.inference.batcher import Batcher
from tests.helpers import in_own_thread


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


def test_alone_a_request_runs_at_once_on_the_inference_thread() -> None:
    model = SlowModel(seconds=0)
    batcher = Batcher(model, name="seven")
    answers = []
    for number in range(20):
        started = time.perf_counter()
        answers.append(batcher.predict_blocking(image(number))[0])
        assert time.perf_counter() - started < 0.5
    assert answers == list(range(20))
    assert model.batch_sizes == [1] * 20 and model.threads == {"digit-lab-infer-seven"}
    batcher.close()


def test_a_lone_awaited_request_runs_on_the_event_loop_and_a_burst_is_still_batched() -> None:
    model = SlowModel(seconds=0.002)
    batcher = Batcher(model, name="eight")

    async def scenario() -> tuple[list[float], list[float], str]:
        alone = [float((await batcher.predict_async(image(n)))[0]) for n in range(5)]
        burst = await asyncio.gather(*(batcher.predict_async(image(n)) for n in range(10)))
        return alone, [float(r[0]) for r in burst], threading.current_thread().name

    alone, burst, loop_thread = in_own_thread(lambda: asyncio.run(scenario()))
    assert alone == list(range(5)) and burst == list(range(10))
    assert model.batch_sizes[:5] == [1] * 5  # one at a time, each alone ...
    assert loop_thread in model.threads  # ... computed on the loop's own thread, with no hop
    assert sum(model.batch_sizes[5:]) == 10 and len(model.batch_sizes[5:]) <= 3, model.batch_sizes
    assert "digit-lab-infer-eight" in model.threads  # the burst went through the inference thread
    batcher.close()


def test_without_alone_on_loop_every_awaited_request_goes_to_the_inference_thread() -> None:
    model = SlowModel(seconds=0)
    batcher = Batcher(model, name="nine", alone_on_loop=False)

    async def scenario() -> list[float]:
        return [float((await batcher.predict_async(image(n)))[0]) for n in range(5)]

    assert in_own_thread(lambda: asyncio.run(scenario())) == list(range(5))
    assert model.threads == {"digit-lab-infer-nine"}
    batcher.close()


def test_the_event_loop_stays_free_while_the_model_runs() -> None:
    model = SlowModel(seconds=0.05)
    batcher = Batcher(model)

    async def scenario() -> tuple[list[float], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        results = await asyncio.gather(*(batcher.predict_async(image(n)) for n in range(10)))
        ticking.cancel()
        return [float(r[0]) for r in results], ticks

    answers, ticks = in_own_thread(lambda: asyncio.run(scenario()))
    assert answers == list(range(10))
    assert ticks >= 5, "the loop was blocked while the model ran"
    assert len(model.batch_sizes) <= 3, f"ten awaiting requests were not batched: {model.batch_sizes}"


def test_concurrent_requests_share_calls_and_get_their_own_answers() -> None:
    model = SlowModel()
    batcher = Batcher(model, max_batch=8)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: batcher.predict_blocking(image(n))[0], range(200)))
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
            batcher.predict_blocking(image(number))
            outcomes[number] = "ok"
        except RuntimeError:
            outcomes[number] = "error"

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(ask, range(40)))
    assert outcomes[13] == "error" and len(outcomes) == 40
    assert "ok" in outcomes.values()
    # After a failure the batcher still serves.
    model.fail_on = None
    assert batcher.predict_blocking(image(3))[0] == 3


@pytest.mark.parametrize("callers", [1, 3, 32])
def test_never_stalls(callers: int) -> None:
    """Every caller returns, whatever the interleaving (the lead is always handed on or released)."""
    model = SlowModel(seconds=0.001)
    batcher = Batcher(model, max_batch=4)
    with ThreadPoolExecutor(callers) as pool:
        futures = [pool.submit(batcher.predict_blocking, image(n)) for n in range(callers * 10)]
        assert [f.result(timeout=30)[0] for f in futures] == list(range(callers * 10))
    batcher.close()
    assert batcher.images == callers * 10


def test_a_cancelled_request_is_skipped() -> None:
    model = SlowModel(seconds=0.05)
    batcher = Batcher(model)
    first = batcher.submit(image(1))  # occupies the model
    time.sleep(0.01)
    cancelled = batcher.submit(image(2))
    assert cancelled.cancel()
    assert batcher.submit(image(3)).result(timeout=5)[0] == 3
    assert first.result()[0] == 1 and batcher.images == 2
