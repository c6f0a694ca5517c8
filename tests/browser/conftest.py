"""Browser fixtures: the real server in a subprocess on a free loopback port, and Chromium driven by Playwright.

Every page opened through `open_page` records console errors, page errors, failed requests and HTTP
errors; the test fails at teardown if any happened. Screenshots go to test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, skip_or_fail
from tests.helpers import free_port, wait_until_ready

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
SERVER_START_SECONDS = float(os.environ.get("DIGIT_LAB_SERVER_START_SECONDS", "180"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def get_json(url: str, timeout: float = 2.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def server(artifacts: Path) -> Iterator[str]:
    """The real app (uvicorn, the shipped models unless DIGIT_LAB_MODELS_DIR says otherwise); yields its base URL."""
    port = free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log_path = artifacts / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, f"{base}/readyz", timeout=SERVER_START_SECONDS,  # every model, not only the default
                         ready=lambda response: response.status_code == 200 and not response.json()["loading"],
                         describe=lambda: log_path.read_text()[-3000:])
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def models(server: str) -> dict:
    """GET /models of the running server."""
    return get_json(f"{server}/models")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("DIGIT_LAB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("Playwright is not installed (pip install playwright)")
    executable = chromium_path()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as error:  # no bundled browser and no system Chromium
            skip_or_fail(f"Chromium cannot be started ({type(error).__name__}: {str(error)[:200]})")
        yield browser
        browser.close()


@dataclass
class Problems:
    """What went wrong on a page: any entry fails the test."""

    entries: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.entries.append(f"{kind}: {text}")


@pytest.fixture
def open_page(browser, server: str) -> Iterator[Callable[..., object]]:
    """open_page(path="/", **context_options) → a Playwright page that fails the test on any console error,
    uncaught exception, failed request or HTTP error status."""
    contexts = []
    problems = Problems()

    def opener(path: str = "/", **options) -> object:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=server, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and problems.add("console error", m.text))
        page.on("pageerror", lambda e: problems.add("page error", str(e)))
        page.on("requestfailed", lambda r: problems.add("request failed", f"{r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and problems.add("HTTP error", f"{r.status} {r.url}"))
        page.set_default_timeout(15_000)
        page.goto(path)
        page.locator("body[data-ready=true]").wait_for()
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not problems.entries, "problems on the page:\n" + "\n".join(problems.entries)
