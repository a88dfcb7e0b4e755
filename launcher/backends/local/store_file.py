"""The local connection store: a YAML file holding what the platform would hold (docs/store.md).

Parsed and validated as a whole, every problem reported at once with its path, then kept as plain
data that `launcher.backends.local.backend` turns into a per-component, per-environment Snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from launcher import shape
from launcher.errors import ConfigurationError, ProblemCollector
from launcher.model import COMPONENT, PROJECT, VISIBILITIES
from launcher.naming import connection_name_problem

STORE_VERSION = 1
OAUTH_KEYS = ("ConsumerKey", "ConsumerSecret", "TokenURL")
# Keys that hold credentials are secret unless the store says otherwise.
SECRET_BY_DEFAULT = {"consumersecret", "choreoapikey", "password", "apikey", "clientsecret", "token"}
CONNECTION_TYPES = ("service", "database", "third-party", "storage")
# The keys each part of the file may hold; others are warned about (`paramters` would drop values).
TOP_KEYS = frozenset({"version", "projects", "configGroups", "exampleValues"})
PROJECT_KEYS = frozenset({"name", "components", "oauthApps", "connections", "configGroups"})
COMPONENT_KEYS = frozenset({"name", "configForm", "files"})
OAUTH_APP_KEYS = frozenset({"id", "component", "environments"})
CONNECTION_KEYS = frozenset({"id", "name", "type", "visibility", "component", "auth", "oauthApp", "resourceRef",
                             "parameters"})
PARAMETER_KEYS = frozenset({"value", "values", "secret", "optional"})
GROUP_KEYS = frozenset({"name", "parameters"})


@dataclass(frozen=True)
class StoredParameter:
    """One parameter with its value for each environment (ALL_ENVIRONMENTS for every one)."""

    values: dict[str, str] = field(repr=False)
    secret: bool = False
    optional: bool = False

    def value_for(self, environment: str) -> str | None:
        return self.values.get(environment, self.values.get(ALL_ENVIRONMENTS))


ALL_ENVIRONMENTS = "*"


@dataclass(frozen=True)
class StoredConnection:
    connection_id: str
    name: str
    type: str
    visibility: str
    project: str
    component: str | None
    parameters: dict[str, StoredParameter] = field(repr=False)
    oauth_app: str | None
    resource_ref: str | None
    path: str


@dataclass(frozen=True)
class StoredOAuthApp:
    app_id: str
    project: str
    component: str | None  # None: the project's shared application
    environments: dict[str, dict[str, str]] = field(repr=False)


@dataclass(frozen=True)
class StoredComponent:
    name: str
    config_form: dict[str, dict[str, StoredParameter]] = field(repr=False)  # environment -> name -> value
    files: dict[str, dict[str, dict[str, Any]]] = field(repr=False)  # environment -> file -> values


@dataclass(frozen=True)
class StoredProject:
    name: str
    components: dict[str, StoredComponent]
    connections: tuple[StoredConnection, ...]
    oauth_apps: dict[str, StoredOAuthApp]
    config_groups: dict[str, dict[str, StoredParameter]] = field(repr=False)


@dataclass(frozen=True)
class Store:
    file: str
    projects: dict[str, StoredProject]
    config_groups: dict[str, dict[str, StoredParameter]] = field(repr=False)  # organization-wide
    example_values: bool = False  # the file says its values are examples, not real secrets
    warnings: tuple[str, ...] = field(default=(), compare=False)  # unknown keys, ignored

    def all_connections(self) -> list[StoredConnection]:
        return [connection for project in self.projects.values() for connection in project.connections]


def parse_store(data: Any, file: str) -> Store:
    """Validate a parsed store document; raise ConfigurationError listing every problem."""
    problems = ProblemCollector(file)
    body = shape.mapping(data, "", problems) or {}
    shape.known_keys(body, TOP_KEYS, "", problems)
    if body and body.get("version") != STORE_VERSION:
        problems.add("version", f"expected {STORE_VERSION}, got {body.get('version')!r}")
    projects: dict[str, StoredProject] = {}
    for index, raw in enumerate(shape.sequence(body.get("projects"), "projects", problems)):
        project = _project(raw, shape.child("projects", index), problems)
        if project and project.name in projects:
            problems.add(shape.child(shape.child("projects", index), "name"), f"duplicate project {project.name!r}")
        elif project:
            projects[project.name] = project
    groups = _config_groups(body.get("configGroups"), "configGroups", problems)
    _check_unique_ids([c for p in projects.values() for c in p.connections], problems)
    example_values = body.get("exampleValues", False)
    if not isinstance(example_values, bool):
        problems.add("exampleValues", f"expected true or false, got {shape.type_name(example_values)}")
    problems.raise_if_any(ConfigurationError)
    return Store(file, projects, groups, example_values is True, tuple(problems.warnings))


def _project(raw: Any, path: str, problems: ProblemCollector) -> StoredProject | None:
    body = shape.mapping(raw, path, problems)
    if body is None:
        return None
    shape.known_keys(body, PROJECT_KEYS, path, problems)
    name = shape.text(body.get("name"), shape.child(path, "name"), problems, what="a project name")
    components = _components(body.get("components"), shape.child(path, "components"), problems)
    apps = _oauth_apps(body.get("oauthApps"), shape.child(path, "oauthApps"), name or "", components, problems)
    connections = [
        connection
        for index, item in enumerate(shape.sequence(body.get("connections"), shape.child(path, "connections"), problems))
        if (connection := _connection(item, shape.child(shape.child(path, "connections"), index), name or "",
                                      components, apps, problems))
    ]
    _check_unique_names(connections, problems)
    groups = _config_groups(body.get("configGroups"), shape.child(path, "configGroups"), problems)
    return StoredProject(name, components, tuple(connections), apps, groups) if name else None


def _components(raw: Any, base: str, problems: ProblemCollector) -> dict[str, StoredComponent]:
    components: dict[str, StoredComponent] = {}
    for path, body in shape.mappings(raw, base, problems, COMPONENT_KEYS):
        name = shape.text(body.get("name"), shape.child(path, "name"), problems, what="a component name")
        form = _per_environment(body.get("configForm"), shape.child(path, "configForm"), problems,
                                lambda v, p: _parameter(v, p, problems, key=""))
        files = _per_environment(body.get("files"), shape.child(path, "files"), problems,
                                 lambda v, p: shape.mapping(v, p, problems) or {})
        if name in components:
            problems.add(shape.child(path, "name"), f"duplicate component {name!r}")
        elif name:
            components[name] = StoredComponent(name, form, files)
    return components


def _per_environment(raw: Any, base: str, problems: ProblemCollector, read_value) -> dict[str, dict[str, Any]]:
    """`{environment: {name: value}}` with each value read by `read_value(value, path)`."""
    result: dict[str, dict[str, Any]] = {}
    for environment, entries in (shape.mapping(raw, base, problems, required=False) or {}).items():
        env_path = shape.child(base, str(environment))
        values = shape.mapping(entries, env_path, problems, required=False) or {}
        result[str(environment)] = {str(name): read_value(value, shape.child(env_path, str(name)))
                                    for name, value in values.items()}
    return result


def _oauth_apps(raw: Any, base: str, project: str, components: dict[str, StoredComponent],
                problems: ProblemCollector) -> dict[str, StoredOAuthApp]:
    apps: dict[str, StoredOAuthApp] = {}
    for path, body in shape.mappings(raw, base, problems, OAUTH_APP_KEYS):
        app_id = shape.text(body.get("id"), shape.child(path, "id"), problems, what="an application id")
        component = _owner(body.get("component"), shape.child(path, "component"), components, problems)
        environments = _per_environment(body.get("environments"), shape.child(path, "environments"), problems,
                                        lambda v, p: shape.text(v, p, problems) or "")
        for environment, values in environments.items():
            for key in ("clientId", "clientSecret", "tokenUrl"):
                if not values.get(key):
                    problems.add(shape.child(shape.child(path, "environments"), environment),
                                 f"expected `{key}` for the OAuth application")
        if app_id in apps:
            problems.add(shape.child(path, "id"), f"duplicate OAuth application {app_id!r}")
        elif app_id:
            apps[app_id] = StoredOAuthApp(app_id, project, component, environments)
    shared = [app.app_id for app in apps.values() if app.component is None]
    if len(shared) > 1:
        problems.add(base, f"a project has one shared OAuth application, found {len(shared)}: {', '.join(shared)}")
    return apps


def _owner(raw: Any, path: str, components: dict[str, StoredComponent], problems: ProblemCollector) -> str | None:
    owner = shape.text(raw, path, problems, what="a component name", required=False)
    if owner is not None and owner not in components:
        problems.add(path, f"expected a component of this project, got {owner!r}")
    return owner


def _connection(raw: Any, path: str, project: str, components: dict[str, StoredComponent],
                apps: dict[str, StoredOAuthApp], problems: ProblemCollector) -> StoredConnection | None:
    body = shape.mapping(raw, path, problems)
    if body is None:
        return None
    shape.known_keys(body, CONNECTION_KEYS, path, problems)
    connection_id = shape.text(body.get("id"), shape.child(path, "id"), problems, what="a Connection ID")
    name = shape.text(body.get("name"), shape.child(path, "name"), problems, what="a connection name")
    if name and (problem := connection_name_problem(name)):
        problems.add(shape.child(path, "name"), f"invalid connection name {name!r}: {problem}")
    kind = shape.text(body.get("type"), shape.child(path, "type"), problems, what="a connection type")
    if kind and kind not in CONNECTION_TYPES:
        problems.add(shape.child(path, "type"), f"expected one of {', '.join(CONNECTION_TYPES)}, got {kind!r}")
    visibility, component = _visibility(body, path, components, problems)
    parameters = _parameters(body.get("parameters"), shape.child(path, "parameters"), problems)
    oauth_app = _oauth_link(body, path, visibility, component, apps, parameters, problems)
    resource_ref = shape.text(body.get("resourceRef"), shape.child(path, "resourceRef"), problems, required=False)
    if not (connection_id and name and kind and visibility):
        return None
    return StoredConnection(connection_id, name, kind, visibility, project, component, parameters, oauth_app,
                            resource_ref, path)


def _visibility(body: dict, path: str, components: dict[str, StoredComponent],
                problems: ProblemCollector) -> tuple[str | None, str | None]:
    visibility = shape.text(body.get("visibility"), shape.child(path, "visibility"), problems,
                            what="a visibility (project or component)")
    if visibility and visibility not in VISIBILITIES:
        problems.add(shape.child(path, "visibility"), f"expected project or component, got {visibility!r}")
        return None, None
    component = _owner(body.get("component"), shape.child(path, "component"), components, problems)
    if visibility == COMPONENT and component is None:
        problems.add(shape.child(path, "component"), "expected the owning component for a component connection")
    if visibility == PROJECT and component is not None:
        problems.add(shape.child(path, "component"), "a project connection has no owning component")
    return visibility, component


def _oauth_link(body: dict, path: str, visibility: str | None, component: str | None,
                apps: dict[str, StoredOAuthApp], parameters: dict[str, StoredParameter],
                problems: ProblemCollector) -> str | None:
    """`oauthApp: ID`, or `auth: oauth` for the scope's default application (docs/store.md)."""
    app_id = shape.text(body.get("oauthApp"), shape.child(path, "oauthApp"), problems, required=False)
    if app_id is None and body.get("auth") == "oauth":
        candidates = [a.app_id for a in apps.values() if a.component == (component if visibility == COMPONENT else None)]
        if len(candidates) != 1:
            owner = f"component {component!r}" if visibility == COMPONENT else "the project"
            problems.add(shape.child(path, "auth"), f"expected exactly one OAuth application for {owner}, "
                         f"found {len(candidates)}")
            return None
        app_id = candidates[0]
    if app_id is None:
        return None
    app = apps.get(app_id)
    if app is None:
        problems.add(shape.child(path, "oauthApp"), f"expected an OAuth application of this project, got {app_id!r}")
    elif visibility == PROJECT and app.component is not None:
        problems.add(shape.child(path, "oauthApp"), "a project connection must use the project's shared application")
    elif visibility == COMPONENT and app.component not in (None, component):
        problems.add(shape.child(path, "oauthApp"), f"application {app_id!r} belongs to component {app.component!r}")
    for key in OAUTH_KEYS:
        if key in parameters:
            problems.add(shape.child(shape.child(path, "parameters"), key),
                         "comes from the OAuth application; remove it from the connection")
    return app_id


def _parameters(raw: Any, base: str, problems: ProblemCollector) -> dict[str, StoredParameter]:
    body = shape.mapping(raw, base, problems, required=False) or {}
    return {str(key): _parameter(value, shape.child(base, str(key)), problems, key=str(key))
            for key, value in body.items()}


def _parameter(raw: Any, path: str, problems: ProblemCollector, *, key: str) -> StoredParameter:
    """A scalar (same value everywhere) or `{value | values: {env: v}, secret, optional}`."""
    secret_default = key.lower() in SECRET_BY_DEFAULT
    if not isinstance(raw, dict):
        value = _scalar(raw, path, problems)
        return StoredParameter({ALL_ENVIRONMENTS: value} if value is not None else {}, secret_default)
    shape.known_keys(raw, PARAMETER_KEYS, path, problems)
    values = {}
    if "value" in raw:
        if (value := _scalar(raw["value"], shape.child(path, "value"), problems)) is not None:
            values[ALL_ENVIRONMENTS] = value
    per_env = shape.mapping(raw.get("values"), shape.child(path, "values"), problems, required=False) or {}
    for environment, value in per_env.items():
        if (text := _scalar(value, shape.child(shape.child(path, "values"), str(environment)), problems)) is not None:
            values[str(environment)] = text
    secret = raw.get("secret", secret_default)
    optional = raw.get("optional", False)
    for flag, flag_value in (("secret", secret), ("optional", optional)):
        if not isinstance(flag_value, bool):
            problems.add(shape.child(path, flag), f"expected true or false, got {shape.type_name(flag_value)}")
    return StoredParameter(values, secret is True, optional is True)


def _scalar(raw: Any, path: str, problems: ProblemCollector) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float, str)):
        return str(raw)
    problems.add(path, f"expected a string, number or boolean, got {shape.type_name(raw)}")
    return None


def _config_groups(raw: Any, base: str, problems: ProblemCollector) -> dict[str, dict[str, StoredParameter]]:
    groups = {}
    for path, body in shape.mappings(raw, base, problems, GROUP_KEYS):
        name = shape.text(body.get("name"), shape.child(path, "name"), problems, what="a config group name")
        if name:
            groups[name] = _parameters(body.get("parameters"), shape.child(path, "parameters"), problems)
    return groups


def _check_unique_names(connections: list[StoredConnection], problems: ProblemCollector) -> None:
    """Names are unique within a scope: the project's connections, or one component's."""
    seen: dict[tuple[str | None, str], str] = {}
    for connection in connections:
        scope = (connection.component, connection.name.lower())
        if scope in seen:
            problems.add(shape.child(connection.path, "name"),
                         f"duplicate connection name {connection.name!r} (also at {seen[scope]})")
        seen.setdefault(scope, connection.path)


def _check_unique_ids(connections: list[StoredConnection], problems: ProblemCollector) -> None:
    seen: dict[str, str] = {}
    for connection in connections:
        if connection.connection_id in seen:
            problems.add(shape.child(connection.path, "id"),
                         f"duplicate Connection ID {connection.connection_id!r} (also at {seen[connection.connection_id]})")
        seen.setdefault(connection.connection_id, connection.path)
