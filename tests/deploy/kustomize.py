"""A small kustomize renderer for deploy/kubernetes, so the manifest tests run where no kustomize binary is
installed (CI installs Python packages and Debian's, and Debian ships no kustomize).

It renders only what these kustomizations use: `resources` (files and directories), `components`, `patches`
given as strategic-merge patches without a `target`, and `images`. Anything else raises UnsupportedKustomization,
so a new feature in the manifests fails the tests here instead of being rendered wrong; where a real
`kubectl kustomize` exists, tests/deploy/test_manifests.py checks this renderer against it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "components", "patches", "images"}
# Strategic-merge keys of the lists these patches touch (from the Kubernetes API's patchMergeKey); every other
# list is replaced whole, as Kubernetes does for lists without a merge strategy.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name"}
# Lists that do have a merge strategy in Kubernetes but not here: a patch that sets them is refused.
UNSUPPORTED_LISTS = {"ports", "envFrom", "tolerations", "hostAliases", "topologySpreadConstraints"}


class UnsupportedKustomization(ValueError):
    """The kustomization uses something this renderer does not implement."""


def kustomization_file(directory: Path) -> Path:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no kustomization in {directory}")


def load_documents(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def identity(resource: Resource) -> tuple[str, str, str]:
    """(group, kind, name): how kustomize matches a patch to a resource (the version may differ)."""
    group = resource["apiVersion"].rpartition("/")[0]
    return group, resource["kind"], resource["metadata"]["name"]


def render(directory: Path, *, expect_kind: str = "Kustomization") -> list[Resource]:
    """The resources `kubectl kustomize DIRECTORY` would print, in its order before sorting."""
    spec = load_documents(kustomization_file(directory))[0]
    unsupported = set(spec) - SUPPORTED_FIELDS
    if unsupported:
        raise UnsupportedKustomization(f"{directory}: fields {sorted(unsupported)} are not rendered here")
    if spec.get("kind", "Kustomization") != expect_kind:
        raise UnsupportedKustomization(f"{directory}: kind {spec.get('kind')}, expected {expect_kind}")
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        resources += render(target) if target.is_dir() else load_documents(target)
    return apply(directory, spec, resources)


def apply(directory: Path, spec: dict[str, Any], resources: list[Resource]) -> list[Resource]:
    """Components first (each adds its resources, then transforms everything so far), then this level's own."""
    for entry in spec.get("components", []):
        component_dir = (directory / entry).resolve()
        component = load_documents(kustomization_file(component_dir))[0]
        if component.get("kind") != "Component":
            raise UnsupportedKustomization(f"{component_dir} is listed as a component but is a {component.get('kind')}")
        unsupported = set(component) - SUPPORTED_FIELDS
        if unsupported:
            raise UnsupportedKustomization(f"{component_dir}: fields {sorted(unsupported)} are not rendered here")
        own = []
        for item in component.get("resources", []):
            target = (component_dir / item).resolve()
            own += render(target) if target.is_dir() else load_documents(target)
        resources = apply(component_dir, {**component, "resources": []}, resources + own)
    for entry in spec.get("patches", []):
        if set(entry) - {"path", "patch"} or len(entry) != 1:
            raise UnsupportedKustomization(f"{directory}: only `path:` or `patch:` patches without a target: {entry}")
        patches = (load_documents(directory / entry["path"]) if "path" in entry
                   else [doc for doc in yaml.safe_load_all(entry["patch"]) if doc is not None])
        for patch in patches:
            if not isinstance(patch, dict):
                raise UnsupportedKustomization(f"{directory}: JSON 6902 patches need a target; not rendered here")
            matches = [r for r in resources if identity(r) == identity(patch)]
            if len(matches) != 1:
                raise ValueError(f"{directory}: patch for {identity(patch)} matches {len(matches)} resources")
            index = resources.index(matches[0])
            resources[index] = strategic_merge(matches[0], patch)
    for image in spec.get("images", []):
        resources = [set_image(resource, image) for resource in resources]
    return resources


def strategic_merge(original: Any, patch: Any, field: str = "") -> Any:
    """A Kubernetes strategic merge patch, for maps and the keyed lists in MERGE_KEYS."""
    if isinstance(patch, dict):
        if any(key.startswith("$") for key in patch):
            raise UnsupportedKustomization(f"patch directives ({[k for k in patch if k.startswith('$')]})")
        merged = copy.deepcopy(original) if isinstance(original, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = strategic_merge(merged.get(key), value, key)
        return merged
    if isinstance(patch, list) and field in UNSUPPORTED_LISTS:
        raise UnsupportedKustomization(f"a patch of the list `{field}`")
    if isinstance(patch, list) and field in MERGE_KEYS and isinstance(original, list):
        key = MERGE_KEYS[field]
        merged_list = copy.deepcopy(original)
        added = []
        for item in patch:
            same = [i for i, old in enumerate(merged_list) if old.get(key) == item.get(key)]
            if same:
                merged_list[same[0]] = strategic_merge(merged_list[same[0]], item, field)
            else:
                added.append(copy.deepcopy(item))
        return added + merged_list  # kustomize puts new items first
    return copy.deepcopy(patch)


def set_image(resource: Resource, image: dict[str, str]) -> Resource:
    """The `images:` transformer for pod templates: a container whose image name matches gets the new name/tag."""
    if set(image) - {"name", "newName", "newTag", "digest"}:
        raise UnsupportedKustomization(f"images entry {image}")
    resource = copy.deepcopy(resource)
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name, tag = split_image(container["image"])
        if name != image["name"]:
            continue
        name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        else:
            container["image"] = name + tag
    return resource


def split_image(reference: str) -> tuple[str, str]:
    """'registry:5000/app:1.0' -> ('registry:5000/app', ':1.0'); a digest stays with the suffix."""
    if "@" in reference:
        name, _, digest = reference.partition("@")
        return name, "@" + digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon:]
    return reference, ""
