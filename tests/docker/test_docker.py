"""The container image, used as people will use it: build it, run it with a read-only root filesystem and the
port on 127.0.0.1, wait for it to be healthy, ask it for real digits, check it is not root, stop it.

Needs a container engine (`docker info` must answer). On these machines:
    eval "$(../shared/container/engine.sh start)"
    pytest -m docker -s              # -s shows the measured build / start / stop times
Without an engine the tests skip (fail under DIGIT_LAB_REQUIRE_ALL=1, as in CI). The first build downloads
TensorFlow (minutes); later builds reuse the dependency layer. The image is kept for that cache; containers are not.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import canvas_png, data_url
from tests.containers import (
    HEALTHY_TIMEOUT_S,
    Container,
    build_image,
    docker,
    free_port,
    inspect,
    require_engine,
    wait_healthy,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = os.environ.get("DIGIT_LAB_DOCKER_IMAGE", "digit-lab:test")
DIGITS = 10  # the first ten MNIST test images


@pytest.fixture(scope="module")
def engine() -> None:
    require_engine()


@pytest.fixture(scope="module")
def image(engine: None) -> str:
    return build_image(IMAGE)


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[Container]:
    """One running container for the module; removed whatever happens."""
    box = Container(name=f"digit-lab-test-{uuid.uuid4().hex[:8]}", port=free_port(), started=time.monotonic())
    # As the README tells people to run it: read-only root, a tmpfs for /tmp, the port on loopback only.
    docker("run", "--detach", "--name", box.name, "--read-only", "--tmpfs", "/tmp",
           "--publish", f"127.0.0.1:{box.port}:8000", image)
    try:
        yield box
    finally:
        docker("rm", "--force", box.name, check=False)


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of one HTTP/1.1 response with a Content-Length (what uvicorn sends for JSON)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a response: {data[:300]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid-response"
        body += chunk
    return int(lines[0].split()[1]), body


def test_image_serves_digits_as_non_root_on_a_read_only_root(container: Container, mnist) -> None:
    seconds = wait_healthy(container)
    print(f"\n[docker] docker run → healthy: {seconds:.1f} s")

    assert httpx.get(f"{container.url}/healthz", timeout=10).json() == {"status": "ok"}
    correct = 0
    for digit, label in zip(mnist.x_test[:DIGITS], mnist.y_test[:DIGITS], strict=True):
        response = httpx.post(f"{container.url}/predict", json={"image": data_url(canvas_png(digit))}, timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["model"] == "cnn"  # DIGIT_LAB_DEFAULT_MODEL in the image
        assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-3
        assert answer["digit"] == max(range(10), key=answer["probabilities"].__getitem__)
        correct += answer["digit"] == int(label)
    # The CNN scores ~99% on MNIST; one miss in ten is allowed, a broken pipeline scores about one in ten.
    assert correct >= DIGITS - 1, f"only {correct}/{DIGITS} MNIST test digits recognised through the container"

    # Not root: every process in the container, the server (PID 1) first.
    uids = docker("exec", container.name, "python", "-c",
                  "import glob; print(' '.join(open(p).read().split('Uid:')[1].split()[0] "
                  "for p in sorted(glob.glob('/proc/[0-9]*/status'))))").stdout.split()
    assert uids and "0" not in uids, f"a process runs as root: uids {uids}"
    assert inspect(container.name)["Config"]["User"] not in ("", "0", "root")
    # The root filesystem really is read-only, and the server runs anyway.
    assert docker("exec", container.name, "touch", "/app/probe", check=False).returncode != 0


def test_sigterm_lets_the_request_in_flight_finish_and_stops_promptly(container: Container, mnist) -> None:
    """`docker stop` mid-request: the request still gets its answer and the container exits 0 before docker's
    10 s SIGKILL. Runs last in this module: it stops the shared container."""
    wait_healthy(container)
    body = json.dumps({"image": data_url(canvas_png(mnist.x_test[0]))}).encode()
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", container.port), timeout=30) as sock:
        sock.sendall(head + body[: len(body) // 2])  # the request is now in flight, its body half sent
        time.sleep(0.5)
        stop_started = time.monotonic()
        stopper = subprocess.Popen(["docker", "stop", "--time", "10", container.name],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # Send the rest only once the server has begun shutting down.
            deadline = time.monotonic() + 10
            while "Shutting down" not in container.logs():
                assert time.monotonic() < deadline, f"no sign of SIGTERM in the logs:\n{container.logs()}"
                time.sleep(0.2)
            sock.sendall(body[len(body) // 2 :])
            reply = read_response(sock)
        finally:
            stopper.wait(timeout=30)
    stop_seconds = time.monotonic() - stop_started
    print(f"\n[docker] docker stop with a request in flight: {stop_seconds:.1f} s")

    status, answer = reply
    assert status == 200, answer[:500]
    assert json.loads(answer)["digit"] == int(mnist.y_test[0])
    assert stopper.returncode == 0, stopper.stderr
    # Exit 0: neither killed at docker's 10 s deadline (137) nor crashed on the way out (139).
    state = inspect(container.name)["State"]
    assert not state["Running"] and state["ExitCode"] == 0, f"exit {state['ExitCode']}:\n{container.logs()}"


def test_two_workers_in_the_container_serve_and_stop_cleanly(image: str, mnist) -> None:
    """DIGIT_LAB_WORKERS=2: the supervisor is PID 1 (app/workers.py), each worker listens on the port itself,
    and `docker stop` still ends with exit 0 (SIGTERM reaches PID 1's handler, the workers finish, then it exits)."""
    box = Container(name=f"digit-lab-test-{uuid.uuid4().hex[:8]}", port=free_port(), started=time.monotonic())
    docker("run", "--detach", "--name", box.name, "--read-only", "--tmpfs", "/tmp", "--env", "DIGIT_LAB_WORKERS=2",
           "--publish", f"127.0.0.1:{box.port}:8000", image)
    try:
        wait_healthy(box)
        listing = docker("exec", box.name, "python", "-c",  # this command's own line names spawn too: skip it
                         "import glob, os; print(sum(b'multiprocessing.spawn' in open(p, 'rb').read() "
                         "for p in glob.glob('/proc/[0-9]*/cmdline') if p != f'/proc/{os.getpid()}/cmdline'))").stdout
        assert listing.strip() == "2", f"worker processes: {listing!r}\n{box.logs()}"
        deadline = time.monotonic() + HEALTHY_TIMEOUT_S  # the second worker may still be warming up
        while "Application startup complete." not in box.logs().split("Application startup complete.", 1)[-1]:
            assert time.monotonic() < deadline, f"the second worker never started:\n{box.logs()}"
            time.sleep(0.5)
        for digit, label in zip(mnist.x_test[:4], mnist.y_test[:4], strict=True):
            response = httpx.post(f"{box.url}/predict", json={"image": data_url(canvas_png(digit))}, timeout=30)
            assert response.status_code == 200 and response.json()["digit"] == int(label), response.text
        docker("stop", "--time", "10", box.name, timeout=30)
        state = inspect(box.name)["State"]
        assert state["ExitCode"] == 0, f"exit {state['ExitCode']}:\n{box.logs()}"
        assert "Stopping parent process [1]" in box.logs()
    finally:
        docker("rm", "--force", box.name, check=False)
