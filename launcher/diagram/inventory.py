"""What a store holds about a project's connections, without a single value (docs/diagram.md).

The diagram and `connection show` need names, Connection IDs, types, visibility, owners, OAuth
applications and resourceRefs: never values. An `Inventory` holds exactly those; the only thing it
says about values is which keys have none in the chosen environment (names, not values).

Two ways to get one:

* a whole store (a local file, etcd): `inventory_from_store`, every connection of the project;
* any other backend (HTTP, Service Binding directories, a stack with one of them): the answer each
  given component gets (`fetch`), pieced together by `inventory_from_snapshots`. Connections no given
  component may see are known by name and owner only (the backend's `foreign` list), or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from launcher.errors import AccessDenied, ConfigurationError, LauncherError
from launcher.model import COMPONENT, PROJECT, Identity, Snapshot
from launcher.visibility import owner

if TYPE_CHECKING:
    from launcher.backends.base import Backend
    from launcher.backends.local.store_file import Store


@dataclass(frozen=True)
class ConnectionInfo:
    """One connection, as the diagram sees it: identity and shape, no values."""

    connection_id: str
    name: str
    type: str  # service | database | third-party | storage | "" (unknown: known only by name)
    visibility: str  # PROJECT | COMPONENT
    owner: str | None  # the owning component of a component connection
    oauth_app: str | None = None
    resource_ref: str | None = None
    unset_keys: tuple[str, ...] = ()  # keys with no value in the environment (and not optional)

    @property
    def scope(self) -> str:
        return self.owner or PROJECT


@dataclass(frozen=True)
class Inventory:
    """A project's connections, components and OAuth applications, as one backend knows them."""

    project: str
    source: str  # the backend's description (never with credentials)
    components: tuple[str, ...] = ()  # registered in the store
    connections: tuple[ConnectionInfo, ...] = ()
    oauth_apps: dict[str, str | None] = field(default_factory=dict)  # app ID -> owning component (None: shared)
    complete: bool = True  # False: pieced together from per-component answers
    environment: str = "development"
    warnings: tuple[str, ...] = ()


def inventory_from_store(store: Store, project: str | None, environment: str, source: str) -> Inventory:
    """Every connection of one project of a whole store (the project may be omitted when it has one)."""
    chosen = _project_of(list(store.projects), project, store.file)
    stored = store.projects[chosen]
    connections = tuple(
        ConnectionInfo(
            connection_id=c.connection_id,
            name=c.name,
            type=c.type,
            visibility=c.visibility,
            owner=owner(c.visibility, c.component),
            oauth_app=c.oauth_app,
            resource_ref=c.resource_ref,
            unset_keys=tuple(
                sorted(k for k, p in c.parameters.items() if not p.optional and p.value_for(environment) is None)
            ),
        )
        for c in stored.connections
    )
    apps = {app.app_id: app.component for app in stored.oauth_apps.values()}
    return Inventory(chosen, source, tuple(stored.components), connections, apps, True, environment)


def _project_of(projects: list[str], wanted: str | None, where: str) -> str:
    if wanted:
        if wanted not in projects:
            known = ", ".join(sorted(projects)) or "none"
            raise ConfigurationError(f"{where}: project {wanted!r} not found (projects: {known})")
        return wanted
    if len(projects) != 1:
        known = ", ".join(sorted(projects)) or "none"
        raise ConfigurationError(f"{where}: which project? pass --project (projects: {known})")
    return projects[0]


def inventory_from_snapshots(project: str, snapshots: Iterable[Snapshot], source: str, environment: str) -> Inventory:
    """What the given components were answered, merged: their own and the project's connections in
    full (still without values), other components' connections by name and owner only."""
    found: dict[str, ConnectionInfo] = {}
    components: list[str] = []
    apps: dict[str, str | None] = {}
    warnings: list[str] = []
    for snapshot in snapshots:
        components.append(snapshot.identity.component)
        warnings.extend(w for w in snapshot.warnings if w not in warnings)
        for c in snapshot.connections:
            found[c.connection_id] = ConnectionInfo(
                connection_id=c.connection_id,
                name=c.name,
                type=c.type,
                visibility=c.visibility,
                owner=owner(c.visibility, c.component),
                oauth_app=c.oauth_app,
                resource_ref=c.resource_ref,
                unset_keys=tuple(sorted(c.unset_keys - c.optional_keys)),
            )
            if c.oauth_app:
                shared = c.visibility == PROJECT or c.oauth_app not in snapshot.oauth_apps
                apps.setdefault(c.oauth_app, None if shared else c.component)
        for f in snapshot.foreign:
            if f.project == project and f.connection_id not in found:
                visibility = COMPONENT if f.component else PROJECT
                found[f.connection_id] = ConnectionInfo(f.connection_id, f.name, "", visibility, f.component)
    return Inventory(
        project, source, tuple(components), tuple(found.values()), apps, False, environment, tuple(warnings)
    )


def merge(inventories: list[Inventory]) -> Inventory:
    """Layered stores: later ones win, a connection replaced whole, by ID and by (scope, name)."""
    merged = inventories[0]
    for later in inventories[1:]:
        replaced_ids = {c.connection_id for c in later.connections}
        replaced_names = {(c.scope, c.name.lower()) for c in later.connections}
        kept = [
            c
            for c in merged.connections
            if c.connection_id not in replaced_ids and (c.scope, c.name.lower()) not in replaced_names
        ]
        merged = replace(
            merged,
            source=f"{merged.source} + {later.source}",
            components=tuple(dict.fromkeys((*merged.components, *later.components))),
            connections=(*kept, *later.connections),
            oauth_apps={**merged.oauth_apps, **later.oauth_apps},
            complete=merged.complete and later.complete,
            warnings=merged.warnings + later.warnings,
        )
    return merged


def read_inventory(
    backend: Backend, project: str | None, components: list[str], environment: str
) -> tuple[Inventory, list[str]]:
    """The inventory a backend (or a stack of them) gives, and warnings for the user.

    Whole stores are read whole; otherwise each given component's own answer is asked for.
    """
    layers = backend.layers
    if all(layer.writable for layer in layers):
        try:
            inventories = [
                inventory_from_store(layer.store_target().read(), project, environment, layer.description)
                for layer in layers
            ]
            if project is None and len({i.project for i in inventories}) > 1:
                raise ConfigurationError("the stores hold different projects: pass --project")
            return merge(inventories), []
        except LauncherError as error:
            if len(layers) == 1 and not layers[0].description.startswith("etcd"):
                raise
            warnings = [
                f"{backend.description}: cannot read the whole store ({error.problems[0]}); "
                "asking for each component's connections instead"
            ]
            inventory, more = _per_component(backend, project, components, environment)
            return inventory, warnings + more
    return _per_component(backend, project, components, environment)


def _per_component(
    backend: Backend, project: str | None, components: list[str], environment: str
) -> tuple[Inventory, list[str]]:
    warnings: list[str] = []
    snapshots: list[Snapshot] = []
    chosen = project
    for component in components:
        guessed_project, _ = backend.guess_identity(component)
        use_project = chosen or guessed_project
        if not use_project:
            raise ConfigurationError(f"{backend.description}: which project? pass --project")
        try:
            snapshots.append(backend.fetch(Identity(use_project, component, environment)))
            chosen = use_project
        except (ConfigurationError, AccessDenied) as error:
            warnings.append(f"{component}: {error.problems[0]}")
    if chosen is None:
        raise ConfigurationError(f"{backend.description}: which project? pass --project")
    return inventory_from_snapshots(chosen, snapshots, backend.description, environment), warnings
