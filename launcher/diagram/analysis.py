"""Who uses which connection, and what it points at: the one analysis behind `diagram` and
`connection show` (docs/diagram.md).

Pure: manifests (what each component references) + an inventory (what the store holds, no values)
-> a `ProjectDiagram`. A use is found the way a launch finds it: `connectionReferences` and
`valueFrom.connectionRef` by name (the component's own connection first, then the project's),
`serviceReferences` by Connection ID; a reference the launch would refuse is flagged with the
launch's reason (missing from the store, or another component's connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from launcher.diagram.inventory import ConnectionInfo, Inventory
from launcher.model import COMPONENT, PROJECT, Manifest
from launcher.visibility import own_first, shared_with

# Where a component node came from.
REPOSITORY = "repository"  # a given directory with a manifest
STORE_ONLY = "store"  # registered in the store, no directory given
REFERENCED = "referenced"  # named only by a resourceRef of the project
UNKNOWN_TYPE = "component"

# Target kinds, in the order the diagram groups them.
TARGET_KINDS = ("component", "service", "third-party", "database", "storage", "unknown")

# Use statuses.
OK = "ok"
MISSING = "missing"  # referenced, not in the store
NOT_VISIBLE = "not-visible"  # another component's connection: the launch refuses it (exit 77)
UNUSED = "unused"  # in the store, no given manifest references it
UNCHECKED = "unchecked"  # its owner's manifest was not given: usage unknown
PROJECT_CARD = "(project)"  # the card that holds project connections nobody given uses


@dataclass(frozen=True)
class Endpoint:
    name: str
    type: str
    port: str
    visibilities: tuple[str, ...]


@dataclass(frozen=True)
class ComponentSource:
    """One component as read from its directory: its manifest (or why it could not be read) and type."""

    name: str
    directory: str | None
    manifest: Manifest | None
    type: str = UNKNOWN_TYPE
    type_source: str = "not declared in the repository"
    endpoints: tuple[Endpoint, ...] = ()
    problem: str | None = None  # the manifest could not be read


@dataclass(frozen=True)
class ComponentNode:
    key: str
    name: str
    type: str
    type_source: str
    origin: str  # REPOSITORY | STORE_ONLY | REFERENCED
    directory: str | None = None
    manifest: str | None = None
    endpoints: tuple[Endpoint, ...] = ()
    problems: tuple[str, ...] = ()
    registered: bool = True  # known to the store


@dataclass(frozen=True)
class TargetNode:
    key: str
    kind: str  # one of TARGET_KINDS
    label: str
    detail: str  # the resourceRef, or why there is none
    internal: bool = False  # a component of the project (then `key` is the component's key)


@dataclass(frozen=True)
class Use:
    """One edge: a component (or the project card) -> a connection -> its target."""

    source: str  # component key
    name: str  # the connection's name (or the reference's, when missing)
    target: str  # target key
    status: str  # OK | MISSING | NOT_VISIBLE | UNUSED | UNCHECKED
    connection: ConnectionInfo | None = None
    references: tuple[str, ...] = ()  # manifest paths that reference it
    endpoint_visibility: str = ""  # PROJECT, PUBLIC, ORGANIZATION from a service resourceRef
    note: str = ""  # the reason for a flag

    @property
    def visibility(self) -> str:
        return self.connection.visibility if self.connection else ""


@dataclass(frozen=True)
class ConnectionSummary:
    info: ConnectionInfo
    target: str
    users: tuple[str, ...]  # component names whose manifests use it
    flags: tuple[str, ...]  # unused, incomplete in ENV, unchecked, ...
    oauth_shared_with: tuple[str, ...] = ()  # other connections using the same OAuth application


@dataclass(frozen=True)
class OAuthSummary:
    app_id: str
    owner: str | None  # None: the project's shared application
    connections: tuple[str, ...]
    components: tuple[str, ...]  # components affected by rotating its secret

    @property
    def shared(self) -> bool:
        return self.owner is None or len(self.connections) > 1


@dataclass
class ProjectDiagram:
    project: str
    environment: str
    source: str
    complete: bool
    components: list[ComponentNode] = field(default_factory=list)
    targets: list[TargetNode] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)
    connections: list[ConnectionSummary] = field(default_factory=list)
    oauth_apps: list[OAuthSummary] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def component(self, key: str) -> ComponentNode | None:
        return next((c for c in self.components if c.key == key), None)

    def target(self, key: str) -> TargetNode | None:
        return next((t for t in self.targets if t.key == key), None)

    def users_of(self, connection_id: str) -> list[Use]:
        return [u for u in self.uses if u.connection and u.connection.connection_id == connection_id]

    def problems(self) -> list[Use]:
        return [u for u in self.uses if u.status in (MISSING, NOT_VISIBLE)]


def component_key(name: str) -> str:
    return f"c:{name}"


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class _Ref:
    kind: str
    project: str | None
    name: str
    detail: str
    endpoint_visibility: str = ""


def parse_ref(ref: str | None) -> _Ref | None:
    """A resourceRef (`service:/p/c/v1/ep/VIS`, `database:srv/db`, `thirdparty:n/v1`, `storage:n`) or a
    serviceReference name (`choreo:///org/p/c/ep/v1/VIS`, `database:x`); None when it says nothing."""
    if not ref:
        return None
    if ref.startswith("service:"):
        parts = [p for p in ref[len("service:") :].split("/") if p]
        if len(parts) >= 2:
            return _Ref("service", parts[0], parts[1], ref, parts[-1] if len(parts) >= 5 else "")
        return _Ref("service", None, parts[0] if parts else ref, ref)
    if ref.startswith("choreo:///"):
        parts = [p for p in ref[len("choreo:///") :].split("/") if p]
        if len(parts) >= 3:
            return _Ref("service", parts[1], parts[2], ref, parts[-1] if len(parts) >= 6 else "")
        return None
    for prefix, kind in (("database:", "database"), ("thirdparty:", "third-party"), ("storage:", "storage")):
        if ref.startswith(prefix):
            name = ref[len(prefix) :].strip("/") or ref
            if kind == "third-party":
                name = name.split("/")[0]
            return _Ref(kind, None, name, ref)
    return None


class _Targets:
    def __init__(self, project: str, components: dict[str, ComponentNode]) -> None:
        self.project = project
        self.components = components
        self.nodes: dict[str, TargetNode] = {}

    def for_ref(self, ref: _Ref | None, fallback_kind: str, fallback_name: str) -> tuple[str, str]:
        """(target key, endpoint visibility) for a parsed reference, or for a connection with none."""
        if ref is None:
            kind = fallback_kind if fallback_kind in TARGET_KINDS else "unknown"
            key = f"{kind}:?{fallback_name}"
            detail = "no resourceRef: the target is not named"
            return self._add(TargetNode(key, kind, fallback_name, detail)), ""
        if ref.kind == "service" and ref.project is not None and ref.project.lower() == self.project.lower():
            key = component_key(ref.name)
            if key not in self.components:
                self.components[key] = ComponentNode(
                    key,
                    ref.name,
                    "service",
                    "a service: other components connect to it (resourceRef)",
                    REFERENCED,
                    registered=False,
                )
            return self._add(TargetNode(key, "component", ref.name, ref.detail, internal=True)), ref.endpoint_visibility
        if ref.kind == "service":
            label = f"{ref.project}/{ref.name}" if ref.project else ref.name
            return self._add(TargetNode(f"service:{label}", "service", label, ref.detail)), ref.endpoint_visibility
        return self._add(TargetNode(f"{ref.kind}:{ref.name}", ref.kind, ref.name, ref.detail)), ""

    def _add(self, node: TargetNode) -> str:
        self.nodes.setdefault(node.key, node)
        return node.key


# ---------------------------------------------------------------- the analysis


def analyze(inventory: Inventory, sources: list[ComponentSource]) -> ProjectDiagram:
    """The diagram of one project: every given component, every connection of the inventory."""
    diagram = ProjectDiagram(inventory.project, inventory.environment, inventory.source, inventory.complete)
    diagram.warnings.extend(inventory.warnings)
    components: dict[str, ComponentNode] = {}
    for source in sources:
        key = component_key(source.name)
        problems: tuple[str, ...] = (source.problem,) if source.problem else ()
        registered = source.name in inventory.components
        if not registered and inventory.complete:
            problems += (f"not registered in the store's project {inventory.project!r}: a launch would fail",)
        components[key] = ComponentNode(
            key,
            source.name,
            source.type,
            source.type_source,
            REPOSITORY,
            source.directory,
            source.manifest.file if source.manifest else None,
            source.endpoints,
            problems,
            registered,
        )
    for name in inventory.components:
        components.setdefault(
            component_key(name),
            ComponentNode(
                component_key(name),
                name,
                UNKNOWN_TYPE,
                "registered in the store; no directory given",
                STORE_ONLY,
            ),
        )
    targets = _Targets(inventory.project, components)
    target_of: dict[str, tuple[str, str]] = {}
    for info in inventory.connections:
        fallback = info.type or "unknown"
        target_of[info.connection_id] = targets.for_ref(parse_ref(info.resource_ref), fallback, info.name)

    used: dict[str, list[str]] = {}
    for source in sources:
        if source.manifest is None:
            continue
        for use in _uses_of(source, inventory, targets, target_of):
            diagram.uses.append(use)
            if use.connection and use.status == OK:
                used.setdefault(use.connection.connection_id, []).append(source.name)

    with_manifest = {s.name for s in sources if s.manifest is not None}
    for info in inventory.connections:
        if info.connection_id in used:
            continue
        if info.owner is not None and info.owner not in with_manifest:
            status, note = UNCHECKED, f"{info.owner}'s manifest was not given: usage unknown"
            source_key = component_key(info.owner)
        else:
            status, note = UNUSED, "no given manifest references it"
            source_key = component_key(info.owner) if info.owner else PROJECT_CARD
        key, visibility = target_of[info.connection_id]
        diagram.uses.append(Use(source_key, info.name, key, status, info, (), visibility, note))

    diagram.oauth_apps = _oauth_summaries(inventory, used)
    shared_by = {app.app_id: app for app in diagram.oauth_apps}
    for info in inventory.connections:
        users = tuple(dict.fromkeys(used.get(info.connection_id, [])))
        flags = []
        if not users:
            unchecked = info.owner is not None and info.owner not in with_manifest
            flags.append("usage unknown (owner's manifest not given)" if unchecked else "unused")
        if info.unset_keys:
            flags.append(f"no value in {inventory.environment} for {', '.join(info.unset_keys)}")
        if info.oauth_app and info.oauth_app not in inventory.oauth_apps and inventory.complete:
            flags.append(f"OAuth application {info.oauth_app!r} missing")
        app = shared_by.get(info.oauth_app or "")
        others = tuple(c for c in app.connections if c != info.name) if app else ()
        diagram.connections.append(
            ConnectionSummary(info, target_of[info.connection_id][0], users, tuple(flags), others)
        )

    diagram.components = sorted(components.values(), key=_component_order)
    diagram.targets = sorted(targets.nodes.values(), key=lambda t: (TARGET_KINDS.index(t.kind), t.label.lower()))
    if not inventory.complete:
        diagram.warnings.append(
            f"{inventory.source} answers per component: connections no given component may use are shown "
            "by name only, or not at all"
        )
    return diagram


def _component_order(node: ComponentNode) -> tuple[int, str]:
    return ((REPOSITORY, STORE_ONLY, REFERENCED).index(node.origin), node.name.lower())


def _uses_of(
    source: ComponentSource, inventory: Inventory, targets: _Targets, target_of: dict[str, tuple[str, str]]
) -> list[Use]:
    """The connections one manifest references, each once, with every path that references it."""
    manifest = source.manifest
    assert manifest is not None
    by_name: dict[str, list[str]] = {}
    refs: dict[str, str | None] = {}
    for reference in manifest.connection_references:
        by_name.setdefault(reference.name, []).append(reference.path)
        refs.setdefault(reference.name, reference.resource_ref)
    for entry in manifest.env:
        if entry.source.kind == "connectionRef" and entry.source.ref_name:
            by_name.setdefault(entry.source.ref_name, []).append(entry.path)
    for file_entry in manifest.files:
        for value in file_entry.values:
            if value.source.kind == "connectionRef" and value.source.ref_name:
                by_name.setdefault(value.source.ref_name, []).append(value.path)

    key = component_key(source.name)
    uses: list[Use] = []
    for name, paths in by_name.items():
        mine = own_first(
            [c for c in inventory.connections if c.name == name and shared_with(c.owner, source.name) and c.type]
        )
        if mine:
            info = mine[0]
            target, visibility = target_of[info.connection_id]
            uses.append(Use(key, name, target, OK, info, tuple(paths), visibility))
            continue
        foreign = [c for c in inventory.connections if c.name == name]
        target, visibility = targets.for_ref(parse_ref(refs.get(name)), "unknown", name)
        if foreign:
            info = foreign[0]
            target, visibility = target_of[info.connection_id]
            note = f"a component connection of {info.owner!r}: only that component may use it"
            uses.append(Use(key, name, target, NOT_VISIBLE, info, tuple(paths), visibility, note))
        else:
            note = f"no connection named {name!r} in {source.name!r} or the project"
            uses.append(Use(key, name, target, MISSING, None, tuple(paths), visibility, note))
    for service_reference in manifest.service_references:
        found = [c for c in inventory.connections if c.connection_id == service_reference.connection_id]
        if found and shared_with(found[0].owner, source.name):
            info = found[0]
            target, visibility = target_of[info.connection_id]
            uses.append(Use(key, info.name, target, OK, info, (service_reference.path,), visibility))
            continue
        if found:
            info = found[0]
            target, visibility = target_of[info.connection_id]
            note = f"a component connection of {info.owner!r}: only that component may use it"
            uses.append(Use(key, info.name, target, NOT_VISIBLE, info, (service_reference.path,), visibility, note))
            continue
        label = service_reference.name or service_reference.connection_id
        target, visibility = targets.for_ref(parse_ref(service_reference.name), "unknown", label)
        note = f"no connection with ID {service_reference.connection_id} in the store"
        uses.append(Use(key, label, target, MISSING, None, (service_reference.path,), visibility, note))
    return _merge_same_connection(uses)


def _merge_same_connection(uses: list[Use]) -> list[Use]:
    """A connection referenced by name and by ID is one use, with both paths."""
    merged: dict[str, Use] = {}
    for use in uses:
        ident = use.connection.connection_id if use.connection else f"?{use.name}"
        if ident in merged:
            earlier = merged[ident]
            merged[ident] = Use(
                earlier.source,
                earlier.name,
                earlier.target,
                earlier.status,
                earlier.connection,
                earlier.references + use.references,
                earlier.endpoint_visibility,
                earlier.note,
            )
        else:
            merged[ident] = use
    return list(merged.values())


def _oauth_summaries(inventory: Inventory, used: dict[str, list[str]]) -> list[OAuthSummary]:
    apps: dict[str, list[ConnectionInfo]] = {app: [] for app in inventory.oauth_apps}
    for info in inventory.connections:
        if info.oauth_app:
            apps.setdefault(info.oauth_app, []).append(info)
    summaries = []
    for app_id, infos in sorted(apps.items()):
        components = sorted({user for info in infos for user in used.get(info.connection_id, [])})
        summaries.append(
            OAuthSummary(
                app_id,
                inventory.oauth_apps.get(app_id, infos[0].owner if infos else None),
                tuple(info.name for info in infos),
                tuple(components),
            )
        )
    return summaries


def visibility_label(visibility: str) -> str:
    return {PROJECT: "project connection", COMPONENT: "component connection"}.get(visibility, "unknown visibility")
