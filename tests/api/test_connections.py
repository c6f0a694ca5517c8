"""Connection hygiene of the real server (app/connections.py): a `digit-lab serve` on loopback with small limits,
so each defence shows within a second or two. Marked slow: starting the server loads TensorFlow.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.api.test_faults import copy_models, digit_lab, serve_env
from tests.helpers import free_port, wait_until_ready

pytestmark = pytest.mark.slow
LIMITS = {"DIGIT_LAB_HEADER_TIMEOUT_S": "1", "DIGIT_LAB_BODY_TIMEOUT_S": "3", "DIGIT_LAB_MAX_CONNECTIONS": "20",
          "DIGIT_LAB_LIMIT_CONCURRENCY": "3", "DIGIT_LAB_MAX_HEADERS": "20", "DIGIT_LAB_MAX_HEADER_BYTES": "8192"}


def start(models: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([*digit_lab(), "serve", "--model-dir", str(models), "--port", str(port), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**serve_env(), **env})
    wait_until_ready(process, f"http://127.0.0.1:{port}/healthz")
    return process, port


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory) -> Iterator[tuple[int, subprocess.Popen]]:
    models = copy_models(settings, tmp_path_factory.mktemp("conn"), [settings.default_model])
    process, port = start(models, LIMITS, "--graceful-timeout", "1")
    try:
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)


def exchange(port: int, data: bytes, timeout: float = 5) -> tuple[bytes, float]:
    """Send `data`, read until the server closes (or `timeout`); → (answer, seconds until closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        started = time.monotonic()
        try:
            connection.sendall(data)
        except OSError:
            pass
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer, time.monotonic() - started


def assert_plain_refusal(answer: bytes, status: int) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), answer[:200]
    lowered = head.lower()
    assert b"x-content-type-options: nosniff" in lowered and b"frame-ancestors 'none'" in lowered
    assert b"server:" not in lowered and b"uvicorn" not in lowered
    assert body.startswith(b'{"detail": ')


def test_no_server_header_on_ordinary_answers(server) -> None:
    port = server[0]
    response = httpx.get(f"http://127.0.0.1:{port}/healthz")
    assert response.status_code == 200 and "server" not in response.headers


def test_uvicorns_own_400_carries_the_security_headers(server) -> None:
    answer, _ = exchange(server[0], b"NOT HTTP AT ALL\r\n\r\n")
    assert_plain_refusal(answer, 400)


def test_too_many_headers_or_too_large_a_head_is_a_431(server) -> None:
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(30)) + b"\r\n"
    assert_plain_refusal(exchange(server[0], many)[0], 431)
    one_big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert_plain_refusal(exchange(server[0], one_big)[0], 431)


def test_an_endless_header_is_cut_off_without_reading_it(server) -> None:
    """128 MiB of one header used to be read (and concatenated) whole; now the connection closes after a few KiB."""
    port = server[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent, started = 0, time.monotonic()
        with pytest.raises(OSError):
            while sent < 128 * 1024 * 1024:
                connection.sendall(b"a" * 65536)
                sent += 65536
    assert sent < 16 * 1024 * 1024 and time.monotonic() - started < 2


def test_a_slow_or_silent_client_is_timed_out(server) -> None:
    port = server[0]
    silent, silent_s = exchange(port, b"")
    assert silent == b"" and silent_s < 3, "a connection that sends nothing is closed"
    partial, partial_s = exchange(port, b"GET / HTTP/1.1\r\nHost")
    assert_plain_refusal(partial, 408)
    assert partial_s < 3
    _, body_s = exchange(port, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                  b"Content-Length: 1000\r\n\r\n{")
    assert 2.5 < body_s < 5, "a body that stops arriving is given up"


def test_idle_connections_beyond_the_cap_are_evicted_and_new_clients_served(server) -> None:
    port, pid = server[0], server[1].pid
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
    try:
        for connection in idle:
            connection.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.3)
        assert len(os.listdir(f"/proc/{pid}/fd")) < 100, "descriptors are bounded by the connection cap"
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        for connection in idle:
            connection.close()


def test_requests_in_flight_beyond_the_cap_get_a_clean_503(server) -> None:
    port = server[0]
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        for connection in slow:
            connection.sendall(head)  # each is a request in flight, waiting for its body
        time.sleep(0.2)
        answer, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
        assert_plain_refusal(answer, 503)
        assert b"retry-after: 1" in answer.lower()
    finally:
        for connection in slow:
            connection.close()
    # The slots come back once those clients are gone (and the next test starts with a server that admits it).
    wait_until_ready(server[1], f"http://127.0.0.1:{port}/healthz", timeout=5,
                     describe=lambda: "(requests in flight are released when their clients disconnect)")


def test_sigterm_cutting_a_long_request_answers_503_without_a_traceback(server) -> None:
    """Last in this module: it stops the server. A request still waiting for its body when the graceful-shutdown
    timeout (1 s here) runs out used to get uvicorn's 500 and a traceback in the log."""
    port, process = server
    connection = socket.create_connection(("127.0.0.1", port), timeout=20)
    connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 1000\r\n\r\n{")  # the rest never comes
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    connection.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b"restarting" in answer
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    _, stderr = process.communicate(timeout=5)
    assert "Traceback" not in stderr and "Exception in ASGI application" not in stderr, stderr[-2000:]
