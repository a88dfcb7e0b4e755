"""The data the pipeline passes around: what a manifest declares, what a backend holds, who we run as.

All records (launcher.records: immutable, compared by value, no `dataclasses` at start-up). Values
are kept out of `repr` so that a stray log line or a traceback never shows a secret.
"""

from __future__ import annotations

from launcher.records import Record, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

PROJECT = "project"
COMPONENT = "component"
VISIBILITIES = (PROJECT, COMPONENT)


# ---------------------------------------------------------------- identity


class Identity(Record):
    """Which project, component and environment the launcher runs as."""

    project: str
    component: str
    environment: str = "development"


# ---------------------------------------------------------------- manifest side


class ConnectionReference(Record):
    """`dependencies.connectionReferences[i]`: injected under the default CHOREO_<NAME>_<KEY> names."""

    name: str
    resource_ref: str | None
    path: str  # where it was declared, for messages


class EnvMapping(Record):
    """One `from` key of a connection, injected as `to`."""

    key: str
    variable: str
    path: str


class ServiceReference(Record):
    """`serviceReferences[i]`: looked up by Connection ID; only the listed keys are injected."""

    name: str
    connection_id: str
    env: tuple[EnvMapping, ...]
    path: str


class ValueSource(Record):
    """Where one configuration value comes from: exactly one of the four kinds."""

    kind: str  # "value" | "connectionRef" | "configGroupRef" | "configForm"
    literal: Any = field(default=None, repr=False)
    ref_name: str | None = None  # connection or config group name
    ref_key: str | None = None
    form: dict[str, Any] = field(default_factory=dict)  # configForm attributes (type, required, default)
    path: str = ""

    @property
    def required(self) -> bool:
        return bool(self.form.get("required", True)) if self.kind == "configForm" else True

    @property
    def secret(self) -> bool:
        return self.kind == "configForm" and self.form.get("type") == "secret"


class EnvEntry(Record):
    """`configurations.env[i]`."""

    variable: str
    source: ValueSource
    path: str


class FileValue(Record):
    """One named value inside a mounted configuration file."""

    name: str
    source: ValueSource
    path: str


class FileEntry(Record):
    """`configurations.file[i]` (1.2): written at mount_path/name before the service starts."""

    name: str
    mount_path: str
    file_type: str
    values: tuple[FileValue, ...]
    path: str


class Manifest(Record):
    """Everything a component declares that the launcher acts on."""

    file: str
    kind: str  # "component.yaml" | "component-config.yaml" | "endpoints.yaml"
    schema_version: str
    connection_references: tuple[ConnectionReference, ...] = ()
    service_references: tuple[ServiceReference, ...] = ()
    env: tuple[EnvEntry, ...] = ()
    files: tuple[FileEntry, ...] = ()
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- backend side


class Parameter(Record):
    """A connection parameter (or config value) for one environment."""

    value: str = field(repr=False)
    secret: bool = False


class Connection(Record):
    """A connection as visible to one component in one environment."""

    connection_id: str
    name: str
    type: str  # "service" | "database" | "third-party" | other provider types
    visibility: str  # PROJECT | COMPONENT
    project: str
    component: str | None  # owner, for component connections
    parameters: dict[str, Parameter] = field(default_factory=dict, repr=False)
    oauth_app: str | None = None
    resource_ref: str | None = None
    optional_keys: frozenset[str] = frozenset()  # may be absent without failing the launch
    unset_keys: frozenset[str] = frozenset()  # defined, but with no value in this environment


def duplicate_ids(connection_ids: Iterable[str]) -> list[tuple[int, int]]:
    """Connection IDs are unique: serviceReferences and layering look connections up by ID.

    (index, index of the first with the same ID) for every ID already taken, in order.
    """
    first: dict[str, int] = {}
    repeats = []
    for index, connection_id in enumerate(connection_ids):
        earlier = first.setdefault(connection_id, index)
        if earlier != index:
            repeats.append((index, earlier))
    return repeats


def duplicate_id_message(earlier: str, connection_id: str | None = None) -> str:
    """The problem reported at a repeated ID; `earlier` says where the first one is (`at <path>`).
    Without `connection_id` the message names no value (the HTTP contract's messages never do)."""
    shown = f" {connection_id!r}" if connection_id is not None else ""
    return f"duplicate Connection ID{shown} (also {earlier})"


class OAuthApplication(Record):
    """Shared OAuth client credentials for one environment."""

    app_id: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    token_url: str = field(repr=False)


class ForeignConnection(Record):
    """A connection the component may NOT use, known only so a refusal can say why."""

    connection_id: str
    name: str
    project: str
    component: str | None


class Snapshot(Record):
    """What one backend answered for (project, component, environment): all the component may use."""

    identity: Identity
    backend: str  # a description of the source, for `plan` and messages (never with credentials)
    connections: tuple[Connection, ...] = ()
    oauth_apps: dict[str, OAuthApplication] = field(default_factory=dict, repr=False)
    config_groups: dict[str, dict[str, Parameter]] = field(default_factory=dict, repr=False)
    config_form: dict[str, Parameter] = field(default_factory=dict, repr=False)
    file_values: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    foreign: tuple[ForeignConnection, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a store file other users can read


# ---------------------------------------------------------------- resolution result


class Origin(Record):
    """Where an assignment came from, for `plan` and for error messages."""

    kind: str  # "connection" | "serviceReference" | "configForm" | "configGroup" | "value" | "env-file"
    detail: str  # e.g. "hr-connection.ServiceURL" or ".env"
    visibility: str = ""
    source: str = ""  # backend description


class Assignment(Record):
    """One variable the child will receive."""

    variable: str
    value: str = field(repr=False)
    secret: bool
    origin: Origin


class FileOutput(Record):
    """One configuration file to write before the child starts."""

    target: str
    content: bytes = field(repr=False)
    secret: bool
    origin: Origin


class Plan(Record):
    """The resolved result every command works from."""

    identity: Identity
    manifest_file: str
    assignments: tuple[Assignment, ...] = ()
    files: tuple[FileOutput, ...] = ()
    warnings: tuple[str, ...] = ()

    def variables(self) -> dict[str, str]:
        return {item.variable: item.value for item in self.assignments}
