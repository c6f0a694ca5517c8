"""The container engine as the tests use it: one `docker` call helper, the engine check, the image build and
the wait for a healthy container. Shared by tests/docker (one container) and tests/deploy (three replicas behind
a load balancer) so both build and start the image the same way.

Needs a container engine (`docker version` must answer); on these machines
    eval "$(../shared/container/engine.sh start)"
Without one the callers skip (fail under DIGIT_LAB_REQUIRE_ALL=1, as in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, skip_or_fail
from tests.helpers import free_port  # noqa: F401  (the container tests take it from here)

CONTEXT = Path(os.environ.get("DIGIT_LAB_DOCKER_CONTEXT", PROJECT_ROOT))  # another checkout, if wanted
BUILD_TIMEOUT_S = 1800  # a cold build downloads ~300 MB of wheels
HEALTHY_TIMEOUT_S = 180  # TensorFlow's import and model warm-up on a slow, busy CPU


def docker(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], check=False, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", name).stdout)[0]


@dataclass
class Container:
    name: str
    port: int
    started: float  # time.monotonic() just before `docker run` (or `docker start`)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        result = docker("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]


def require_engine() -> None:
    """Skip (or fail under DIGIT_LAB_REQUIRE_ALL=1) unless a docker client and an engine answer."""
    if shutil.which("docker") is None:
        skip_or_fail("no docker client on PATH")
    try:
        info = docker("version", "--format", "{{.Server.Version}}", timeout=20, check=False)
    except subprocess.TimeoutExpired:
        skip_or_fail("the container engine did not answer within 20 s")
    if info.returncode != 0:
        why = (info.stderr.strip().splitlines() or ["no output"])[-1]
        skip_or_fail(f"no container engine answers (start one: eval \"$(../shared/container/engine.sh start)\"): {why}")


def build_image(tag: str, *, runtime: str = "keras") -> str:
    """`docker build` of the project's Dockerfile (RUNTIME=keras or litert); the layer cache makes a rebuild
    cheap, so every module that needs the image asks for it and the first one pays."""
    model = CONTEXT / "models" / ("cnn.keras" if runtime == "keras" else "cnn.tflite")
    if not model.is_file():
        skip_or_fail(f"{model.relative_to(CONTEXT)}, the image's default model, is missing "
                     "(run `digit-lab train --all`, then `digit-lab export` for .tflite)")
    started = time.monotonic()
    # The default runtime without a --build-arg: the same command as the README's, so the same cached layers.
    runtime_arg = [] if runtime == "keras" else ["--build-arg", f"RUNTIME={runtime}"]
    result = docker("build", *runtime_arg, "-t", tag, str(CONTEXT), timeout=BUILD_TIMEOUT_S, check=False)
    if result.returncode != 0:
        pytest.fail(f"docker build failed:\n{(result.stdout + result.stderr)[-5000:]}")
    print(f"\n[docker] build {tag}: {time.monotonic() - started:.1f} s")
    return tag


def health_command(name: str) -> list[str]:
    """The image's HEALTHCHECK as a command line for `docker exec`."""
    test = (inspect(name)["Config"].get("Healthcheck") or {}).get("Test") or []
    assert test and test[0] in ("CMD", "CMD-SHELL"), f"the image declares no HEALTHCHECK: {test}"
    return list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


def wait_healthy(box: Container) -> float:
    """Seconds from `docker run` to healthy.

    Healthy is the engine's own verdict where it runs health checks; an engine that does not schedule them
    (Podman without systemd leaves the status at "starting") gets the image's own check run the same way."""
    command = health_command(box.name)
    deadline = box.started + HEALTHY_TIMEOUT_S
    while time.monotonic() < deadline:
        state = inspect(box.name)["State"]
        if not state.get("Running"):
            pytest.fail(f"the container stopped ({state.get('Status')}, exit {state.get('ExitCode')}):\n{box.logs()}")
        status = (state.get("Health") or {}).get("Status")
        if status == "healthy":
            return time.monotonic() - box.started
        assert status != "unhealthy", f"the engine marked it unhealthy:\n{box.logs()}"
        if docker("exec", box.name, *command, check=False, timeout=10).returncode == 0:
            return time.monotonic() - box.started
        time.sleep(1)
    pytest.fail(f"not healthy {HEALTHY_TIMEOUT_S} s after docker run:\n{box.logs()}")
