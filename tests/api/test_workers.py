"""`digit-lab serve --workers 2`: a socket per worker, so keep-alive connections opened together spread across the
workers; a worker that dies is replaced; SIGTERM stops them all; a taken port is one clear line.

These run the real server in a subprocess on loopback, with the LiteRT runtime (it starts in about a second).
Connections are attributed to workers through /proc (which process holds each connection's socket).
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from app.benchmark.bench import worker_pids as children
from app.config import Settings
from app.workers import balanced_workers_supported
from tests.api.test_faults import digit_lab, own_lines, serve_env
from tests.helpers import START_TIMEOUT_S, free_port, wait_until_ready

pytestmark = pytest.mark.skipif(not balanced_workers_supported(), reason="SO_REUSEPORT balancing is Linux-only")
CONNECTIONS = 16


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def sockets_on(port: int, state: str) -> set[str]:
    """Inodes of the IPv4 TCP sockets whose local port is `port`, in `state` ("01" established, "0A" listening)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(fields[9])
    return found


def wait_for_listeners(port: int, count: int) -> None:
    """Until `count` sockets listen on the port: each worker listens once its app has started."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(sockets_on(port, "0A")) < count:
        assert time.monotonic() < deadline, f"fewer than {count} workers listen on port {port}"
        time.sleep(0.2)


def established_per_process(port: int, pids: list[int]) -> Counter:
    """How many established connections to `port` each process holds."""
    inodes = sockets_on(port, "01")
    counts: Counter = Counter()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                counts[pid] += 1
    return counts


@pytest.fixture
def two_workers(settings: Settings):
    port = free_port()
    process = subprocess.Popen([*digit_lab(), "serve", "--runtime", "litert", "--workers", "2",
                                "--model-dir", str(settings.models_dir), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=serve_env())
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}/healthz")
        wait_for_listeners(port, 2)  # the supervisor's own socket holds the port but never listens
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()  # its workers follow it (they asked Linux for SIGTERM when it dies)
            process.wait()


def open_connections(port: int) -> list[http.client.HTTPConnection]:
    """CONNECTIONS keep-alive connections opened together, each answered once (so each worker has accepted)."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(CONNECTIONS)]
    for connection in connections:
        connection.connect()
    for connection in connections:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200
        response.read()
    return connections


@pytest.mark.slow
def test_keep_alive_connections_spread_over_both_workers(two_workers) -> None:
    """With one shared socket, all 16 landed on one worker in 1 run of 6; with a socket each the kernel hashes
    them across both (at most 1 of 16 on a worker happens by chance about once in 2,000 runs)."""
    process, port = two_workers
    workers = children(process.pid)
    assert len(workers) == 2
    connections = open_connections(port)
    try:
        counts = established_per_process(port, workers)
        assert sum(counts.values()) == CONNECTIONS, counts
        assert min(counts[pid] for pid in workers) >= 2, f"connections per worker: {dict(counts)}"
    finally:
        for connection in connections:
            connection.close()


@pytest.mark.slow
def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(two_workers) -> None:
    process, port = two_workers
    first, second = children(process.pid)
    subprocess.run(["kill", "-KILL", str(first)], check=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        now = children(process.pid)
        if len(now) == 2 and first not in now:
            break
        time.sleep(0.2)
    replaced = children(process.pid)
    assert second in replaced and first not in replaced and len(replaced) == 2
    wait_for_listeners(port, 2)
    for connection in open_connections(port):  # both serve: the survivor and the new one
        connection.close()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    _, stderr = process.communicate(timeout=5)
    assert "exited (status -9); starting another" in stderr and "Stopping parent process" in stderr
    assert "Traceback" not in stderr
    assert not any(alive(pid) for pid in replaced), "a worker outlived its supervisor"


@pytest.mark.slow
def test_workers_do_not_outlive_a_killed_supervisor(two_workers) -> None:
    process, _ = two_workers
    workers = children(process.pid)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 60
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "orphaned workers kept running"


def test_a_taken_port_is_one_clear_line(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*digit_lab(), "serve", "--runtime", "litert", "--workers", "2",
                                 "--model-dir", str(settings.models_dir), "--port", str(port)],
                                capture_output=True, text=True, timeout=START_TIMEOUT_S, env=serve_env())
    lines = own_lines(result.stderr)
    assert result.returncode == 1
    assert lines == [f"digit-lab serve: cannot start: cannot listen on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_a_worker_count_below_one_is_refused(workers: str) -> None:
    result = subprocess.run([*digit_lab(), "serve", "--workers", workers], capture_output=True, text=True,
                            timeout=60, env=serve_env())
    assert result.returncode == 2 and "argument --workers:" in result.stderr and "Traceback" not in result.stderr
