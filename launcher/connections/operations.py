"""Creating, changing and deleting connections in a Store value (docs/connections.md): pure, no I/O.

Every operation takes a Store and returns a new one plus what it did, so the same change can be
re-applied to a fresher store when a concurrent writer got there first (`launcher.backends.writer`).
The OAuth rules of docs/architecture.md ("The domain, in brief") live here: a project connection under OAuth uses the
project's one shared application (created the first time it is needed); a component connection
under OAuth shares its component's application unless it asks for one of its own.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

from launcher.backends.local.store_file import (
    ALL_ENVIRONMENTS,
    CONNECTION_TYPES,
    Store,
    StoredComponent,
    StoredConnection,
    StoredParameter,
    StoredProject,
)
from launcher.connections.oauth_apps import OAuthRequest, attach_oauth_app, connections_using, rotate_client_secret
from launcher.errors import ConfigurationError, Problem, UsageError
from launcher.keys import OAUTH_KEYS, is_secret_by_default
from launcher.model import COMPONENT, Manifest
from launcher.naming import connection_name_problem
from launcher.records import Record, field
from launcher.visibility import owner, scope_problem

RESOURCE_REF_PREFIX = {
    "service": "service:",
    "database": "database:",
    "third-party": "thirdparty:",
    "storage": "storage:",
}


def new_connection_id() -> str:
    """A time-ordered UUID in Choreo's style (`01ef7a3f-a581-1088-8322-ac5bc449b1d9`).

    A uuid1 with its 60-bit timestamp written first, so IDs sort by creation time; the node is
    random (never the MAC address) and the clock sequence random, so two hosts do not collide.
    """
    stamp = uuid.uuid1(node=secrets.randbits(48) | 1 << 40)  # the multicast bit marks a random node
    digits = f"{stamp.time:016x}{stamp.clock_seq_hi_variant:02x}{stamp.clock_seq_low:02x}{stamp.node:012x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class Generators(Record):
    """Where new IDs and secrets come from; tests substitute predictable ones."""

    connection_id: Callable[[], str] = new_connection_id
    token: Callable[[int], str] = secrets.token_urlsafe


GENERATORS = Generators()  # the real ones


class ConnectionSpec(Record):
    """What `connection create` asks for."""

    project: str
    name: str
    type: str
    visibility: str
    component: str | None = None
    parameters: dict[str, StoredParameter] = field(default_factory=dict, repr=False)
    resource_ref: str | None = None
    oauth: OAuthRequest | None = None


class ParameterUpdate(Record):
    """New values for one key: `{environment | ALL_ENVIRONMENTS: value}`."""

    key: str
    values: dict[str, str] = field(repr=False)
    secret: bool
    plain: bool = False  # given as a plain command-line flag: never allowed for a secret parameter


class Created(Record):
    connection: StoredConnection
    oauth_app: str | None
    oauth_app_created: bool
    component_registered: bool = False  # its owner was not in the project yet (a typo of one, perhaps)


class Deleted(Record):
    connection: StoredConnection
    unused_apps: tuple[str, ...]  # OAuth applications no connection uses any more
    pruned: bool  # whether those were deleted too


# ---------------------------------------------------------------- finding


def find_connection(
    store: Store, ref: str, project: str | None = None, component: str | None = None
) -> StoredConnection:
    """By Connection ID anywhere, else by name (case-insensitive) in the project and scope given."""
    by_id = [c for c in store.all_connections() if c.connection_id == ref]
    if by_id:
        return by_id[0]
    found = [
        c
        for c in store.all_connections()
        if c.name.lower() == ref.lower()
        and project in (None, c.project)
        and (component is None or c.component == component)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigurationError(
            f"{store.file}: no connection with ID or name {ref!r}"
            f"{f' in project {project!r}' if project else ''}"
            f"{f' for component {component!r}' if component else ''}"
        )
    scopes = ", ".join(_scope_label(c) for c in found)
    raise UsageError(f"connection name {ref!r} is ambiguous ({scopes}): give --project/--component or the ID")


def _scope_label(connection: StoredConnection) -> str:
    owner = f"component {connection.component!r}" if connection.component else "project"
    return f"{owner} of {connection.project!r}"


def project_of(store: Store, name: str | None) -> StoredProject:
    """The named project, or the store's only one."""
    if name is None and len(store.projects) == 1:
        return next(iter(store.projects.values()))
    if name is None:
        raise UsageError("which project? pass --project (or set CHOREO_RUN_PROJECT)")
    if name not in store.projects:
        known = ", ".join(sorted(store.projects)) or "none"
        raise ConfigurationError(f"{store.file}: project {name!r} not found (projects: {known})")
    return store.projects[name]


# ---------------------------------------------------------------- create


def create_connection(store: Store, spec: ConnectionSpec, make: Generators = GENERATORS) -> tuple[Store, Created]:
    _check_spec(store, spec)
    before = store.projects.get(spec.project) or _new_project(spec.project)
    project = _with_component(before, spec.component)
    registered = project is not before
    app_id, created = None, False
    if spec.oauth is not None:
        project, app_id, created = attach_oauth_app(
            project,
            spec.name,
            spec.visibility,
            spec.component,
            _environments_of(spec.parameters),
            spec.oauth,
            make.token,
        )
    parameters = {key: p.replace(secret=p.secret or is_secret_by_default(key)) for key, p in spec.parameters.items()}
    connection = StoredConnection(
        make.connection_id(),
        spec.name,
        spec.type,
        spec.visibility,
        spec.project,
        spec.component,
        parameters,
        app_id,
        spec.resource_ref,
        f"projects.{spec.project}.connections[{len(project.connections)}]",
    )
    project = project.replace(connections=(*project.connections, connection))
    if any(c.connection_id == connection.connection_id for c in store.all_connections()):
        raise ConfigurationError(f"{store.file}: generated Connection ID already exists; run the command again")
    return _with_project(store, project), Created(connection, app_id, created, registered)


def _check_spec(store: Store, spec: ConnectionSpec) -> None:
    problems = [
        problem
        for problem in (
            _name_problem(spec.name),
            _type_problem(spec),
            _scope_problem(spec),
            _ref_problem(spec),
            _oauth_problem(spec),
        )
        if problem
    ]
    project = store.projects.get(spec.project)
    clash = [
        c
        for c in (project.connections if project else ())
        if c.component == owner(spec.visibility, spec.component) and c.name.lower() == spec.name.lower()
    ]
    if clash:
        problems.append(
            f"a connection named {clash[0].name!r} already exists in this scope "
            f"({_scope_label(clash[0])}, ID {clash[0].connection_id})"
        )
    if problems:
        raise UsageError([Problem(problem) for problem in problems])  # one line each


def _name_problem(name: str) -> str | None:
    problem = connection_name_problem(name)
    return f"invalid connection name {name!r}: {problem}" if problem else None


def _type_problem(spec: ConnectionSpec) -> str | None:
    if spec.type not in CONNECTION_TYPES:
        return f"expected a type among {', '.join(CONNECTION_TYPES)}, got {spec.type!r}"
    return None


def _scope_problem(spec: ConnectionSpec) -> str | None:
    problem = scope_problem(spec.visibility, spec.component)
    if problem is None:
        return None
    if problem.field == "visibility":
        return f"--visibility: {problem.message}, got {spec.visibility!r}"
    if spec.visibility == COMPONENT:
        return "a component connection needs --component (or CHOREO_RUN_COMPONENT)"
    return f"{problem.message}: drop --component, or use --visibility component"


def _ref_problem(spec: ConnectionSpec) -> str | None:
    expected = RESOURCE_REF_PREFIX.get(spec.type)
    if spec.resource_ref is None:
        return (
            "a service connection needs --resource-ref service:/project/component/version/endpoint/VISIBILITY"
            if spec.type == "service"
            else None
        )
    if expected and not spec.resource_ref.startswith(expected):
        return f"a {spec.type} connection's resourceRef starts with {expected!r}, got {spec.resource_ref!r}"
    return None


def _oauth_problem(spec: ConnectionSpec) -> str | None:
    if spec.oauth is not None and spec.type != "service":
        return "only a service connection can use the OAuth scheme"
    taken = sorted(set(spec.parameters) & set(OAUTH_KEYS))
    if spec.oauth is not None and taken:
        return f"{', '.join(taken)} come from the OAuth application; do not give them as parameters"
    return None


def _environments_of(parameters: dict[str, StoredParameter]) -> tuple[str, ...]:
    named = {env for parameter in parameters.values() for env in parameter.values if env != ALL_ENVIRONMENTS}
    return tuple(sorted(named))


def _new_project(name: str) -> StoredProject:
    return StoredProject(name, {}, (), {}, {})


def _with_component(project: StoredProject, component: str | None) -> StoredProject:
    """A component connection's owner is registered in the project the first time it is named."""
    if component is None or component in project.components:
        return project
    return project.replace(components={**project.components, component: StoredComponent(component, {}, {})})


def _with_project(store: Store, project: StoredProject) -> Store:
    return store.replace(projects={**store.projects, project.name: project})


def _replace_connection(store: Store, connection: StoredConnection) -> Store:
    project = store.projects[connection.project]
    connections = tuple(connection if c.connection_id == connection.connection_id else c for c in project.connections)
    return _with_project(store, project.replace(connections=connections))


def add_component(store: Store, project: str, component: str) -> tuple[Store, bool]:
    """Register a component (a launch needs its component in the store); False if it was there."""
    current = store.projects.get(project) or _new_project(project)
    return _with_project(store, _with_component(current, component)), component not in current.components


# ---------------------------------------------------------------- update


def update_connection(
    store: Store,
    connection: StoredConnection,
    updates: tuple[ParameterUpdate, ...],
    removals: tuple[str, ...] = (),
    environments: tuple[str, ...] = (),
    resource_ref: str | None = None,
) -> tuple[Store, StoredConnection]:
    """Set values (per environment, or for all), remove keys or one environment's values."""
    parameters = dict(connection.parameters)
    for key in removals:
        parameters = _remove(parameters, key, environments, connection.name)
    for update in updates:
        if connection.oauth_app and update.key in OAUTH_KEYS:
            raise UsageError(
                f"{update.key} comes from OAuth application {connection.oauth_app!r}; "
                "rotate its secret with `connection rotate`"
            )
        parameters[update.key] = _merged(parameters.get(update.key), update)
    changed = connection.replace(parameters=parameters, resource_ref=resource_ref or connection.resource_ref)
    if resource_ref:
        _check_ref_kind(changed)
    return _replace_connection(store, changed), changed


def _check_ref_kind(connection: StoredConnection) -> None:
    spec = ConnectionSpec(
        connection.project,
        connection.name,
        connection.type,
        connection.visibility,
        connection.component,
        resource_ref=connection.resource_ref,
    )
    if problem := _ref_problem(spec):
        raise UsageError(problem)


def _merged(old: StoredParameter | None, update: ParameterUpdate) -> StoredParameter:
    if old is not None and old.secret and update.plain:
        raise UsageError(
            f"{update.key} is secret: give its value with --secret {update.key} (read from stdin or "
            "a prompt) or --param-file, never on the command line"
        )
    if old is None or ALL_ENVIRONMENTS in update.values:
        values = dict(update.values)  # one value for every environment replaces the per-environment ones
    else:
        values = {**old.values, **update.values}
    secret = update.secret or is_secret_by_default(update.key) or (old is not None and old.secret)
    return StoredParameter(values, secret, old.optional if old else False)


def _remove(
    parameters: dict[str, StoredParameter], key: str, environments: tuple[str, ...], name: str
) -> dict[str, StoredParameter]:
    if key not in parameters:
        raise UsageError(f"connection {name!r} has no parameter {key!r}")
    if not environments:
        return {k: p for k, p in parameters.items() if k != key}
    kept = {env: value for env, value in parameters[key].values.items() if env not in environments}
    return {**parameters, key: parameters[key].replace(values=kept)}


# ---------------------------------------------------------------- rotate


def rotate_parameter(
    store: Store, connection: StoredConnection, key: str, values: dict[str, str]
) -> tuple[Store, StoredConnection]:
    """A secret parameter's new value, for the environments in `values` (or ALL_ENVIRONMENTS)."""
    parameter = connection.parameters.get(key)
    if parameter is None or not parameter.secret:
        secret_keys = ", ".join(k for k, p in connection.parameters.items() if p.secret) or "none"
        raise UsageError(f"connection {connection.name!r} has no secret parameter {key!r} (secret: {secret_keys})")
    return update_connection(store, connection, (ParameterUpdate(key, values, True),))


def rotate_oauth_secret(
    store: Store, project_name: str, app_id: str, environments: tuple[str, ...] = (), make: Generators = GENERATORS
) -> tuple[Store, tuple[str, ...]]:
    """A new client secret for the application; returns the environments rotated."""
    project = project_of(store, project_name)
    project, rotated = rotate_client_secret(project, app_id, environments, make.token)
    return _with_project(store, project), rotated


# ---------------------------------------------------------------- delete


def delete_connection(store: Store, connection: StoredConnection, prune: bool = False) -> tuple[Store, Deleted]:
    """Remove the connection. An OAuth application it leaves unused is kept (same client ID if a
    connection needs it again) unless `prune`."""
    project = store.projects[connection.project]
    remaining = tuple(c for c in project.connections if c.connection_id != connection.connection_id)
    project = project.replace(connections=remaining)
    app = connection.oauth_app
    unused = (app,) if app and not connections_using(project, app) else ()
    if prune and unused:
        project = project.replace(oauth_apps={k: v for k, v in project.oauth_apps.items() if k not in unused})
    return _with_project(store, project), Deleted(connection, unused, prune and bool(unused))


def manifest_references(manifest: Manifest, connection: StoredConnection) -> list[str]:
    """Where `manifest` refers to the connection: by name (connectionReferences, connectionRef
    values, compared as the resolver does) or by Connection ID (serviceReferences)."""
    paths = [f"{ref.path}.name" for ref in manifest.connection_references if ref.name == connection.name]
    paths += [
        f"{ref.path}.connectionConfig"
        for ref in manifest.service_references
        if ref.connection_id == connection.connection_id
    ]
    paths += [
        entry.source.path or entry.path
        for entry in manifest.env
        if entry.source.kind == "connectionRef" and entry.source.ref_name == connection.name
    ]
    return paths
