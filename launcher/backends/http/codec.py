"""Snapshot <-> JSON: the body of the HTTP backend contract (docs/backends/http.md).

Encoding is what a server sends; decoding is what the launcher trusts, so it is strict: every
problem in an answer is reported at once, each with its JSON path (`connections[1].parameters.Port.value`),
as a `ConfigurationError` (exit 78), the class a malformed local store file raises too: the launcher
was pointed at something that does not speak the contract. Messages describe types, never values.
Unknown keys are ignored so that a newer server can add fields without breaking older launchers.
"""

from __future__ import annotations

import json

from launcher.documents.shape import Node, type_name
from launcher.errors import ConfigurationError
from launcher.model import (
    PROJECT,
    Connection,
    Identity,
    OAuthApplication,
    Parameter,
    Snapshot,
    duplicate_id_message,
    duplicate_ids,
)
from launcher.visibility import boundary_crossed, owner, scope_problem

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

SNAPSHOT_VERSION = 1
_OAUTH_FIELDS = (("clientId", "client_id"), ("clientSecret", "client_secret"), ("tokenUrl", "token_url"))


# ---------------------------------------------------------------- encoding


def encode_snapshot(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON-able body for `snapshot`. `backend` and `foreign` stay out: the first is the client's own
    description of the source, the second would tell a component about connections it may not use."""
    identity = snapshot.identity
    return {
        "version": SNAPSHOT_VERSION,
        "identity": {"project": identity.project, "component": identity.component, "environment": identity.environment},
        "connections": [_encode_connection(connection) for connection in snapshot.connections],
        "oauthApps": {
            app_id: {name: getattr(app, attribute) for name, attribute in _OAUTH_FIELDS}
            for app_id, app in snapshot.oauth_apps.items()
        },
        "configGroups": {name: _encode_parameters(group) for name, group in snapshot.config_groups.items()},
        "configForm": _encode_parameters(snapshot.config_form),
        # YAML can hold dates and other non-JSON scalars; the contract carries them as strings.
        "files": json.loads(json.dumps(snapshot.file_values, default=str)),
    }


def _encode_connection(connection: Connection) -> dict[str, Any]:
    return {
        "id": connection.connection_id,
        "name": connection.name,
        "type": connection.type,
        "visibility": connection.visibility,
        "project": connection.project,
        "component": connection.component,
        "resourceRef": connection.resource_ref,
        "oauthApp": connection.oauth_app,
        "parameters": _encode_parameters(connection.parameters),
        "optionalKeys": sorted(connection.optional_keys),
        "unsetKeys": sorted(connection.unset_keys),
    }


def _encode_parameters(parameters: dict[str, Parameter]) -> dict[str, Any]:
    return {key: {"value": parameter.value, "secret": parameter.secret} for key, parameter in parameters.items()}


# ---------------------------------------------------------------- decoding


def decode_snapshot(data: Any, source: str, expected: Identity) -> Snapshot:
    """The Snapshot in a parsed answer for `expected`; raise ConfigurationError listing every problem.

    `source` names the answer in messages and becomes `Snapshot.backend` (never with credentials).
    """
    root = Node.root(data, source)
    if root.mapping() and root.value:
        _check_version(root.key("version"))
        _check_identity(root.key("identity"), expected)
    connections = [
        (connection, item) for item in root.key("connections").list() if (connection := _connection(item, expected))
    ]
    _check_unique_ids(connections)
    snapshot = Snapshot(
        identity=expected,
        backend=source,
        connections=tuple(connection for connection, _ in connections),
        oauth_apps=_oauth_apps(root.key("oauthApps")),
        config_groups={name: _parameters(group) for name, group in root.key("configGroups").entries()},
        config_form=_parameters(root.key("configForm")),
        file_values={name: values.value if values.mapping() else {} for name, values in root.key("files").entries()},
    )
    root.raise_if_any(ConfigurationError)
    return snapshot


def _check_version(node: Node) -> None:
    if node.value is None:
        node.problem(f"missing; expected {SNAPSHOT_VERSION}")
    elif type(node.value) is not int:
        node.problem(f"expected the number {SNAPSHOT_VERSION}, got {type_name(node.value)}")
    elif node.value != SNAPSHOT_VERSION:
        node.problem(f"this launcher reads version {SNAPSHOT_VERSION}, the answer has version {node.value}")


def _check_identity(node: Node, expected: Identity) -> None:
    """An answer for someone else is refused outright rather than used."""
    if not node.mapping() or not node.value:
        return
    for field in ("project", "component", "environment"):
        got = _string(node.key(field))
        if got is not None and got != getattr(expected, field):
            node.key(field).problem(
                f"the answer is for {field} {got!r}, the launcher asked for {getattr(expected, field)!r}"
            )


def _connection(node: Node, identity: Identity) -> Connection | None:
    if not node.mapping():
        return None
    strings = {field: _string(node.key(field)) for field in ("id", "name", "type", "visibility", "project")}
    optional = {field: _string(node.key(field), required=False) for field in ("component", "resourceRef", "oauthApp")}
    visible = _check_visibility(node, strings["visibility"], strings["project"], optional["component"], identity)
    parameters = _parameters(node.key("parameters"))
    optional_keys = _keys(node.key("optionalKeys"))
    unset_keys = _keys(node.key("unsetKeys"))
    if not visible or None in strings.values():
        return None
    present: dict[str, str] = strings  # type: ignore[assignment]  # every value checked just above
    return Connection(
        present["id"],
        present["name"],
        present["type"],
        present["visibility"],
        present["project"],
        optional["component"],
        parameters,
        optional["oauthApp"],
        optional["resourceRef"],
        optional_keys,
        unset_keys,
    )


def _check_visibility(
    node: Node, visibility: str | None, project: str | None, component: str | None, identity: Identity
) -> bool:
    """A server that sends what the component may not use is broken; the launcher does not use it."""
    before = len(node.sink.problems)
    scope = scope_problem(visibility, component) if visibility is not None else None
    if scope is not None:
        node.key(scope.field).problem(scope.message + ("; expected null" if visibility == PROJECT else ""))
    # Only a consistent pair has an owner to check against (an inconsistent one is refused above).
    owning = owner(visibility, component) if scope is None else None
    crossed = boundary_crossed(identity, identity.project if project is None else project, owning)
    if crossed == "project":
        node.key("project").problem(f"a connection of another project than {identity.project!r}")
    elif crossed == "component":
        node.key("component").problem(f"a component connection not owned by {identity.component!r}")
    return len(node.sink.problems) == before


def _parameters(node: Node) -> dict[str, Parameter]:
    parameters = {}
    for key, item in node.entries():
        if not item.mapping():
            continue
        value = _string(item.key("value"), allow_empty=True)
        secret = item.flag("secret", False)
        if value is not None:
            parameters[key] = Parameter(value, secret)
    return parameters


def _oauth_apps(node: Node) -> dict[str, OAuthApplication]:
    apps = {}
    for app_id, item in node.entries():
        complete = item.mapping() and bool(item.value)
        values = [_string(item.key(name)) for name, _ in _OAUTH_FIELDS]
        if complete and None not in values:
            present: list[str] = values  # type: ignore[assignment]  # None ruled out above
            apps[app_id] = OAuthApplication(app_id, *present)
    return apps


def _check_unique_ids(connections: list[tuple[Connection, Node]]) -> None:
    """Service references look connections up by ID; two with one ID would make that ambiguous."""
    for index, earlier in duplicate_ids(connection.connection_id for connection, _ in connections):
        connections[index][1].key("id").problem(duplicate_id_message(f"at {connections[earlier][1].path}"))


def _keys(node: Node) -> frozenset[str]:
    return frozenset(key for item in node.list() if (key := _string(item)) is not None)


def _string(node: Node, *, required: bool = True, allow_empty: bool = False) -> str | None:
    """A JSON string, nothing else: unlike YAML, JSON has no excuse for a number where text belongs."""
    if isinstance(node.value, str) and (node.value or allow_empty):
        return node.value
    if node.value is None and not required:
        return None
    node.problem(f"expected a string, got {'an empty string' if node.value == '' else type_name(node.value)}")
    return None
