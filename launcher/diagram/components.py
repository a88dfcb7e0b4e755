"""Reading the given component directories for the diagram: the manifest, and what type it shows.

A component's type (service, scheduled task, web application, ...) is chosen in the Choreo console
and kept by the platform, not in the repository: `component.yaml` has no `type` field. What the
repository does show is whether the component *serves*: `endpoints` in component.yaml (or an
`endpoints.yaml`, or `spec.inbound` in component-config.yaml) make it a "service"; anything else is
shown as "component" (type unknown), and the node says where its type came from.
"""

from __future__ import annotations

import os
from typing import Any

from launcher.diagram.analysis import UNKNOWN_TYPE, ComponentSource, Endpoint
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ManifestError, ManifestNotFound
from launcher.manifest.reader import MANIFEST_DIRS, discover, manifest_from_data


def read_component(directory: str, name: str | None = None) -> ComponentSource:
    """The component in `directory`, named after it unless `name` is given. A manifest that cannot
    be read does not stop the diagram: the node carries the problem instead."""
    name = name or os.path.basename(os.path.abspath(directory))
    try:
        path, _ = discover(directory)
        data = load_yaml_file(path, ManifestError, ManifestNotFound)
        manifest = manifest_from_data(data, path)
    except (ManifestError, ManifestNotFound) as error:
        problem = str(error.problems[0]) if error.problems else "manifest unreadable"
        return ComponentSource(name, directory, None, problem=problem)
    kind, source, endpoints = component_type(data, path)
    return ComponentSource(name, directory, manifest, kind, source, endpoints)


def component_type(data: Any, path: str) -> tuple[str, str, tuple[Endpoint, ...]]:
    """(type, where it came from, endpoints) from a parsed manifest document."""
    shown = describe_file(path)
    endpoints: list[Any] = []
    where = ""
    if isinstance(data, dict):
        if isinstance(data.get("endpoints"), list):
            endpoints, where = data["endpoints"], f"endpoints in {shown}"
        spec = data.get("spec")
        if not endpoints and isinstance(spec, dict) and isinstance(spec.get("inbound"), list):
            endpoints, where = spec["inbound"], f"spec.inbound in {shown}"
    if not endpoints:
        beside = _endpoints_file(path)
        if beside is not None:
            endpoints, where = beside
    parsed = tuple(e for e in (_endpoint(item) for item in endpoints) if e is not None)
    if parsed:
        return "service", where, parsed
    return UNKNOWN_TYPE, f"no endpoints in {shown}: type not declared in the repository", ()


def _endpoints_file(manifest_path: str) -> tuple[list[Any], str] | None:
    folder = os.path.dirname(manifest_path)
    for candidate in [os.path.join(folder, "endpoints.yaml")] + [
        os.path.join(os.path.dirname(folder), d, "endpoints.yaml") for d in MANIFEST_DIRS
    ]:
        if os.path.isfile(candidate) and os.path.abspath(candidate) != os.path.abspath(manifest_path):
            try:
                data = load_yaml_file(candidate, ManifestError, ManifestNotFound)
            except (ManifestError, ManifestNotFound):
                continue
            if isinstance(data, dict) and isinstance(data.get("endpoints"), list):
                return data["endpoints"], f"endpoints in {describe_file(candidate)}"
    return None


def _endpoint(item: Any) -> Endpoint | None:
    if not isinstance(item, dict):
        return None
    name = str(item.get("name") or item.get("displayName") or "endpoint")
    service: dict[str, Any] = item["service"] if isinstance(item.get("service"), dict) else {}
    port = item.get("port", service.get("port", ""))
    raw = item.get("networkVisibilities", item.get("networkVisibility", item.get("visibility", [])))
    visibilities = tuple(str(v) for v in (raw if isinstance(raw, list) else [raw]) if v)
    return Endpoint(name, str(item.get("type") or ""), str(port or ""), visibilities)
