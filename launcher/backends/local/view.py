"""A store's answer for one identity: what it may use, by the store's own visibility rules (docs/store.md).

Pure: shared by the local store (which reads the whole file) and etcd (which reads only the slice a
component's role allows, then applies the very same rules), so the two can never answer differently.
"""

from __future__ import annotations

from launcher.backends.local.store_file import ALL_ENVIRONMENTS, Store, StoredConnection, StoredParameter, StoredProject
from launcher.errors import ConfigurationError
from launcher.model import (
    Connection,
    ForeignConnection,
    Identity,
    OAuthApplication,
    Parameter,
    Snapshot,
)
from launcher.visibility import shared_with, visible_to


def store_snapshot(store: Store, identity: Identity, description: str) -> Snapshot:
    """Everything `identity` may use in `store`; `foreign` names the owners of everything else it holds."""
    project = _find_project(store, identity)
    visible = [c for c in project.connections if visible_to(identity, c.project, c.component)]
    foreign = [c for c in store.all_connections() if not visible_to(identity, c.project, c.component)]
    component = project.components.get(identity.component)
    groups = {**_env_group(store.config_groups, identity), **_env_group(project.config_groups, identity)}
    return Snapshot(
        identity=identity,
        backend=description,
        connections=tuple(_connection_view(c, identity.environment) for c in visible),
        oauth_apps=_oauth_views(project, identity),
        config_groups=groups,
        config_form=_env_parameters(
            component.config_form.get(identity.environment, {}) if component else {}, identity.environment
        ),
        file_values=dict(component.files.get(identity.environment, {})) if component else {},
        foreign=tuple(ForeignConnection(c.connection_id, c.name, c.project, c.component) for c in foreign),
        warnings=store.warnings,
    )


def _find_project(store: Store, identity: Identity) -> StoredProject:
    project = store.projects.get(identity.project)
    if project is None:
        known = ", ".join(sorted(store.projects)) or "none"
        raise ConfigurationError(f"{store.file}: project {identity.project!r} not found (projects: {known})")
    if identity.component not in project.components:
        known = ", ".join(sorted(project.components)) or "none"
        raise ConfigurationError(
            f"{store.file}: component {identity.component!r} not found in project "
            f"{identity.project!r} (components: {known})"
        )
    return project


def _connection_view(connection: StoredConnection, environment: str) -> Connection:
    # One pass over the parameters (a launch may view a thousand connections): the values for
    # `environment` (as _env_parameters), the optional keys and the keys without a value.
    parameters: dict[str, Parameter] = {}
    optional: list[str] = []
    unset: list[str] = []
    for key, parameter in connection.parameters.items():
        values = parameter.values
        value = values.get(environment, values.get(ALL_ENVIRONMENTS))  # StoredParameter.value_for
        if value is None:
            unset.append(key)
        else:
            parameters[key] = Parameter(value, parameter.secret)
        if parameter.optional:
            optional.append(key)
    return Connection(  # positional, in the record's field order: a third cheaper than by keyword
        connection.connection_id,
        connection.name,
        connection.type,
        connection.visibility,
        connection.project,
        connection.component,
        parameters,
        connection.oauth_app,
        connection.resource_ref,
        frozenset(optional) if optional else _NONE,  # optional_keys
        frozenset(unset) if unset else _NONE,  # unset_keys
    )


_NONE: frozenset[str] = frozenset()  # most connections have neither optional nor unset keys: one shared empty set


def _env_parameters(parameters: dict[str, StoredParameter], environment: str) -> dict[str, Parameter]:
    """The values for one environment; parameters without one are left out."""
    return {
        key: Parameter(value, parameter.secret)
        for key, parameter in parameters.items()
        if (value := parameter.value_for(environment)) is not None
    }


def _env_group(groups: dict[str, dict[str, StoredParameter]], identity: Identity) -> dict[str, dict[str, Parameter]]:
    return {name: _env_parameters(parameters, identity.environment) for name, parameters in groups.items()}


def _oauth_views(project: StoredProject, identity: Identity) -> dict[str, OAuthApplication]:
    """The project's shared application and the component's own, for one environment; no others."""
    views = {}
    for app in project.oauth_apps.values():
        if not shared_with(app.component, identity.component):
            continue
        values = app.environments.get(identity.environment)
        if values:
            views[app.app_id] = OAuthApplication(
                app.app_id, values["clientId"], values["clientSecret"], values["tokenUrl"]
            )
    return views
