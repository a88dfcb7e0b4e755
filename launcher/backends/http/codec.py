"""Snapshot <-> JSON: the body of the HTTP backend contract (docs/backends/http.md).

Encoding is what a server sends; decoding is what the launcher trusts, so it is strict: every
problem in an answer is reported at once, each with its JSON path (`connections[1].parameters.Port.value`),
as a `ConfigurationError` (exit 78), the class a malformed local store file raises too: the launcher
was pointed at something that does not speak the contract. Messages describe types, never values.
Unknown keys are ignored so that a newer server can add fields without breaking older launchers.
"""

from __future__ import annotations

import json
from typing import Any, cast

from launcher import shape
from launcher.errors import ConfigurationError, ProblemCollector
from launcher.model import COMPONENT, PROJECT, VISIBILITIES, Connection, Identity, OAuthApplication, Parameter, Snapshot

SNAPSHOT_VERSION = 1
_OAUTH_FIELDS = (("clientId", "client_id"), ("clientSecret", "client_secret"), ("tokenUrl", "token_url"))


# ---------------------------------------------------------------- encoding


def encode_snapshot(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON-able body for `snapshot`. `backend` and `foreign` stay out: the first is the client's own
    description of the source, the second would tell a component about connections it may not use."""
    identity = snapshot.identity
    return {
        "version": SNAPSHOT_VERSION,
        "identity": {"project": identity.project, "component": identity.component,
                     "environment": identity.environment},
        "connections": [_encode_connection(connection) for connection in snapshot.connections],
        "oauthApps": {app_id: {name: getattr(app, attribute) for name, attribute in _OAUTH_FIELDS}
                      for app_id, app in snapshot.oauth_apps.items()},
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
    problems = ProblemCollector(source)
    body = shape.mapping(data, "", problems) or {}
    if body:
        _check_version(body.get("version"), problems)
        _check_identity(body.get("identity"), expected, problems)
    connections = [connection for index, item in enumerate(shape.sequence(body.get("connections"), "connections",
                                                                          problems))
                   if (connection := _connection(item, shape.child("connections", index), expected, problems))]
    _check_unique_ids(connections, problems)
    snapshot = Snapshot(
        identity=expected,
        backend=source,
        connections=tuple(connections),
        oauth_apps=_oauth_apps(body.get("oauthApps"), "oauthApps", problems),
        config_groups={name: _parameters(group, shape.child("configGroups", name), problems)
                       for name, group in _named(body.get("configGroups"), "configGroups", problems).items()},
        config_form=_parameters(body.get("configForm"), "configForm", problems),
        file_values={name: shape.mapping(values, shape.child("files", name), problems) or {}
                     for name, values in _named(body.get("files"), "files", problems).items()},
    )
    problems.raise_if_any(ConfigurationError)
    return snapshot


def _check_version(version: Any, problems: ProblemCollector) -> None:
    if version is None:
        problems.add("version", f"missing; expected {SNAPSHOT_VERSION}")
    elif type(version) is not int:
        problems.add("version", f"expected the number {SNAPSHOT_VERSION}, got {shape.type_name(version)}")
    elif version != SNAPSHOT_VERSION:
        problems.add("version", f"this launcher reads version {SNAPSHOT_VERSION}, the answer has version {version}")


def _check_identity(raw: Any, expected: Identity, problems: ProblemCollector) -> None:
    """An answer for someone else is refused outright rather than used."""
    body = shape.mapping(raw, "identity", problems) or {}
    for field in ("project", "component", "environment"):
        path = shape.child("identity", field)
        got = _string(body.get(field), path, problems) if body else None
        if got is not None and got != getattr(expected, field):
            problems.add(path, f"the answer is for {field} {got!r}, the launcher asked for {getattr(expected, field)!r}")


def _connection(raw: Any, path: str, identity: Identity, problems: ProblemCollector) -> Connection | None:
    body = shape.mapping(raw, path, problems)
    if body is None:
        return None
    strings = {field: _string(body.get(field), shape.child(path, field), problems)
               for field in ("id", "name", "type", "visibility", "project")}
    optional = {field: _string(body.get(field), shape.child(path, field), problems, required=False)
                for field in ("component", "resourceRef", "oauthApp")}
    visible = _check_visibility(strings["visibility"], strings["project"], optional["component"], path, identity,
                                problems)
    parameters = _parameters(body.get("parameters"), shape.child(path, "parameters"), problems)
    optional_keys = _keys(body.get("optionalKeys"), shape.child(path, "optionalKeys"), problems)
    unset_keys = _keys(body.get("unsetKeys"), shape.child(path, "unsetKeys"), problems)
    if not visible or None in strings.values():
        return None
    present = cast("dict[str, str]", strings)  # every value checked just above
    return Connection(present["id"], present["name"], present["type"], present["visibility"], present["project"],
                      optional["component"], parameters, optional["oauthApp"], optional["resourceRef"],
                      optional_keys, unset_keys)


def _check_visibility(visibility: str | None, project: str | None, component: str | None, path: str,
                      identity: Identity, problems: ProblemCollector) -> bool:
    """A server that sends what the component may not use is broken; the launcher does not use it."""
    before = len(problems.problems)
    if visibility is not None and visibility not in VISIBILITIES:
        problems.add(shape.child(path, "visibility"), f"expected {PROJECT} or {COMPONENT}")
    if project is not None and project != identity.project:
        problems.add(shape.child(path, "project"), f"a connection of another project than {identity.project!r}")
    if visibility == COMPONENT and component != identity.component:
        problems.add(shape.child(path, "component"), f"a component connection not owned by {identity.component!r}")
    if visibility == PROJECT and component is not None:
        problems.add(shape.child(path, "component"), "a project connection has no owning component; expected null")
    return len(problems.problems) == before


def _parameters(raw: Any, base: str, problems: ProblemCollector) -> dict[str, Parameter]:
    parameters = {}
    for key, item in _named(raw, base, problems).items():
        path = shape.child(base, key)
        body = shape.mapping(item, path, problems)
        if body is None:
            continue
        value = _string(body.get("value"), shape.child(path, "value"), problems, allow_empty=True)
        secret = body.get("secret", False)
        if type(secret) is not bool:
            problems.add(shape.child(path, "secret"), f"expected true or false, got {shape.type_name(secret)}")
        if value is not None:
            parameters[key] = Parameter(value, secret is True)
    return parameters


def _oauth_apps(raw: Any, base: str, problems: ProblemCollector) -> dict[str, OAuthApplication]:
    apps = {}
    for app_id, item in _named(raw, base, problems).items():
        path = shape.child(base, app_id)
        body = shape.mapping(item, path, problems) or {}
        values = [_string(body.get(name), shape.child(path, name), problems) for name, _ in _OAUTH_FIELDS]
        if body and None not in values:
            apps[app_id] = OAuthApplication(app_id, *cast("list[str]", values))  # None ruled out above
    return apps


def _check_unique_ids(connections: list[Connection], problems: ProblemCollector) -> None:
    """Service references look connections up by ID; two with one ID would make that ambiguous."""
    seen: set[str] = set()
    for index, connection in enumerate(connections):
        if connection.connection_id in seen:
            problems.add(shape.child(shape.child("connections", index), "id"), "duplicate Connection ID")
        seen.add(connection.connection_id)


def _named(raw: Any, path: str, problems: ProblemCollector) -> dict[str, Any]:
    """A JSON object used as a map; absent or null means empty."""
    return shape.mapping(raw, path, problems, required=False) or {}


def _keys(raw: Any, path: str, problems: ProblemCollector) -> frozenset[str]:
    items = shape.sequence(raw, path, problems)
    return frozenset(key for index, item in enumerate(items)
                     if (key := _string(item, shape.child(path, index), problems)) is not None)


def _string(value: Any, path: str, problems: ProblemCollector, *, required: bool = True,
            allow_empty: bool = False) -> str | None:
    """A JSON string, nothing else: unlike YAML, JSON has no excuse for a number where text belongs."""
    if isinstance(value, str) and (value or allow_empty):
        return value
    if value is None and not required:
        return None
    got = "an empty string" if value == "" else shape.type_name(value)
    problems.add(path, f"expected a string, got {got}")
    return None
