"""Reading a component's manifest in every form found in the wild.

`component.yaml` (schemaVersion 1.0, 1.1, 1.2), `component-config.yaml` (core.choreo.dev v1beta1 and
v1alpha1) and `endpoints.yaml` (which never declares connections). Real files are messier than the
documentation; what is unambiguous is accepted with a warning, the rest is refused with every
problem listed at once.
"""

from __future__ import annotations

import os

from launcher.documents.shape import Node, shown, type_name
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ManifestError, ManifestNotFound
from launcher.manifest.config import read_configurations
from launcher.manifest.endpoints import check_endpoints
from launcher.manifest.grammar import (
    connection_name_matches,
    is_uuid,
    resource_ref_problem,
    service_name_problem,
    yup_number,
)
from launcher.model import ConnectionReference, EnvMapping, Manifest, ServiceReference
from launcher.naming import connection_name_problem

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

MANIFEST_DIRS = (".wso2", ".choreo")
MANIFEST_NAMES = ("component.yaml", "component-config.yaml", "endpoints.yaml")
SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")
API_VERSIONS = ("core.choreo.dev/v1beta1", "core.choreo.dev/v1alpha1")
# apiVersion values of component-config.yaml read with a warning: Choreo's validator takes only v1beta1.
OLD_API_VERSIONS = ("core.choreo.dev/v1alpha1", "0.0.1")
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
        warnings = [
            f"{describe_file(os.path.join(component_dir, folder, other))}: ignored, {present[0]} takes precedence"
            for other in present[1:]
            if other != "endpoints.yaml"
        ]
        warnings += _shadowed(component_dir, folder, shown)
        return chosen, warnings
    looked = ", ".join(os.path.join(folder, name) for folder in MANIFEST_DIRS for name in MANIFEST_NAMES[:2])
    raise ManifestNotFound(f"{describe_file(component_dir) or '.'}: no manifest found (looked for {looked})")


def _shadowed(component_dir: str, chosen_folder: str, shown: str) -> list[str]:
    later = MANIFEST_DIRS[MANIFEST_DIRS.index(chosen_folder) + 1 :]
    return [
        f"{describe_file(os.path.join(component_dir, folder))}: ignored, {shown} takes precedence"
        for folder in later
        if any(os.path.isfile(os.path.join(component_dir, folder, name)) for name in MANIFEST_NAMES[:2])
    ]


def load_manifest(path: str) -> Manifest:
    """Read and validate one manifest file; raise ManifestError listing every problem."""
    return manifest_from_data(load_yaml_file(path, ManifestError, ManifestNotFound), path)


def manifest_from_data(data: Any, path: str) -> Manifest:
    """Validate an already parsed manifest document; `path` names the file and decides its form."""
    root = Node.root(data, describe_file(path))
    if not root.is_mapping:
        root.problem(f"expected a mapping at the top level, got {type_name(data)}")
        root.raise_if_any(ManifestError)
    kind = _kind_of(path, data)
    if kind == "component.yaml" and "schemaVersion" not in data and data.get("kind") == "ComponentConfig":
        # A component-config.yaml body saved as component.yaml: the intent is unambiguous.
        root.warn(
            "this is a component-config.yaml body (apiVersion/kind/spec) in a file named component.yaml; "
            "read as component-config.yaml (rename the file, or rewrite it as component.yaml with a schemaVersion)"
        )
        kind = "component-config.yaml"
    reader = {
        "component.yaml": _read_component_yaml,
        "component-config.yaml": _read_component_config,
        "endpoints.yaml": _read_endpoints_yaml,
    }[kind]
    manifest = reader(root, _source_root(path))
    root.raise_if_any(ManifestError)
    return manifest.replace(warnings=root.warnings)


def _source_root(path: str) -> str | None:
    """The component directory (what an endpoint's schemaFilePath is relative to), when the file is
    in its `.choreo/` or `.wso2/`; None for a manifest read from elsewhere."""
    folder = os.path.dirname(os.path.abspath(path))
    return os.path.dirname(folder) if os.path.basename(folder) in MANIFEST_DIRS else None


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


def _misplaced(root: Node, found: str, belongs: tuple[str, ...]) -> Node | None:
    """A section written at the top level that belongs at `belongs` (a path of keys): read in its place
    when that place is empty, with a warning saying where it was and where it goes; otherwise only the
    warning (both are written and choreo-run will not guess which one is meant)."""
    if not root.has(found):
        return None
    target = ".".join(belongs)
    place = root
    for key in belongs:
        place = place.key(key)
    if place.value is not None:
        root.key(found).warn(f"ignored: this section belongs under `{target}`, which is already there")
        return None
    root.key(found).warn(f"misplaced: this section belongs under `{target}`; read as `{target}`")
    return Node(root.key(found).value, place.path, root.sink)


# ---------------------------------------------------------------- component.yaml


def _read_component_yaml(root: Node, source_root: str | None) -> Manifest:
    version = _schema_version(root.key("schemaVersion"))
    check_endpoints(root.key("endpoints"), source_root, legacy=False)
    dependencies = _dependencies_section(root)
    connection_node = _misplaced(root, "connectionReferences", ("dependencies", "connectionReferences"))
    service_node = _misplaced(root, "serviceReferences", ("dependencies", "serviceReferences"))
    connection_refs = _connection_references(connection_node or dependencies.key("connectionReferences"), version)
    service_refs = _service_references(service_node or dependencies.key("serviceReferences"))
    env, files = read_configurations(root, version)
    return Manifest(root.file, "component.yaml", version or "?", connection_refs, service_refs, env, files)


def _schema_version(node: Node) -> str | None:
    """Choreo reads schemaVersion as a number (`"1.2"`, `1.20` and `1` are 1.2, 1.2 and 1.0)."""
    raw = node.value
    expected = f"expected one of {', '.join(SCHEMA_VERSIONS)}"
    if raw is None:
        node.problem(f"{expected}, got nothing")
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    number = yup_number(text) if isinstance(text, (int, float, str)) and not isinstance(text, bool) else None
    if isinstance(text, str) and any(ch.isspace() for ch in text):
        number = None
    version = next((known for known in SCHEMA_VERSIONS if number == float(known)), None)
    if version is None:
        # str(): `schemaVersion: 2.0` is the float 2.0, shown as the user wrote it, '2.0'.
        node.problem(f"{expected}, got {shown(str(raw) if isinstance(raw, (int, float)) else raw)}")
        return None
    written_as_is = isinstance(raw, float) or (isinstance(raw, str) and raw.strip() in SCHEMA_VERSIONS)
    if not written_as_is:  # `1`, `"1.20"`: what Choreo reads, said once
        node.warn(f"read {raw!r} as {version}")
    return version


def _dependencies_section(root: Node) -> Node:
    dependencies = root.key("dependencies")
    if root.has("dependencies"):
        dependencies.mapping(required=False, keys=DEPENDENCY_KEYS)
        return dependencies
    # Quirk: a mis-indented docs sample put `dependencies` under the first endpoint. Read in its place,
    # under the documented path, which is what the warning says happened.
    endpoints = root.key("endpoints")
    for index, endpoint in enumerate(endpoints.value if isinstance(endpoints.value, list) else []):
        if isinstance(endpoint, dict) and isinstance(endpoint.get("dependencies"), dict):
            endpoints.at(index).key("dependencies").warn(
                "read as the top-level `dependencies` (it is indented under an endpoint)"
            )
            return Node(endpoint["dependencies"], dependencies.path, root.sink)
    return dependencies


def _connection_references(node: Node, version: str | None) -> tuple[ConnectionReference, ...]:
    items = node.list()
    if items and version == "1.0":
        node.warn("needs schemaVersion 1.1 or later (Choreo ignores it in 1.0); read anyway")
    references = []
    for entry in (item for item in items if item.mapping(keys=CONNECTION_REFERENCE_KEYS)):
        name = _connection_name(entry)
        resource_ref = _resource_ref(entry)
        if name:
            references.append(ConnectionReference(name, resource_ref, entry.path))
    return tuple(references)


def _connection_name(entry: Node) -> str | None:
    """The `name` of a connection reference (`entry`, a mapping)."""
    name = entry.text_at("name", "a connection name")
    if name and (problem := connection_name_problem(name)):
        entry.key("name").problem(f"invalid connection name {name!r}: {problem}")
        return None
    raw = entry.value.get("name")
    if name and isinstance(raw, str) and not connection_name_matches(raw):
        entry.key("name").problem(f"invalid connection name {name!r}: at most one white space character may follow it")
        return None
    return name


def _resource_ref(entry: Node) -> str | None:
    """The `resourceRef` of a connection reference (`entry`, a mapping)."""
    ref = entry.text_at("resourceRef", "a resourceRef such as service:/project/component/v1/endpoint/PUBLIC")
    if ref and (problem := resource_ref_problem(str(entry.value.get("resourceRef")))):
        entry.key("resourceRef").problem(problem)
        return None
    return ref


def _service_references(node: Node) -> tuple[ServiceReference, ...]:
    references = []
    for entry in node.mappings(SERVICE_REFERENCE_KEYS):
        name_node = entry.key("name")
        name = name_node.value if isinstance(name_node.value, (str, int, float)) else None
        if name is None or isinstance(name, bool) or str(name) == "":
            name_node.warn("Choreo requires a service reference name (choreo:///..., thirdparty:... or database:...)")
            name = ""
        elif problem := service_name_problem(str(name)):
            name_node.warn(f"Choreo refuses this name: {problem} (choreo-run does not use it)")
        connection_id = entry.key("connectionConfig").text("a Connection ID")
        if connection_id and not is_uuid(str(entry.key("connectionConfig").value)):
            entry.key("connectionConfig").warn(
                "not a UUID: Choreo's Connection IDs are UUIDs and its validator refuses anything else "
                "(a local store may use any ID)"
            )
        mappings = _env_mappings(entry.key("env"))
        if not mappings and entry.key("env").value is None:
            entry.key("env").warn("no variables mapped (Choreo requires `env`); this reference injects nothing")
        if connection_id:
            references.append(ServiceReference(str(name).strip(), connection_id, mappings, entry.path))
    return tuple(references)


def _env_mappings(node: Node) -> tuple[EnvMapping, ...]:
    mappings = []
    for entry in node.mappings(frozenset({"from", "to"})):
        key = entry.key("from").text("a connection key")
        variable = entry.key("to").variable_name()
        if key and variable:
            mappings.append(EnvMapping(key, variable, entry.path))
    return tuple(mappings)


# ---------------------------------------------------------------- component-config.yaml, endpoints.yaml


def _read_component_config(root: Node, source_root: str | None) -> Manifest:
    api_version, kind = root.key("apiVersion").value, root.key("kind").value
    if api_version is None and not root.has("spec") and root.has("outbound"):
        # Quirk: a pasted snippet with only `outbound`; the intent is unambiguous.
        root.warn("no apiVersion/kind/spec; read the top-level `outbound` as spec.outbound")
        for missing in ("apiVersion", "kind"):
            if not root.has(missing):
                root.key(missing).warn(
                    "missing: Choreo requires it (apiVersion: core.choreo.dev/v1beta1, kind: ComponentConfig)"
                )
        spec = root
    else:
        if api_version in OLD_API_VERSIONS:
            root.key("apiVersion").warn(
                f"read {api_version!r} as core.choreo.dev/v1beta1 (Choreo's validator now accepts only that)"
            )
        elif api_version not in API_VERSIONS:
            root.key("apiVersion").problem(f"expected one of {', '.join(API_VERSIONS)}, got {shown(api_version)}")
        if kind != "ComponentConfig":
            root.key("kind").problem(f"expected 'ComponentConfig', got {shown(kind)}")
        spec = root.key("spec")
        spec.mapping(required=False)
        for section in ("outbound", "inbound"):
            if moved := _misplaced(root, section, ("spec", section)):
                spec = _with(spec, section, moved.value)
        check_endpoints(spec.key("inbound"), source_root, legacy=True)
    outbound = spec.key("outbound")
    outbound.mapping(required=False)
    moved = _misplaced(spec, "serviceReferences", ("outbound", "serviceReferences")) if spec.is_mapping else None
    service_refs = _service_references(moved or outbound.key("serviceReferences"))
    version = "v1beta1" if api_version in (None, "0.0.1") else str(api_version).rsplit("/", 1)[-1]
    return Manifest(root.file, "component-config.yaml", version, service_references=service_refs)


def _with(node: Node, key: str, value: Any) -> Node:
    """`node` (a mapping or nothing) as if it held `key: value`, at the same path."""
    merged = dict(node.value) if isinstance(node.value, dict) else {}
    merged[key] = value
    return Node(merged, node.path, node.sink)


def _read_endpoints_yaml(root: Node, source_root: str | None) -> Manifest:
    version = root.key("version").value
    if version is None:
        root.key("version").problem("expected a version such as 0.1, got nothing")
    elif not isinstance(version, (str, int, float)):
        root.key("version").warn(f"Choreo expects a version such as 0.1, got {type_name(version)}")
    if root.key("endpoints").value is None:
        root.key("endpoints").warn("Choreo requires an `endpoints` list (it may be empty)")
    check_endpoints(root.key("endpoints"), source_root, legacy=True)
    return Manifest(root.file, "endpoints.yaml", str(version))
