"""Three replicas of the image behind HAProxy, restarted one at a time under steady canvas load: not one request
may fail. This is what a Kubernetes rolling update does to the pods of deploy/kubernetes, played on this machine:

- replicas: containers of the LiteRT image (DIGIT_LAB_REPLICA_RUNTIME=keras for the TensorFlow one), each on its
  own 127.0.0.1 port, run as the matching kustomization's Deployment says (its environment, user, memory limit,
  read-only root, dropped capabilities, no privilege escalation, /tmp of the emptyDir's size);
- the Service: HAProxy on 127.0.0.1, health-checking each replica's /readyz like the readinessProbe;
- a pod's termination: the replica leaves the rotation first (Kubernetes removes the endpoint; the preStop sleep
  covers the delay), requests in flight on it finish, then `docker stop` sends SIGTERM, the container starts
  again, and it rejoins once /readyz answers.

Runs ~100 canvas POST /predict a second (app/benchmark/canvas-chromium.png, what the page sends) for 60 s, all
through the balancer, and writes p50/p99/throughput with the per-replica CPU per request and memory to
test-artifacts/deploy/rolling-restart.json. Needs a container engine and haproxy (Debian: apt-get install haproxy);
skips without them, fails under DIGIT_LAB_REQUIRE_ALL=1 (CI).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, data_url, skip_or_fail
from tests.containers import Container, build_image, docker, free_port, inspect, require_engine
from tests.deploy.haproxy import HAProxy, Probe, haproxy_binary
from tests.deploy.kustomize import render
from tests.deploy.load import LoadResult, steady_load

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RUNTIME = os.environ.get("DIGIT_LAB_REPLICA_RUNTIME", "litert")
IMAGE = f"digit-lab:{RUNTIME}-test"
KUSTOMIZATION = PROJECT_ROOT / "deploy" / "kubernetes" / ("base" if RUNTIME == "keras" else f"overlays/{RUNTIME}")
REPLICAS = 3
RATE = 100  # requests a second
DURATION = 60  # seconds of load
CPU_WINDOW = (2.0, 12.0)  # seconds into the load, before any restart: CPU per request is measured here
READY_TIMEOUT_S = 120
# A request counts as failed past this: far above the few milliseconds one takes, so that a machine busy with
# other work shows up as latency, not as failures; a replica that drops a request fails it at once anyway.
REQUEST_TIMEOUT_S = 30
# Requests still unsent this long after the last one was due fail unsent, so the load ends by itself even when
# a machine busy with other work answers far below the offered rate (throughput is reported, not asserted).
GIVE_UP_AFTER_S = 120
CANVAS = PROJECT_ROOT / "app" / "benchmark" / "canvas-chromium.png"  # the PNG the page sends
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "deploy"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def lasting_port(taken: set[int]) -> int:
    """A free 127.0.0.1 port below the kernel's ephemeral range. A replica keeps its port across the restart,
    and while it is stopped a port from the ephemeral range (what binding port 0 gives) can be taken as the
    source port of any outgoing connection on the machine; `docker start` then fails with "address in use"."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(max(1024, low - 10_000), low), 200):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            taken.add(port)
            return port
    raise AssertionError(f"no free port below {low}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (the container's server: PID 1 inside, one worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def server_pid(box: Container) -> int:
    return int(inspect(box.name)["State"]["Pid"])


def pod_spec() -> tuple[dict, dict]:
    """The Deployment's pod spec and its one container, as rendered from the kustomization."""
    deployment = next(r for r in render(KUSTOMIZATION) if r["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def pod_as_docker_run() -> tuple[list[str], int, int]:
    """`docker run` options that run the container as the Deployment's pod spec does, its port, and the seconds
    `docker stop` waits (the grace period less the preStop sleep, which the drain stands in for here)."""
    pod, container = pod_spec()
    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    options = [arg for item in container.get("env", []) for arg in ("--env", f"{item['name']}={item['value']}")]
    options += ["--user", f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"]
    if security.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    options += [arg for cap in security.get("capabilities", {}).get("drop", []) for arg in ("--cap-drop", cap)]
    if security.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        size = volumes[mount["name"]]["emptyDir"].get("sizeLimit", "64Mi").replace("Mi", "m")
        options += ["--tmpfs", f"{mount['mountPath']}:size={size}"]
    memory = container["resources"]["limits"]["memory"]
    assert memory.endswith("Mi"), memory
    options += ["--memory", str(int(memory[:-2]) * 2**20)]
    grace = pod["terminationGracePeriodSeconds"] - container["lifecycle"]["preStop"]["sleep"]["seconds"]
    return options, container["ports"][0]["containerPort"], grace


def wait_ready(box: Container, timeout: float = READY_TIMEOUT_S) -> float:
    """Seconds from box.started until the replica's own /readyz answers 200 (what the readinessProbe asks)."""
    while True:
        try:
            if httpx.get(f"{box.url}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - box.started
        except httpx.HTTPError:
            pass
        state = inspect(box.name)["State"]
        assert state.get("Running"), f"{box.name} stopped (exit {state.get('ExitCode')}):\n{box.logs()}"
        assert time.monotonic() - box.started < timeout, f"{box.name} not ready after {timeout} s:\n{box.logs()}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def balancer_binary() -> str:
    binary = haproxy_binary()
    if binary is None:
        skip_or_fail("no haproxy (Debian: apt-get install haproxy) to balance the replicas")
    return binary


@pytest.fixture(scope="module")
def replicas(balancer_binary: str) -> Iterator[dict[str, Container]]:
    require_engine()
    image = build_image(IMAGE, runtime=RUNTIME)
    ports: set[int] = set()
    boxes = {f"r{i}": Container(name=f"digit-lab-replica-{uuid.uuid4().hex[:8]}", port=lasting_port(ports),
                                started=time.monotonic()) for i in range(1, REPLICAS + 1)}
    try:
        pod_options, container_port, _ = pod_as_docker_run()
        for box in boxes.values():
            box.started = time.monotonic()
            docker("run", "--detach", "--name", box.name, *pod_options,
                   "--publish", f"127.0.0.1:{box.port}:{container_port}", image)
        for box in boxes.values():
            print(f"[deploy] {box.name}: docker run -> /readyz 200 in {wait_ready(box):.1f} s")
        yield boxes
    finally:
        for box in boxes.values():
            docker("rm", "--force", box.name, check=False)


def restart(balancer: HAProxy, server: str, box: Container) -> dict[str, float]:
    """One replica through a pod's termination and start, timed step by step."""
    steps = {"began": time.monotonic()}
    balancer.set_state(server, "maint")  # the endpoint is removed: no new request goes to it
    steps["drain_s"] = balancer.wait_idle(server, timeout=15)
    stopped = time.monotonic()
    # SIGTERM; uvicorn lets requests in flight finish, within what is left of the pod's grace period.
    docker("stop", "--time", str(pod_as_docker_run()[2]), box.name, timeout=60)
    steps["stop_s"] = time.monotonic() - stopped
    state = inspect(box.name)["State"]
    assert state["ExitCode"] == 0, f"{box.name} exited {state['ExitCode']} on docker stop:\n{box.logs()}"
    box.started = time.monotonic()
    docker("start", box.name)
    steps["start_to_ready_s"] = wait_ready(box)
    balancer.set_state(server, "ready")  # back in the rotation once HAProxy's own checks pass
    steps["back_in_rotation_s"] = balancer.wait_status(server, "UP", timeout=15)
    steps["ended"] = time.monotonic()
    return steps


def timings(steps: dict[str, float], load_started: float) -> dict[str, float]:
    """The step durations, and when the restart began and ended, in seconds since the load started."""
    shown = {name: round(value, 2) for name, value in steps.items() if name.endswith("_s")}
    return {**shown, "began_at_s": round(steps["began"] - load_started, 1),
            "ended_at_s": round(steps["ended"] - load_started, 1)}


def test_rolling_restart_under_steady_load_fails_no_request(replicas: dict[str, Container], balancer_binary: str,
                                                            tmp_path: Path) -> None:
    canvas = CANVAS.read_bytes()
    body = json.dumps({"image": data_url(canvas)}).encode()
    first = next(iter(replicas.values()))
    expected = httpx.post(f"{first.url}/predict", content=body, headers={"Content-Type": "application/json"},
                          timeout=10)
    assert expected.status_code == 200, expected.text
    expected_digit = expected.json()["digit"]

    balancer = HAProxy(balancer_binary, tmp_path, free_port(), {name: box.port for name, box in replicas.items()},
                       Probe.from_manifest(pod_spec()[1]["readinessProbe"]))
    with balancer.running():
        for server in replicas:
            balancer.wait_status(server, "UP", timeout=15)

        outcome: dict[str, LoadResult | Exception] = {}

        def run_load() -> None:
            try:
                outcome["load"] = asyncio.run(steady_load("127.0.0.1", balancer.port, body, expected_digit,
                                                          rate=RATE, duration=DURATION, timeout=REQUEST_TIMEOUT_S,
                                                          give_up_after=GIVE_UP_AFTER_S))
            except Exception as error:  # noqa: BLE001 (raised again in the main thread)
                outcome["load"] = error

        load = threading.Thread(target=run_load, name="steady-load", daemon=True)
        load_started = time.monotonic()
        load.start()

        # CPU per request, on a steady stretch before any restart.
        pids = {name: server_pid(box) for name, box in replicas.items()}
        time.sleep(CPU_WINDOW[0])
        window_start, cpu_before = time.monotonic(), {n: cpu_seconds(p) for n, p in pids.items()}
        time.sleep(CPU_WINDOW[1] - CPU_WINDOW[0])
        window_end, cpu_after = time.monotonic(), {n: cpu_seconds(p) for n, p in pids.items()}
        rss_before = {name: round(rss_mb(pid), 1) for name, pid in pids.items()}

        served_before = {name: int(balancer.stats()[name]["hrsp_2xx"]) for name in replicas}
        steps = {}
        for server, box in replicas.items():
            steps[server] = restart(balancer, server, box)
            print(f"[deploy] {server} restarted: {timings(steps[server], load_started)}")
        restarts_done = time.monotonic() - load_started

        load.join(timeout=DURATION + GIVE_UP_AFTER_S + REQUEST_TIMEOUT_S + 30)
        assert not load.is_alive(), "the load did not stop by itself"
        stats = balancer.stats()

    result = outcome["load"]
    if isinstance(result, Exception):
        raise result
    new_pids = {name: server_pid(box) for name, box in replicas.items()}
    in_window = [o for o in result.outcomes if window_start <= o.sent + o.seconds <= window_end]
    cpu_ms = 1000 * sum(cpu_after[n] - cpu_before[n] for n in pids) / max(len(in_window), 1)
    summary = {
        "runtime": RUNTIME, "replicas": REPLICAS, "rate_rps": RATE, "duration_s": DURATION,
        **result.summary(),
        "restarts_done_at_s": round(restarts_done, 1),
        "restart_steps": {server: timings(step, load_started) for server, step in steps.items()},
        "cpu_ms_per_request": round(cpu_ms, 3),
        "cpu_window_requests": len(in_window),
        "rss_mb_before_restart": rss_before,
        "rss_mb_after_restart": {name: round(rss_mb(pid), 1) for name, pid in new_pids.items()},
        "haproxy_retries": int(stats["BACKEND"]["wretr"] or 0),
        "haproxy_redispatches": int(stats["BACKEND"]["wredis"] or 0),
        "served_per_replica": {name: int(stats[name]["hrsp_2xx"]) for name in replicas},
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "rolling-restart.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n[deploy] rolling restart under load: {json.dumps(summary)}")

    failures = result.failures
    assert not failures, f"{len(failures)} of {len(result.outcomes)} requests failed, e.g. {failures[:5]}"
    # And the drain, not the balancer's retries, kept them whole: no request reached a stopping replica. (Without
    # the drain HAProxy re-sends the requests a stopping replica refuses; kube-proxy has no such safety net.)
    assert summary["haproxy_retries"] == 0 and summary["haproxy_redispatches"] == 0, summary
    # The load really was there the whole time, and every restart happened inside it: each one's stop and start
    # saw requests answered (by the other replicas) while it was out. (At least a tenth of the offered rate in
    # each restart's window: on a machine shared with other work the answers can lag the offered rate and the
    # restarts run past the 60 s of sending, but the answers must keep coming.)
    assert len(result.outcomes) == RATE * DURATION
    for server, step in steps.items():
        during = [o for o in result.outcomes if step["began"] <= o.sent + o.seconds <= step["ended"]]
        assert len(during) >= 0.1 * RATE * (step["ended"] - step["began"]), f"{server}: no load while it restarted"
    assert len(in_window) >= 100, "too few answers in the CPU window for a CPU-per-request figure"
    # Every replica is a new process, and each served requests again after it came back.
    assert all(new_pids[name] != pids[name] for name in replicas), (pids, new_pids)
    for name in replicas:
        assert summary["served_per_replica"][name] > served_before[name], f"{name} served nothing after restart"
