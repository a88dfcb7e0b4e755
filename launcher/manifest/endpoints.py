"""Endpoints, checked by Choreo's rules and only warned about.

choreo-run does not serve endpoints, so what Choreo's validator refuses in them (a port out of range,
an unknown type, a missing schema file) is a warning naming the path: the service still starts
locally, and the user learns before pushing that Choreo's build would stop there. docs/manifests.md,
"Conformance", lists each rule.
"""

from __future__ import annotations

import os

from launcher.documents.shape import Node, type_name
from launcher.manifest.grammar import (
    BASE_PATH,
    BASE_PATH_REQUIRED_TYPES,
    ENDPOINT_NAME,
    ENDPOINT_TYPES,
    NETWORK_VISIBILITIES,
    PROJECT_ONLY_TYPES,
    yup_number,
)

# Keys Choreo reads in an endpoint (schemaVersion 1.x, and the older endpoints.yaml / spec.inbound);
# others are Choreo's to ignore, and choreo-run ignores them too.
_BASE_PATH_RULE = "start with '/' and hold only letters, digits, '-', '_' and '/'"


def check_endpoints(node: Node, source_root: str | None, *, legacy: bool) -> None:
    """Warn, at its path, about whatever Choreo's validator refuses in an endpoints list.

    `legacy` is the endpoints.yaml / component-config.yaml `spec.inbound` form (`port`, `context`,
    `networkVisibility`); otherwise component.yaml's (`service.port`, `service.basePath`,
    `networkVisibilities`). `source_root` is the component directory schema files are relative to.
    """
    if node.value is None:
        return
    if not isinstance(node.value, list):
        node.warn(f"Choreo expects a list of endpoints, got {type_name(node.value)}")
        return
    seen: set[str] = set()
    for item in node.list():
        if not isinstance(item.value, dict):
            item.warn(f"Choreo expects an endpoint mapping, got {type_name(item.value)}")
            continue
        name = _string(item.key("name"), required=True)
        if not legacy and name is not None:
            if len(name) > 50:
                item.key("name").warn("Choreo refuses endpoint names longer than 50 characters")
            if not ENDPOINT_NAME.fullmatch(name):
                item.key("name").warn(
                    "Choreo refuses this endpoint name: it must start with a lowercase letter and hold only "
                    "lowercase letters, digits, '_' and '-'"
                )
            if name in seen:
                item.key("name").warn("Choreo refuses endpoints with the same name (endpoint names must be unique)")
            seen.add(name)
        endpoint_type = _string(item.key("type"), required=True)
        if endpoint_type is not None and endpoint_type not in ENDPOINT_TYPES:
            item.key("type").warn(f"Choreo expects one of {', '.join(ENDPOINT_TYPES)}, got {endpoint_type!r}")
        if legacy:
            _port(item.key("port"))
            _legacy_visibility(item.key("networkVisibility"))
            context = _string(item.key("context"), required=False)
            if not context and endpoint_type in BASE_PATH_REQUIRED_TYPES:
                item.key("context").warn(f"Choreo requires a context for {endpoint_type}-type endpoints")
            elif context and not BASE_PATH.fullmatch(context):
                item.key("context").warn(f"Choreo expects a context to {_BASE_PATH_RULE}")
        else:
            display = _string(item.key("displayName"), required=False)
            if display is not None and len(display) > 50:
                item.key("displayName").warn("Choreo refuses display names longer than 50 characters")
            service = item.key("service")
            if service.value is not None and not service.is_mapping:
                service.warn(f"Choreo expects a mapping, got {type_name(service.value)}")
            _port(service.key("port"))
            base_path = _string(service.key("basePath"), required=False)
            if base_path and not BASE_PATH.fullmatch(base_path):
                service.key("basePath").warn(f"Choreo expects a base path to {_BASE_PATH_RULE}")
            _visibilities(item.key("networkVisibilities"), endpoint_type)
        _schema_file(item.key("schemaFilePath"), source_root)


def _string(node: Node, *, required: bool) -> str | None:
    """yup's `string()`: scalars are text (numbers and booleans too); mappings and lists are not."""
    value = node.value
    if value is None or value == "":
        if required:
            node.warn("Choreo requires this field")
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    node.warn(f"Choreo expects a string, got {type_name(value)}")
    return None


def _port(node: Node) -> None:
    if node.value is None:
        node.warn("Choreo requires a port")
        return
    port = yup_number(node.value)
    if port is None:
        node.warn(f"Choreo expects a port number, got {type_name(node.value)}")
    elif not 1000 < port < 65535:
        node.warn("Choreo expects a port greater than 1000 and less than 65535")


def _legacy_visibility(node: Node) -> None:
    text = _string(node, required=False)
    if text is not None and text not in NETWORK_VISIBILITIES:
        node.warn(f"Choreo expects one of {', '.join(NETWORK_VISIBILITIES)}, got {text!r}")


def _visibilities(node: Node, endpoint_type: str | None) -> None:
    if node.value is not None and not isinstance(node.value, list):
        node.warn(f"Choreo expects a list, got {type_name(node.value)}")
        return
    items = node.list()
    for item in items:
        text = _string(item, required=False)
        if text is not None and text not in NETWORK_VISIBILITIES:
            item.warn(f"Choreo expects one of {', '.join(NETWORK_VISIBILITIES)}, got {text!r}")
    if endpoint_type in PROJECT_ONLY_TYPES and [item.value for item in items] != ["Project"]:
        node.warn(f"Choreo allows a {endpoint_type} endpoint only networkVisibilities [Project]")


def _schema_file(node: Node, source_root: str | None) -> None:
    path = _string(node, required=False)
    if path and source_root is not None and not os.path.exists(os.path.join(source_root, path)):
        node.warn(f"Choreo refuses a schema file that does not exist: {path!r} (relative to the component directory)")
