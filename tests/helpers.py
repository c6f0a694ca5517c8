"""Helpers for tests: a free loopback port, waiting until a server answers, and running an event loop of one's own."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.benchmark.bench import free_port  # noqa: F401  (one definition: the benchmark starts servers too)

START_TIMEOUT_S = 240  # TensorFlow's import and the model warm-up, on a busy two-core CI machine


def wait_until_ready(process: subprocess.Popen, url: str, timeout: float = START_TIMEOUT_S,
                     ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
                     describe: Callable[[], str] = lambda: "") -> None:
    """Poll GET `url` until `ready(response)`; fail the test when the server exits first or `timeout` passes.

    `describe` adds context (a log tail) to the failure message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited during start-up (status {process.returncode}) {describe()}")
        try:
            if ready(httpx.get(url, timeout=2)):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the server was not ready within {timeout:.0f} s {describe()}")


def in_own_thread(fn, *args):
    """fn(*args) in a thread of its own, for code that runs its own event loop (asyncio.run): the browser tests'
    Playwright may be running one in the main thread."""
    with ThreadPoolExecutor(1) as own_thread:
        return own_thread.submit(fn, *args).result()
