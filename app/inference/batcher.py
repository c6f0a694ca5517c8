"""Single-image predictions from many requests, answered together in one model call.

Why: one model call has a fixed cost (TensorFlow's dispatch, LiteRT's invoke) that a batch shares; a Keras
call on 16 images costs about 3.5 single calls. So when requests arrive faster than the model answers, the
images that arrive while the model runs go into the next call together.

How: each model has one inference thread. Requests put their image on its queue and wait (an asyncio
request awaits, so the event loop goes on decoding other requests meanwhile). The thread takes whatever is
queued — at most MAX_BATCH images — runs one call with the GIL released inside TensorFlow or LiteRT, answers
each request, and looks again. There is no timer: a request that arrives alone is run at once.

Batching only pays when there is a queue. An awaited image that is alone (no other request on the loop is at
this point, nothing queued, no call running) is run right on the event loop: the hop to the inference thread
and back costs two thread wake-ups, a quarter of a Keras call on a 2-core machine, and nobody is waiting for
the loop meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

log = logging.getLogger("digit_lab.batcher")

MAX_BATCH = 32  # images per model call at most; beyond this a batch costs its full size anyway


class Batcher:
    """Wraps a batched `predict(images (n, 28, 28, 1)) -> (n, 10)` for callers that each hold one image."""

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray], name: str = "model",
                 max_batch: int = MAX_BATCH, alone_on_loop: bool = True) -> None:
        """`alone_on_loop`: run a lone awaited image on the event loop. Only for a `predict` that never waits
        for anything but the CPU (a runtime with a pool of interpreters answers on the loop itself, and
        queues here only when every interpreter is borrowed)."""
        self._predict = predict
        self._name = name
        self._max_batch = max_batch
        self._alone_on_loop = alone_on_loop
        self._queue: queue.SimpleQueue[tuple[np.ndarray, Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._running = False  # the inference thread is in a model call
        self._arriving = 0  # awaited images between arrival and answer (event-loop side only)
        self.calls = 0  # model calls made, and images answered by them: their ratio is the mean batch size
        self.images = 0

    def submit(self, image: np.ndarray) -> Future:
        """Queue one (28, 28, 1) image; the future's result is its (10,) probabilities."""
        if self._thread is None:
            self._start()
        future: Future = Future()
        self._queue.put((image, future))
        return future

    def predict_blocking(self, image: np.ndarray) -> np.ndarray:
        """One image's (10,) probabilities, waiting in this thread: for worker threads."""
        return self.submit(image).result()

    async def predict_async(self, image: np.ndarray) -> np.ndarray:
        """One image's (10,) probabilities, awaited: for the event loop. Alone, it is computed right here;
        with company, it is queued and the loop serves other requests while the batch runs."""
        self._arriving += 1
        try:
            # One turn of the loop first: requests that are ready to run get to this point too, so a burst is
            # seen as a queue (and batched) instead of as a row of lone requests.
            await asyncio.sleep(0)
            if self._alone_on_loop and self._arriving == 1 and not self._running and self._queue.empty():
                return self._predict(image[np.newaxis])[0]
            return await asyncio.wrap_future(self.submit(image))
        finally:
            self._arriving -= 1

    def close(self) -> None:
        """Stop the inference thread once the images queued so far are answered."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name=f"digit-lab-infer-{self._name}")
                self._thread.start()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[tuple[np.ndarray, Future]]) -> None:
        futures = [future for _, future in batch if future.set_running_or_notify_cancel()]
        images = [image for image, future in batch if future.running()]
        if not futures:
            return
        self._running = True
        try:
            probabilities = self._predict(np.stack(images))
        except Exception as error:  # every request of the batch gets the error; the server maps it
            log.debug("batch of %d failed: %s", len(images), error)
            for future in futures:
                future.set_exception(error)
        else:
            for future, row in zip(futures, probabilities, strict=True):
                future.set_result(row)
        finally:
            self._running = False
        self.calls += 1
        self.images += len(images)
