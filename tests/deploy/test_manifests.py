"""deploy/kubernetes checked offline: every kustomization renders, every resource passes the Kubernetes API's
own schema (kubernetes-validate, strict: an unknown or misspelt field fails), and the Deployment keeps the
rules a cluster operator relies on: probes on the right paths, requests and limits sized from the measured
figures, no root, a read-only root filesystem, no capabilities, seccomp, and a grace period longer than the
server's own.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.config import Settings
from tests.conftest import PROJECT_ROOT
from tests.deploy.kustomize import Resource, kustomization_file, load_documents, render

DEPLOY = PROJECT_ROOT / "deploy" / "kubernetes"
# Every directory a user can `kubectl apply -k` (components are rendered through the overlays that use them).
TARGETS = sorted(str(path.parent.relative_to(DEPLOY)) for path in DEPLOY.rglob("kustomization.yaml")
                 if load_documents(path)[0].get("kind", "Kustomization") == "Kustomization")
# The newest Kubernetes minor kubernetes-validate carries, and the oldest still in upstream support when these
# manifests were written (the preStop `sleep` action needs 1.30 or later).
VERSIONS = [kubernetes_validate.latest_version(), "1.33.0"]
# The image runs as this user (Dockerfile: useradd --uid 10001).
APP_UID = 10001
RESULTS = json.loads((PROJECT_ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
# What the largest legal image (16 Mpx) costs while it is decoded and reduced (docs/robustness.md).
WORST_IMAGE_MB = 110
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9, "": 1}


def rendered(target: str) -> list[Resource]:
    return render(DEPLOY / target)


def only(resources: list[Resource], kind: str) -> Resource:
    found = [r for r in resources if r["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container_of(resources: list[Resource]) -> dict[str, Any]:
    containers = only(resources, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "one container per pod: the server"
    return containers[0]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


def image_env(name: str) -> str:
    """An ENV default of the Dockerfile's runtime stage (what the container gets unless the manifest says)."""
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(rf"\b{name}=(\S+)", dockerfile)
    assert match, f"{name} not set in the Dockerfile"
    return match.group(1)


def quantity(value: str | int) -> float:
    """A Kubernetes quantity ('768Mi', '500m', '2') as a number of bytes or cores."""
    text = str(value)
    if text.endswith("m"):
        return int(text[:-1]) / 1000
    number, unit = re.fullmatch(r"([0-9.]+)([KMG]i?|k)?", text).groups()
    return float(number) * UNITS[unit or ""]


def runtime_of(container: dict[str, Any]) -> str:
    return env_of(container).get("DIGIT_LAB_RUNTIME", image_env("DIGIT_LAB_RUNTIME").replace("${RUNTIME}", "keras"))


def test_there_is_a_base_and_a_litert_overlay() -> None:
    assert "base" in TARGETS and "overlays/litert" in TARGETS, TARGETS


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 8, files
    for path in files:
        documents = load_documents(path)
        assert documents and all(isinstance(doc, dict) for doc in documents), path


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_resource_passes_the_api_schema(target: str, version: str) -> None:
    resources = rendered(target)
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= {r["kind"] for r in resources}
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{target}: {resource['kind']}/{resource['metadata']['name']} is not valid for "
                        f"Kubernetes {version}: {error.message} at {'.'.join(map(str, error.path))}")


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """The validation above can fail: strict mode rejects a field the API does not have."""
    deployment = only(rendered("base"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_the_pod_runs_unprivileged_on_a_read_only_root(target: str) -> None:
    pod = only(rendered(target), "Deployment")["spec"]["template"]["spec"]
    container = container_of(rendered(target))
    security = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and security["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == APP_UID
    assert security.get("runAsUser", APP_UID) != 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"] and not security["capabilities"].get("add")
    seccomp = security.get("seccompProfile") or pod["securityContext"].get("seccompProfile")
    assert seccomp == {"type": "RuntimeDefault"}
    assert pod.get("automountServiceAccountToken") is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not security.get("privileged")
    # /tmp writable (HOME and KERAS_HOME live there, Dockerfile) and on an emptyDir, not the root filesystem.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize("target", TARGETS)
def test_probes_watch_the_health_endpoints_and_allow_the_start(target: str) -> None:
    container = container_of(rendered(target))
    port_names = {p["name"] for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
    paths = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe in container, f"{target}: no {probe}"
        assert container[probe]["httpGet"]["port"] in port_names
        paths[probe] = container[probe]["httpGet"]["path"]
    assert paths["readinessProbe"] == "/readyz" and paths["livenessProbe"] == "/healthz"
    assert paths["startupProbe"] in ("/healthz", "/readyz")
    # The start the probe allows, against the slowest measured start: the benchmark's time to ready on a quiet
    # machine, times the factor a loaded 2-core box was seen to add (README: 5.5 s quiet, up to 21 s loaded).
    startup = container["startupProbe"]
    allowed = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
    measured = max(run["all_ready_s"] for run in RESULTS["runs"] if run["runtime"] == runtime_of(container))
    assert allowed >= 5 * measured, f"{target}: the startup probe allows {allowed} s; the server took {measured} s"
    # Liveness never restarts a pod for one slow answer.
    liveness = container["livenessProbe"]
    assert liveness.get("failureThreshold", 3) * liveness.get("periodSeconds", 10) >= 20


@pytest.mark.parametrize("target", TARGETS)
def test_resources_are_set_and_fit_the_measured_memory(target: str) -> None:
    container = container_of(rendered(target))
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert {"cpu", "memory"} <= set(requests) and {"cpu", "memory"} <= set(limits)
    assert quantity(limits["cpu"]) >= quantity(requests["cpu"]) > 0
    assert quantity(limits["memory"]) >= quantity(requests["memory"])
    # One worker per pod; its resident memory with every model loaded (benchmarks/results.json), with 10% to
    # spare, plus two of the largest legal images decoding at once fit the request, and the limit is not wildly
    # above that either (that would waste the node).
    assert env_of(container)["DIGIT_LAB_WORKERS"] == "1"
    runtime = runtime_of(container)
    rss = max(max(run["rss_mb_after_load"].values()) for run in RESULTS["runs"] if run["runtime"] == runtime)
    memory = quantity(requests["memory"]) / 1e6
    needed = 1.1 * rss + 2 * WORST_IMAGE_MB
    assert memory >= needed, f"{target} ({runtime}): {memory:.0f} MB requested, {needed:.0f} MB needed"
    assert quantity(limits["memory"]) / 1e6 <= 2 * needed, f"{target}: limit far above the {needed:.0f} MB needed"


@pytest.mark.parametrize("target", TARGETS)
def test_termination_outlasts_the_servers_grace_and_the_endpoint_removal(target: str) -> None:
    pod = only(rendered(target), "Deployment")["spec"]["template"]["spec"]
    container = container_of(rendered(target))
    grace = int(env_of(container).get("DIGIT_LAB_GRACEFUL_TIMEOUT", image_env("DIGIT_LAB_GRACEFUL_TIMEOUT")))
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 3, "endpoints need a few seconds to be removed everywhere before the server stops"
    assert pod["terminationGracePeriodSeconds"] > pre_stop + grace


@pytest.mark.parametrize("target", TARGETS)
def test_settings_are_the_docker_run_environment_variables(target: str) -> None:
    """Only DIGIT_LAB_* variables that the app or `digit-lab serve` reads: a typo would be ignored silently."""
    cli_variables = set(re.findall(r"DIGIT_LAB_[A-Z_]+", (PROJECT_ROOT / "app" / "cli.py").read_text()))
    known = {f"DIGIT_LAB_{name.upper()}" for name in Settings.model_fields} | cli_variables
    names = set(env_of(container_of(rendered(target))))
    assert names and all(name.startswith("DIGIT_LAB_") for name in names)
    assert names <= known, f"unknown settings: {sorted(names - known)}"
    deployment_env = {k: v for k, v in env_of(container_of(rendered(target))).items()}
    Settings(**{k.removeprefix("DIGIT_LAB_").lower(): v for k, v in deployment_env.items()
                if k.removeprefix("DIGIT_LAB_").lower() in Settings.model_fields})  # the values parse


@pytest.mark.parametrize("target", TARGETS)
def test_service_hpa_and_pdb_point_at_the_deployment(target: str) -> None:
    resources = rendered(target)
    deployment = only(resources, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = only(resources, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in container_of(resources)["ports"]}
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])
    hpa = only(resources, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    pdb = only(resources, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The budget lets a drain proceed yet always leaves a pod serving.
    assert 1 <= pdb["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    rollout = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rollout["maxUnavailable"] == 0 and rollout["maxSurge"] >= 1
    for ingress in (r for r in resources if r["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == service["metadata"]["name"]
                assert backend["port"].get("name") in {p["name"] for p in service["spec"]["ports"]}


def test_the_litert_overlay_runs_the_litert_image() -> None:
    container = container_of(rendered("overlays/litert"))
    assert container["image"].endswith(":litert") and runtime_of(container) == "litert"
    assert runtime_of(container_of(rendered("base"))) == "keras"


@pytest.mark.parametrize("target", TARGETS)
def test_this_renderer_matches_kubectl_kustomize(target: str) -> None:
    """The Python renderer against the real kustomize, where a kubectl is installed (it is not a Debian or PyPI
    package, so CI may lack it; the renderer refuses every kustomize feature it does not implement)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH to compare the renderer with")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / target)], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    def by_identity(resources: list[Resource]) -> dict[tuple[str, str, str], Resource]:
        return {(r["apiVersion"], r["kind"], r["metadata"]["name"]): r for r in resources}

    real = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert by_identity(rendered(target)) == by_identity(real)


def test_every_kustomization_directory_is_rendered_somewhere() -> None:
    """A component no overlay uses would escape the checks above."""
    used = set(TARGETS)
    for target in TARGETS:
        spec = load_documents(kustomization_file(DEPLOY / target))[0]
        used |= {str((DEPLOY / target / c).resolve().relative_to(DEPLOY)) for c in spec.get("components", [])}
    every = {str(path.parent.relative_to(DEPLOY)) for path in DEPLOY.rglob("kustomization.yaml")}
    assert every <= used, f"never rendered: {sorted(every - used)}"
