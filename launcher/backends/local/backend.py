"""The embedded default backend: a local store file (docs/store.md).

It holds every project, so besides what the component may use it can name the owner of what it
may not, which lets the resolver refuse a cross-boundary reference with a precise reason.
"""

from __future__ import annotations

import os

from launcher.backends import BackendSettings
from launcher.errors import ConfigurationError
from launcher.model import (
    COMPONENT,
    Connection,
    ForeignConnection,
    Identity,
    OAuthApplication,
    Parameter,
    Snapshot,
)
from launcher.backends.local.store_file import Store, StoredConnection, StoredParameter, StoredProject, parse_store
from launcher.yamlfile import describe_file, load_yaml_file


class LocalStore:
    """A store file read once per launch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"file:{describe_file(path)}"
        self._store: Store | None = None
        self._stamp: tuple[int, ...] | None = None

    def load(self) -> Store:
        """The parsed store; parsed again only when the file changed (--watch fetches repeatedly)."""
        from launcher.launch.fastpath import stamp

        current = stamp(self.path)
        if self._store is None or current != self._stamp:
            shown = describe_file(self.path)
            data = load_yaml_file(self.path, ConfigurationError, ConfigurationError)
            self._store, self._stamp = parse_store(data, shown), current
        return self._store

    def fetch(self, identity: Identity) -> Snapshot:
        store = self.load()
        project = _find_project(store, identity)
        visible = [c for c in project.connections if _visible_to(c, identity)]
        foreign = [c for c in store.all_connections() if not _visible_to(c, identity)]
        component = project.components.get(identity.component)
        groups = {**_env_group(store.config_groups, identity), **_env_group(project.config_groups, identity)}
        return Snapshot(
            identity=identity,
            backend=self.description,
            connections=tuple(_connection_view(c, identity.environment) for c in visible),
            oauth_apps=_oauth_views(project, identity),
            config_groups=groups,
            config_form=_env_parameters(component.config_form.get(identity.environment, {}) if component else {},
                                        identity.environment),
            file_values=dict(component.files.get(identity.environment, {})) if component else {},
            foreign=tuple(ForeignConnection(c.connection_id, c.name, c.project, c.component) for c in foreign),
            warnings=store.warnings + _permission_warnings(self.path, store),
        )

    def watched_paths(self) -> list[str]:
        """What --watch stamps to notice a change."""
        return [self.path]

    def guess_identity(self, directory_name: str) -> tuple[str | None, str | None]:
        """The store's only project, and its component named like the directory (or its only one)."""
        projects = list(self.load().projects.values())
        if len(projects) != 1:
            return None, None
        components = list(projects[0].components)
        if directory_name in components:
            return projects[0].name, directory_name
        return projects[0].name, components[0] if len(components) == 1 else None


def open_local(url: str, settings: BackendSettings) -> LocalStore:
    path = url.split("://", 1)[1] if url.startswith("file://") else url
    return LocalStore(os.path.expanduser(path))


def _permission_warnings(path: str, store: Store) -> tuple[str, ...]:
    """A store holding secret values should be readable by its owner only."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ()
    holds_secrets = any(p.secret for c in store.all_connections() for p in c.parameters.values())
    if mode & 0o077 and holds_secrets and not store.example_values:
        return (f"{store.file}: holds secret values and is readable by other users (mode {mode & 0o777:o}); "
                f"run chmod 600 {store.file}",)
    return ()


def _find_project(store: Store, identity: Identity) -> StoredProject:
    project = store.projects.get(identity.project)
    if project is None:
        known = ", ".join(sorted(store.projects)) or "none"
        raise ConfigurationError(f"{store.file}: project {identity.project!r} not found (projects: {known})")
    if identity.component not in project.components:
        known = ", ".join(sorted(project.components)) or "none"
        raise ConfigurationError(f"{store.file}: component {identity.component!r} not found in project "
                                 f"{identity.project!r} (components: {known})")
    return project


def _visible_to(connection: StoredConnection, identity: Identity) -> bool:
    if connection.project != identity.project:
        return False
    return connection.visibility != COMPONENT or connection.component == identity.component


def _connection_view(connection: StoredConnection, environment: str) -> Connection:
    return Connection(
        connection_id=connection.connection_id,
        name=connection.name,
        type=connection.type,
        visibility=connection.visibility,
        project=connection.project,
        component=connection.component,
        parameters=_env_parameters(connection.parameters, environment),
        oauth_app=connection.oauth_app,
        resource_ref=connection.resource_ref,
        optional_keys=frozenset(k for k, p in connection.parameters.items() if p.optional),
        unset_keys=frozenset(k for k, p in connection.parameters.items() if p.value_for(environment) is None),
    )


def _env_parameters(parameters: dict[str, StoredParameter], environment: str) -> dict[str, Parameter]:
    """The values for one environment; parameters without one are left out."""
    return {key: Parameter(value, parameter.secret)
            for key, parameter in parameters.items()
            if (value := parameter.value_for(environment)) is not None}


def _env_group(groups: dict[str, dict[str, StoredParameter]], identity: Identity) -> dict[str, dict[str, Parameter]]:
    return {name: _env_parameters(parameters, identity.environment) for name, parameters in groups.items()}


def _oauth_views(project: StoredProject, identity: Identity) -> dict[str, OAuthApplication]:
    """The project's shared application and the component's own, for one environment; no others."""
    views = {}
    for app in project.oauth_apps.values():
        if app.component not in (None, identity.component):
            continue
        values = app.environments.get(identity.environment)
        if values:
            views[app.app_id] = OAuthApplication(app.app_id, values["clientId"], values["clientSecret"],
                                                 values["tokenUrl"])
    return views
