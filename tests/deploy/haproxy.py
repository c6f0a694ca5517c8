"""HAProxy as the load balancer of tests/deploy/test_rolling_restart.py: the configuration (health checks as the
Deployment's readinessProbe), the process, and its runtime API (a Unix socket) through which the test takes a
replica out of rotation and puts it back, as Kubernetes removes a terminating pod from the Service's endpoints
before the container is stopped.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BACKEND = "replicas"
CONFIG = """\
global
    maxconn 2000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 40s
    timeout server 40s
    # Longer than any test: the balancer never closes an idle client connection while a request is being sent.
    timeout http-keep-alive 300s
    timeout queue 40s
    timeout check {check_timeout}s
    # Safety nets for what a drain cannot cover (a replica that dies unannounced): a failed connection or an
    # empty answer is tried again, on another replica. The test reports how often they were needed.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend web
    bind 127.0.0.1:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    # What the Deployment's readinessProbe asks, as often and as patiently (its period, timeout and thresholds).
    option httpchk
    http-check send meth GET uri {path}
    http-check expect status 200
    # maxconn: a replica gets a few requests at a time and the rest wait in HAProxy's queue, so a burst
    # cannot pile up inside one replica and make it miss its health checks.
    default-server inter {period}s fall {fall} rise {rise} maxconn 8
{servers}
"""


@dataclass
class Probe:
    """A readinessProbe's httpGet path and timing, in Kubernetes' terms."""

    path: str
    period_s: int = 10
    timeout_s: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1

    @classmethod
    def from_manifest(cls, probe: dict) -> Probe:
        return cls(probe["httpGet"]["path"], probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1),
                   probe.get("failureThreshold", 3), probe.get("successThreshold", 1))


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).is_file()), None)


class HAProxy:
    def __init__(self, binary: str, directory: Path, port: int, replicas: dict[str, int], probe: Probe) -> None:
        self.binary, self.port, self.socket = binary, port, directory / "haproxy.sock"
        self.config = directory / "haproxy.cfg"
        servers = "\n".join(f"    server {name} 127.0.0.1:{replica_port} check"
                            for name, replica_port in replicas.items())
        self.config.write_text(CONFIG.format(socket=self.socket, port=port, backend=BACKEND, servers=servers,
                                             path=probe.path, period=probe.period_s, check_timeout=probe.timeout_s,
                                             fall=probe.failure_threshold, rise=probe.success_threshold))
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def running(self) -> Iterator[HAProxy]:
        check = subprocess.run([self.binary, "-c", "-q", "-f", str(self.config)], check=False,
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"haproxy rejects its configuration:\n{check.stdout}{check.stderr}"
        # -db: in the foreground, so it is this test's child and ends with it.
        self.process = subprocess.Popen([self.binary, "-db", "-f", str(self.config)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 10
            while not self.socket.exists():
                assert self.process.poll() is None, f"haproxy exited:\n{self.process.stdout.read()}"
                assert time.monotonic() < deadline, "haproxy's runtime socket never appeared"
                time.sleep(0.1)
            yield self
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def command(self, line: str) -> str:
        """One runtime API command and its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as api:
            api.settimeout(5)
            api.connect(str(self.socket))
            api.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := api.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend: one row per server and one named BACKEND, keyed by name."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {row["svname"]: row for row in rows if row["pxname"] == BACKEND}

    def set_state(self, server: str, state: str) -> None:
        answer = self.command(f"set server {BACKEND}/{server} state {state}")
        assert not answer.strip(), f"haproxy refused `set server {server} state {state}`: {answer}"

    def wait_status(self, server: str, prefix: str, timeout: float) -> float:
        """Seconds until the server's status starts with prefix ("UP", "MAINT")."""
        started = time.monotonic()
        while not self.stats()[server]["status"].startswith(prefix):
            assert time.monotonic() - started < timeout, \
                f"{server} is {self.stats()[server]['status']}, not {prefix}, after {timeout} s"
            time.sleep(0.1)
        return time.monotonic() - started

    def wait_idle(self, server: str, timeout: float) -> float:
        """Seconds until no request is in progress on the server (current sessions 0)."""
        started = time.monotonic()
        while int(self.stats()[server]["scur"] or 0) > 0:
            assert time.monotonic() - started < timeout, f"{server} still busy after {timeout} s"
            time.sleep(0.05)
        return time.monotonic() - started
