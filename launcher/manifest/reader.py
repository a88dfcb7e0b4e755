"""Reading a component's manifest in every form found in the wild.

`component.yaml` (schemaVersion 1.0, 1.1, 1.2), `component-config.yaml` (core.choreo.dev v1beta1 and
v1alpha1) and `endpoints.yaml` (which never declares connections). Real files are messier than the
documentation; what is unambiguous is accepted with a warning, the rest is refused with every
problem listed at once.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from launcher import shape
from launcher.errors import ManifestError, ManifestNotFound, ProblemCollector
from launcher.model import ConnectionReference, EnvMapping, Manifest, ServiceReference
from launcher.manifest.config import read_configurations
from launcher.naming import connection_name_problem
from launcher.yamlfile import describe_file, load_yaml_file

MANIFEST_DIRS = (".wso2", ".choreo")
MANIFEST_NAMES = ("component.yaml", "component-config.yaml", "endpoints.yaml")
SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")
API_VERSIONS = ("core.choreo.dev/v1beta1", "core.choreo.dev/v1alpha1")
RESOURCE_REF_KINDS = ("service:", "thirdparty:", "database:", "storage:")
# Keys read in the sections choreo-run acts on; anything else there is warned about (a typo would
# otherwise inject nothing, silently).
DEPENDENCY_KEYS = frozenset({"connectionReferences", "serviceReferences"})
CONNECTION_REFERENCE_KEYS = frozenset({"name", "resourceRef"})
SERVICE_REFERENCE_KEYS = frozenset({"name", "connectionConfig", "env"})


def discover(component_dir: str) -> tuple[str, list[str]]:
    """The manifest to read in `component_dir`, and warnings about manifests that were passed over."""
    for folder in MANIFEST_DIRS:
        present = [name for name in MANIFEST_NAMES if os.path.isfile(os.path.join(component_dir, folder, name))]
        if not present:
            continue
        chosen = os.path.join(component_dir, folder, present[0])
        shown = describe_file(chosen)
        warnings = [f"{describe_file(os.path.join(component_dir, folder, other))}: ignored, {present[0]} "
                    f"takes precedence" for other in present[1:] if other != "endpoints.yaml"]
        warnings += _shadowed(component_dir, folder, shown)
        return chosen, warnings
    looked = ", ".join(os.path.join(folder, name) for folder in MANIFEST_DIRS for name in MANIFEST_NAMES[:2])
    raise ManifestNotFound(f"{describe_file(component_dir) or '.'}: no manifest found (looked for {looked})")


def _shadowed(component_dir: str, chosen_folder: str, shown: str) -> list[str]:
    later = MANIFEST_DIRS[MANIFEST_DIRS.index(chosen_folder) + 1:]
    return [f"{describe_file(os.path.join(component_dir, folder))}: ignored, {shown} takes precedence"
            for folder in later
            if any(os.path.isfile(os.path.join(component_dir, folder, name)) for name in MANIFEST_NAMES[:2])]


def load_manifest(path: str) -> Manifest:
    """Read and validate one manifest file; raise ManifestError listing every problem."""
    return manifest_from_data(load_yaml_file(path, ManifestError, ManifestNotFound), path)


def manifest_from_data(data: Any, path: str) -> Manifest:
    """Validate an already parsed manifest document; `path` names the file and decides its form."""
    shown = describe_file(path)
    problems = ProblemCollector(shown)
    warnings: list[str] = []
    if not isinstance(data, dict):
        problems.add(None, f"expected a mapping at the top level, got {shape.type_name(data)}")
        problems.raise_if_any(ManifestError)
    kind = _kind_of(path, data)
    reader = {"component.yaml": _read_component_yaml, "component-config.yaml": _read_component_config,
              "endpoints.yaml": _read_endpoints_yaml}[kind]
    manifest = reader(data, shown, problems, warnings)
    problems.raise_if_any(ManifestError)
    return replace(manifest, warnings=manifest.warnings + tuple(problems.warnings))


def _kind_of(path: str, data: dict) -> str:
    """By file name, and for files named otherwise (--manifest x.yaml) by content."""
    name = os.path.basename(path)
    for known in MANIFEST_NAMES:
        if name == known or name.endswith(("__" + known, "." + known)):
            return known
    if "schemaVersion" in data:
        return "component.yaml"
    if "apiVersion" in data or "spec" in data or "outbound" in data:
        return "component-config.yaml"
    return "endpoints.yaml" if "version" in data else "component.yaml"


# ---------------------------------------------------------------- component.yaml


def _read_component_yaml(data: dict, file: str, problems: ProblemCollector, warnings: list[str]) -> Manifest:
    version = _schema_version(data.get("schemaVersion"), file, problems, warnings)
    dependencies = _dependencies_section(data, file, problems, warnings)
    connection_refs = _connection_references(dependencies, version, file, problems, warnings)
    service_refs = _service_references(dependencies.get("serviceReferences"),
                                       "dependencies.serviceReferences", problems, warnings, file)
    env, files = read_configurations(data, version, file, problems, warnings)
    return Manifest(file, "component.yaml", version or "?", connection_refs, service_refs, env, files,
                    tuple(warnings))


def _schema_version(raw: Any, file: str, problems: ProblemCollector, warnings: list[str]) -> str | None:
    if raw is None:
        problems.add("schemaVersion", f"expected one of {', '.join(SCHEMA_VERSIONS)}, got nothing")
        return None
    text = str(raw).strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        text = f"{raw}.0"
        warnings.append(f"{file}: schemaVersion: read {raw!r} as {text}")
    if text not in SCHEMA_VERSIONS:
        problems.add("schemaVersion", f"expected one of {', '.join(SCHEMA_VERSIONS)}, got {str(raw)!r}")
        return None
    return text


def _dependencies_section(data: dict, file: str, problems: ProblemCollector, warnings: list[str]) -> dict:
    if "dependencies" in data:
        dependencies = shape.mapping(data["dependencies"], "dependencies", problems, required=False) or {}
        shape.known_keys(dependencies, DEPENDENCY_KEYS, "dependencies", problems)
        return dependencies
    # Quirk: a mis-indented docs sample put `dependencies` under the first endpoint.
    endpoints = data.get("endpoints")
    for index, endpoint in enumerate(endpoints if isinstance(endpoints, list) else []):
        if isinstance(endpoint, dict) and isinstance(endpoint.get("dependencies"), dict):
            warnings.append(f"{file}: endpoints[{index}].dependencies: read as the top-level "
                            f"`dependencies` (it is indented under an endpoint)")
            return endpoint["dependencies"]
    return {}


def _connection_references(dependencies: dict, version: str | None, file: str,
                           problems: ProblemCollector, warnings: list[str]) -> tuple[ConnectionReference, ...]:
    base = "dependencies.connectionReferences"
    items = shape.sequence(dependencies.get("connectionReferences"), base, problems)
    if items and version == "1.0":
        warnings.append(f"{file}: {base}: needs schemaVersion 1.1 or later; read anyway")
    references = []
    for path, entry in shape.mappings(items, base, problems, CONNECTION_REFERENCE_KEYS):
        name = _connection_name(entry.get("name"), shape.child(path, "name"), problems)
        resource_ref = _resource_ref(entry.get("resourceRef"), shape.child(path, "resourceRef"), problems)
        if name:
            references.append(ConnectionReference(name, resource_ref, path))
    return tuple(references)


def _connection_name(raw: Any, path: str, problems: ProblemCollector) -> str | None:
    name = shape.text(raw, path, problems, what="a connection name")
    if name is None:
        return None
    problem = connection_name_problem(name)
    if problem:
        problems.add(path, f"invalid connection name {name!r}: {problem}")
        return None
    return name


def _resource_ref(raw: Any, path: str, problems: ProblemCollector) -> str | None:
    ref = shape.text(raw, path, problems, what="a resourceRef such as service:/project/component/v1/endpoint/PUBLIC")
    if ref and not ref.startswith(RESOURCE_REF_KINDS):
        problems.add(path, f"expected a resourceRef starting with {', '.join(RESOURCE_REF_KINDS)}, got {ref!r}")
        return None
    return ref


def _service_references(raw: Any, base: str, problems: ProblemCollector, warnings: list[str],
                        file: str) -> tuple[ServiceReference, ...]:
    references = []
    for path, entry in shape.mappings(raw, base, problems, SERVICE_REFERENCE_KEYS):
        name = shape.text(entry.get("name"), shape.child(path, "name"), problems, required=False) or ""
        connection_id = shape.text(entry.get("connectionConfig"), shape.child(path, "connectionConfig"),
                                   problems, what="a Connection ID")
        mappings = _env_mappings(entry.get("env"), shape.child(path, "env"), problems)
        if not mappings and entry.get("env") is None:
            warnings.append(f"{file}: {path}.env: no variables mapped; this reference injects nothing")
        if connection_id:
            references.append(ServiceReference(name, connection_id, mappings, path))
    return tuple(references)


def _env_mappings(raw: Any, base: str, problems: ProblemCollector) -> tuple[EnvMapping, ...]:
    mappings = []
    for path, entry in shape.mappings(raw, base, problems, frozenset({"from", "to"})):
        key = shape.text(entry.get("from"), shape.child(path, "from"), problems, what="a connection key")
        variable = shape.variable(entry.get("to"), shape.child(path, "to"), problems)
        if key and variable:
            mappings.append(EnvMapping(key, variable, path))
    return tuple(mappings)


# ---------------------------------------------------------------- component-config.yaml, endpoints.yaml


def _read_component_config(data: dict, file: str, problems: ProblemCollector, warnings: list[str]) -> Manifest:
    api_version = data.get("apiVersion")
    if api_version is None and "spec" not in data and "outbound" in data:
        # Quirk: a pasted snippet with only `outbound`; the intent is unambiguous.
        warnings.append(f"{file}: no apiVersion/kind/spec; read the top-level `outbound` as spec.outbound")
        spec, spec_path = data, ""
    else:
        if api_version not in API_VERSIONS:
            problems.add("apiVersion", f"expected one of {', '.join(API_VERSIONS)}, got {api_version!r}")
        if data.get("kind") != "ComponentConfig":
            problems.add("kind", f"expected 'ComponentConfig', got {data.get('kind')!r}")
        spec, spec_path = shape.mapping(data.get("spec"), "spec", problems) or {}, "spec"
    outbound_path = shape.child(spec_path, "outbound")
    outbound = shape.mapping(spec.get("outbound"), outbound_path, problems, required=False) or {}
    service_refs = _service_references(outbound.get("serviceReferences"),
                                       shape.child(outbound_path, "serviceReferences"), problems, warnings, file)
    version = str(api_version or "core.choreo.dev/v1beta1").rsplit("/", 1)[-1]
    return Manifest(file, "component-config.yaml", version, service_references=service_refs,
                    warnings=tuple(warnings))


def _read_endpoints_yaml(data: dict, file: str, problems: ProblemCollector, warnings: list[str]) -> Manifest:
    version = data.get("version")
    if version is None:
        problems.add("version", "expected a version such as 0.1, got nothing")
    return Manifest(file, "endpoints.yaml", str(version), warnings=tuple(warnings))
