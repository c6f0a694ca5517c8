"""Single-image predictions from many request threads, answered together in one model call.

Why: one model call has a fixed cost (TensorFlow's dispatch, LiteRT's invoke) that a batch shares; a Keras
call on 16 images costs about 3.5 single calls. So when requests arrive faster than the model answers, the
images that wait while the model runs go into the next call together.

How (a "combining" lock, no thread of its own): the request that finds the model idle becomes the leader and
runs the model in its own thread; requests arriving meanwhile queue up and sleep. When the leader's call
returns, it answers its batch and, if anything still waits, hands the lead to the oldest waiting request.
Alone, a request runs at once — no timer, no hand-off to another thread, nothing added to its latency.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

import numpy as np

MAX_BATCH = 32  # images per model call at most; beyond this a batch costs its full size anyway


class _Job:
    __slots__ = ("image", "wake", "result", "error", "lead")

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.wake = threading.Event()  # set when the result is in, or when this job is handed the lead
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lead = False


class Batcher:
    """Wraps a batched `predict(images (n, 28, 28, 1)) -> (n, 10)` for callers that each hold one image."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], max_batch: int = MAX_BATCH) -> None:
        self._predict = predict
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: deque[_Job] = deque()
        self._running = False
        self.calls = 0  # model calls made, and images answered by them: their ratio is the mean batch size
        self.images = 0

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        """One (28, 28, 1) image → its (10,) probabilities, computed alone or with whatever else is waiting."""
        job = _Job(image)
        with self._lock:
            self._waiting.append(job)
            job.lead = not self._running
            self._running = True
        if not job.lead:
            job.wake.wait()
        if job.lead:  # from the start, or handed over by the previous leader
            self._lead(job)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _lead(self, own: _Job) -> None:
        """Run batches (oldest first) until our own image is answered, then pass the lead on or stand down."""
        try:
            while own.result is None and own.error is None:
                with self._lock:
                    batch = [self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))]
                self._run(batch, own)
        finally:
            with self._lock:
                if self._waiting:
                    successor = self._waiting[0]
                    successor.lead = True
                    successor.wake.set()
                else:
                    self._running = False

    def _run(self, batch: list[_Job], leader: _Job) -> None:
        try:
            probabilities = self._predict(np.stack([job.image for job in batch]))
        except BaseException as error:  # every image of the batch gets the same error; the server maps it
            for job in batch:
                job.error = error
        else:
            for job, row in zip(batch, probabilities, strict=True):
                job.result = row
        self.calls += 1
        self.images += len(batch)
        for job in batch:
            if job is not leader:
                job.wake.set()
