"""The local connection store: a YAML file holding what the platform would hold (docs/store.md).

Parsed and validated as a whole, every problem reported at once with its path, then kept as plain
data that `launcher.backends.local.backend` turns into a per-component, per-environment Snapshot.
"""

from __future__ import annotations

from launcher.documents.shape import Node, child, shown
from launcher.errors import ConfigurationError
from launcher.keys import OAUTH_KEYS, is_secret_by_default
from launcher.model import PROJECT, duplicate_id_message, duplicate_ids
from launcher.naming import connection_name_problem
from launcher.records import Record, field
from launcher.visibility import may_use_app, owner, scope_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STORE_VERSION = 1
CONNECTION_TYPES = ("service", "database", "third-party", "storage")
# The keys each part of the file may hold; others are warned about (`paramters` would drop values).
TOP_KEYS = frozenset({"version", "projects", "configGroups", "exampleValues"})
PROJECT_KEYS = frozenset({"name", "components", "oauthApps", "connections", "configGroups"})
COMPONENT_KEYS = frozenset({"name", "configForm", "files"})
OAUTH_APP_KEYS = frozenset({"id", "component", "environments"})
CONNECTION_KEYS = frozenset(
    {"id", "name", "type", "visibility", "component", "auth", "oauthApp", "resourceRef", "parameters"}
)
PARAMETER_KEYS = frozenset({"value", "values", "secret", "optional"})
OAUTH_ENVIRONMENT_KEYS = frozenset({"clientId", "clientSecret", "tokenUrl"})
GROUP_KEYS = frozenset({"name", "parameters"})


class StoredParameter(Record):
    """One parameter with its value for each environment (ALL_ENVIRONMENTS for every one)."""

    values: dict[str, str] = field(repr=False)
    secret: bool = False
    optional: bool = False

    def value_for(self, environment: str) -> str | None:
        return self.values.get(environment, self.values.get(ALL_ENVIRONMENTS))


ALL_ENVIRONMENTS = "*"


class StoredConnection(Record):
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


class StoredOAuthApp(Record):
    app_id: str
    project: str
    component: str | None  # None: the project's shared application
    environments: dict[str, dict[str, str]] = field(repr=False)


class StoredComponent(Record):
    name: str
    config_form: dict[str, dict[str, StoredParameter]] = field(repr=False)  # environment -> name -> value
    files: dict[str, dict[str, dict[str, Any]]] = field(repr=False)  # environment -> file -> values


class StoredProject(Record):
    name: str
    components: dict[str, StoredComponent]
    connections: tuple[StoredConnection, ...]
    oauth_apps: dict[str, StoredOAuthApp]
    config_groups: dict[str, dict[str, StoredParameter]] = field(repr=False)


class Store(Record):
    file: str
    projects: dict[str, StoredProject]
    config_groups: dict[str, dict[str, StoredParameter]] = field(repr=False)  # organization-wide
    example_values: bool = False  # the file says its values are examples, not real secrets
    warnings: tuple[str, ...] = field(default=(), compare=False)  # unknown keys, ignored

    def all_connections(self) -> list[StoredConnection]:
        return [connection for project in self.projects.values() for connection in project.connections]


def parse_store(data: Any, file: str) -> Store:
    """Validate a parsed store document; raise ConfigurationError listing every problem."""
    root = Node.root(data, file)
    if root.mapping(keys=TOP_KEYS) and root.value:  # an empty file is an empty store
        version = root.key("version")
        if isinstance(version.value, bool) or version.value != STORE_VERSION:  # `version: true` is not 1
            version.problem(f"expected {STORE_VERSION}, got {shown(version.value)}")
    projects: dict[str, StoredProject] = {}
    for node in root.key("projects").list():
        project = _project(node)
        if project and project.name in projects:
            node.key("name").problem(f"duplicate project {project.name!r}")
        elif project:
            projects[project.name] = project
    groups = _config_groups(root.key("configGroups"))
    _check_unique_ids([c for p in projects.values() for c in p.connections], root)
    example_values = root.flag("exampleValues", False)
    root.raise_if_any(ConfigurationError)
    return Store(file, projects, groups, example_values, root.warnings)


def _project(node: Node) -> StoredProject | None:
    if not node.mapping(keys=PROJECT_KEYS):
        return None
    name = node.key("name").text("a project name")
    components = _components(node.key("components"))
    apps = _oauth_apps(node.key("oauthApps"), name or "", components)
    connections = [
        connection
        for item in node.key("connections").list()
        if (connection := _connection(item, name or "", components, apps))
    ]
    _check_unique_names(connections, node)
    groups = _config_groups(node.key("configGroups"))
    return StoredProject(name, components, tuple(connections), apps, groups) if name else None


def _components(node: Node) -> dict[str, StoredComponent]:
    components: dict[str, StoredComponent] = {}
    for item in node.mappings(COMPONENT_KEYS):
        name = item.key("name").text("a component name")
        # A config form value is a parameter named by its variable: `API_TOKEN` is secret by default.
        form = {
            environment: {name: _parameter(value, name) for name, value in entries.entries()}
            for environment, entries in item.key("configForm").entries()
        }
        files = _per_environment(item.key("files"), _file_values)
        if name in components:
            item.key("name").problem(f"duplicate component {name!r}")
        elif name:
            components[name] = StoredComponent(name, form, files)
    return components


def _per_environment(node: Node, read_value: Callable[[Node], Any]) -> dict[str, dict[str, Any]]:
    """`{environment: {name: value}}` with each value read by `read_value`."""
    return {
        environment: {name: read_value(value) for name, value in entries.entries()}
        for environment, entries in node.entries()
    }


def _file_values(node: Node) -> dict[str, Any]:
    """The values of one mounted file: any JSON-like data, rendered as the manifest's file type says."""
    if not node.mapping():
        return {}
    node.plain_data()
    return node.value


def _oauth_apps(node: Node, project: str, components: dict[str, StoredComponent]) -> dict[str, StoredOAuthApp]:
    apps: dict[str, StoredOAuthApp] = {}
    for item in node.mappings(OAUTH_APP_KEYS):
        app_id = item.key("id").text("an application id")
        component = _owner(item, components)
        environments = _per_environment(item.key("environments"), lambda value: value.text() or "")
        listed = item.key("environments")
        for environment in listed.value if listed.is_mapping else ():  # each holds a client secret
            listed.key(environment).known_keys(OAUTH_ENVIRONMENT_KEYS, secret_bearing=True)
        for environment, values in environments.items():
            for key in ("clientId", "clientSecret", "tokenUrl"):
                if not values.get(key):
                    item.key("environments").key(environment).problem(f"expected `{key}` for the OAuth application")
        if app_id in apps:
            item.key("id").problem(f"duplicate OAuth application {app_id!r}")
        elif app_id:
            apps[app_id] = StoredOAuthApp(app_id, project, component, environments)
    shared = [app.app_id for app in apps.values() if app.component is None]
    if len(shared) > 1:
        node.problem(f"a project has one shared OAuth application, found {len(shared)}: {', '.join(shared)}")
    return apps


def _owner(item: Node, components: dict[str, StoredComponent]) -> str | None:
    """The `component` of `item`, which must be one of the project's."""
    owner = item.text_at("component", "a component name", required=False)
    if owner is not None and owner not in components:
        item.key("component").problem(f"expected a component of this project, got {owner!r}")
    return owner


def _connection(
    node: Node, project: str, components: dict[str, StoredComponent], apps: dict[str, StoredOAuthApp]
) -> StoredConnection | None:
    if not node.mapping(keys=CONNECTION_KEYS):
        return None
    connection_id = node.text_at("id", "a Connection ID")
    name = node.text_at("name", "a connection name")
    if name and (problem := connection_name_problem(name)):
        node.key("name").problem(f"invalid connection name {name!r}: {problem}")
    kind = node.text_at("type", "a connection type")
    if kind and kind not in CONNECTION_TYPES:  # still read, so duplicate names and IDs are reported too
        node.key("type").problem(f"expected one of {', '.join(CONNECTION_TYPES)}, got {kind!r}")
    visibility, component = _visibility(node, components)
    parameters = _parameters(node.key("parameters"))
    oauth_app = _oauth_link(node, visibility, component, apps, parameters)
    resource_ref = node.text_at("resourceRef", required=False)
    if not (connection_id and name and kind and visibility):
        return None
    return StoredConnection(
        connection_id, name, kind, visibility, project, component, parameters, oauth_app, resource_ref, node.path
    )


def _visibility(node: Node, components: dict[str, StoredComponent]) -> tuple[str | None, str | None]:
    visibility = node.text_at("visibility", "a visibility (project or component)")
    # The visibility itself first: an owning component means nothing without a valid one.
    problem = scope_problem(visibility, None) if visibility else None
    if problem and problem.field == "visibility":
        node.key("visibility").problem(f"{problem.message}, got {visibility!r}")
        return None, None
    component = _owner(node, components)
    if visibility and (problem := scope_problem(visibility, component)):
        node.key(problem.field).problem(problem.message)
    return visibility, component


def _oauth_link(
    node: Node,
    visibility: str | None,
    component: str | None,
    apps: dict[str, StoredOAuthApp],
    parameters: dict[str, StoredParameter],
) -> str | None:
    """`oauthApp: ID`, or `auth: oauth` for the scope's default application (docs/store.md)."""
    app_id = node.text_at("oauthApp", required=False)
    if app_id is None and node.value.get("auth") == "oauth":  # a connection is a mapping
        scope = owner(visibility, component)
        candidates = [app.app_id for app in apps.values() if app.component == scope]
        if len(candidates) != 1:
            shown_scope = f"component {scope!r}" if scope else "the project"
            node.key("auth").problem(
                f"expected exactly one OAuth application for {shown_scope}, found {len(candidates)}"
            )
            return None
        app_id = candidates[0]
    if app_id is None:
        return None
    app = apps.get(app_id)
    link = node.key("oauthApp")
    if app is None:
        link.problem(f"expected an OAuth application of this project, got {app_id!r}")
    elif visibility and not may_use_app(app.component, visibility, component):
        link.problem(
            "a project connection must use the project's shared application"
            if visibility == PROJECT
            else f"application {app_id!r} belongs to component {app.component!r}"
        )
    for key in OAUTH_KEYS:
        if key in parameters:
            node.key("parameters").key(key).problem("comes from the OAuth application; remove it from the connection")
    return app_id


def _parameters(node: Node) -> dict[str, StoredParameter]:
    """Each parameter by _parameter, but the usual `{value: text, secret: bool}` read here directly.

    That is the shape `store push` and `connection add` write, three times per connection. Read in
    place, without a node per parameter, 3,000 parameters take 2.8 ms instead of 4.8 ms
    (docs/performance.md). Anything else, even a near miss, goes to _parameter, which says what is
    wrong; a property test keeps the two readings equal (tests/unit/test_store_file.py).
    """
    spec = node.value
    if not isinstance(spec, dict):
        return {key: _parameter(value, key) for key, value in node.entries()}  # says what it expected
    parameters = {}
    for key, value in spec.items():
        if type(key) is str and type(value) is dict and _PLAIN_PARAMETER_KEYS.issuperset(value):
            text, secret, optional = value.get("value"), value.get("secret", _ABSENT), value.get("optional", False)
            if secret is _ABSENT:
                secret = is_secret_by_default(key)
            if type(text) is str and type(secret) is bool and type(optional) is bool:
                parameters[key] = StoredParameter({ALL_ENVIRONMENTS: text}, secret, optional)
                continue
        text_key = key if type(key) is str else str(key)
        parameters[text_key] = _parameter(node.key(key), text_key)
    return parameters


_PLAIN_PARAMETER_KEYS = frozenset({"value", "secret", "optional"})  # PARAMETER_KEYS but `values`
_ABSENT = object()


def _parameter(node: Node, key: str) -> StoredParameter:
    """A scalar (same value everywhere) or `{value | values: {env: v}, secret, optional}`."""
    secret_default = is_secret_by_default(key)
    spec = node.value
    if not isinstance(spec, dict):
        value = node.scalar()
        return StoredParameter({ALL_ENVIRONMENTS: value} if value is not None else {}, secret_default)
    node.known_keys(PARAMETER_KEYS, secret_bearing=True)  # `{value:s3cr3t}` would name a secret
    values = {}
    if "value" in spec and (value := node.scalar_at("value")) is not None:
        values[ALL_ENVIRONMENTS] = value
    if "values" in spec:  # absent (as null): no value of its own for any environment
        for environment, per_env in node.key("values").entries():
            if (text := per_env.scalar()) is not None:
                values[environment] = text
    return StoredParameter(values, node.flag("secret", secret_default), node.flag("optional", False))


def _config_groups(node: Node) -> dict[str, dict[str, StoredParameter]]:
    groups = {}
    for item in node.mappings(GROUP_KEYS):
        name = item.key("name").text("a config group name")
        if name:
            groups[name] = _parameters(item.key("parameters"))
    return groups


def _check_unique_names(connections: list[StoredConnection], project: Node) -> None:
    """Names are unique within a scope: the project's connections, or one component's."""
    seen: dict[tuple[str | None, str], str] = {}
    for connection in connections:
        scope = (connection.component, connection.name.lower())
        if scope in seen:
            project.sink.add(
                child(connection.path, "name"), f"duplicate connection name {connection.name!r} (also at {seen[scope]})"
            )
        seen.setdefault(scope, connection.path)


def _check_unique_ids(connections: list[StoredConnection], root: Node) -> None:
    for index, earlier in duplicate_ids(c.connection_id for c in connections):
        repeated = connections[index]
        root.sink.add(
            child(repeated.path, "id"), duplicate_id_message(f"at {connections[earlier].path}", repeated.connection_id)
        )
