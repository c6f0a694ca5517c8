"""Several server processes on one port, each with its own listening socket (SO_REUSEPORT, Linux).

Why not uvicorn's own `--workers`: there all workers share one socket, and whichever wakes first accepts every
connection that is waiting. Clients that open their keep-alive connections together — a load generator, a
proxy's connection pool — can then all land on one worker while the other idles (docs/serving.md has the
measurements). With a socket per worker the Linux kernel spreads new connections across the workers by a hash
of their addresses.

The supervisor holds the port (bound, not listening, so it never takes a connection), starts the workers,
starts a new one when a worker dies after it served, stops when one cannot start at all (the same error would
repeat), and on SIGINT or SIGTERM asks every worker to finish its requests and waits for them. A worker whose
supervisor is killed outright gets SIGTERM from Linux, so no orphan goes on serving.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")
POLL_S = 0.5  # how often the supervisor looks at its workers
PR_SET_PDEATHSIG = 1  # prctl(2)
START = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, as uvicorn does


class PortUnavailable(Exception):
    """The port is taken (or not ours to use); said before any worker starts."""


def reuse_port_supported() -> bool:
    """Several sockets may share a port (Linux, macOS); not on Windows."""
    return hasattr(socket, "SO_REUSEPORT")


def balanced_workers_supported() -> bool:
    """SO_REUSEPORT spreads connections across sockets on Linux; elsewhere one socket may take them all."""
    return sys.platform.startswith("linux") and reuse_port_supported()


def port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) that other SO_REUSEPORT sockets of this user may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def end_with(supervisor: int) -> None:
    """Ask Linux to send this process SIGTERM when its supervisor dies, even by SIGKILL: no orphan keeps serving."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it was gone before we asked
        sys.exit(0)


def serve_one(options: dict[str, Any], supervisor: int) -> None:
    """One worker: its own socket, one uvicorn server; exit status 3 when it never started serving."""
    end_with(supervisor)
    config = uvicorn.Config(**options)
    server = uvicorn.Server(config)
    server.run(sockets=[port_socket(config.host, config.port)])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run_workers(options: dict[str, Any], workers: int) -> int:
    """Run `workers` servers with uvicorn.Config `options` until SIGINT/SIGTERM; the exit status.
    PortUnavailable, before any worker starts, when the port cannot be had."""
    try:
        held = port_socket(options["host"], options["port"])
    except OSError as error:
        raise PortUnavailable(f"cannot listen on {options['host']}:{options['port']}: "
                              f"{error.strerror or error}") from None
    uvicorn.Config(**options).configure_logging()  # the supervisor logs as uvicorn's own would
    stopping = threading.Event()
    status = 0

    def stop(signum: int, _frame: object) -> None:
        log.info("Received %s, stopping the workers.", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    log.info("Started parent process [%d], %d workers with a socket each", os.getpid(), workers)
    processes = [_start(options) for _ in range(workers)]
    try:
        while not stopping.wait(POLL_S):
            for index, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Worker [%d] failed to start; stopping.", process.pid)
                    status = 1
                    stopping.set()
                    break
                log.warning("Worker [%d] exited (status %s); starting another.", process.pid, process.exitcode)
                processes[index] = _start(options)
    finally:
        for process in processes:
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):  # it may have exited just now
                    os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes the requests in flight, then exits
        for process in processes:
            process.join()
        held.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("Stopping parent process [%d]", os.getpid())
    return status


def _start(options: dict[str, Any]) -> SpawnProcess:
    process = START.Process(target=serve_one, args=(options, os.getpid()), name="digit-lab-worker")
    process.start()
    return process
