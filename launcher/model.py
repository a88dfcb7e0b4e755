"""The data the pipeline passes around: what a manifest declares, what a backend holds, who we run as.

All frozen dataclasses. Values are kept out of `repr` so that a stray log line or a traceback never
shows a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PROJECT = "project"
COMPONENT = "component"
VISIBILITIES = (PROJECT, COMPONENT)


# ---------------------------------------------------------------- identity


@dataclass(frozen=True)
class Identity:
    """Which project, component and environment the launcher runs as."""

    project: str
    component: str
    environment: str = "development"


# ---------------------------------------------------------------- manifest side


@dataclass(frozen=True)
class ConnectionReference:
    """`dependencies.connectionReferences[i]`: injected under the default CHOREO_<NAME>_<KEY> names."""

    name: str
    resource_ref: str | None
    path: str  # where it was declared, for messages


@dataclass(frozen=True)
class EnvMapping:
    """One `from` key of a connection, injected as `to`."""

    key: str
    variable: str
    path: str


@dataclass(frozen=True)
class ServiceReference:
    """`serviceReferences[i]`: looked up by Connection ID; only the listed keys are injected."""

    name: str
    connection_id: str
    env: tuple[EnvMapping, ...]
    path: str


@dataclass(frozen=True)
class ValueSource:
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


@dataclass(frozen=True)
class EnvEntry:
    """`configurations.env[i]`."""

    variable: str
    source: ValueSource
    path: str


@dataclass(frozen=True)
class FileValue:
    """One named value inside a mounted configuration file."""

    name: str
    source: ValueSource
    path: str


@dataclass(frozen=True)
class FileEntry:
    """`configurations.file[i]` (1.2): written at mount_path/name before the service starts."""

    name: str
    mount_path: str
    file_type: str
    values: tuple[FileValue, ...]
    path: str


@dataclass(frozen=True)
class Manifest:
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


@dataclass(frozen=True)
class Parameter:
    """A connection parameter (or config value) for one environment."""

    value: str = field(repr=False)
    secret: bool = False


@dataclass(frozen=True)
class Connection:
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


@dataclass(frozen=True)
class OAuthApplication:
    """Shared OAuth client credentials for one environment."""

    app_id: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    token_url: str = field(repr=False)


@dataclass(frozen=True)
class ForeignConnection:
    """A connection the component may NOT use, known only so a refusal can say why."""

    connection_id: str
    name: str
    project: str
    component: str | None


@dataclass(frozen=True)
class Snapshot:
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


@dataclass(frozen=True)
class Origin:
    """Where an assignment came from, for `plan` and for error messages."""

    kind: str  # "connection" | "serviceReference" | "configForm" | "configGroup" | "value" | "env-file"
    detail: str  # e.g. "hr-connection.ServiceURL" or ".env"
    visibility: str = ""
    source: str = ""  # backend description


@dataclass(frozen=True)
class Assignment:
    """One variable the child will receive."""

    variable: str
    value: str = field(repr=False)
    secret: bool
    origin: Origin


@dataclass(frozen=True)
class FileOutput:
    """One configuration file to write before the child starts."""

    target: str
    content: bytes = field(repr=False)
    secret: bool
    origin: Origin


@dataclass(frozen=True)
class Plan:
    """The resolved result every command works from."""

    identity: Identity
    manifest_file: str
    assignments: tuple[Assignment, ...] = ()
    files: tuple[FileOutput, ...] = ()
    warnings: tuple[str, ...] = ()

    def variables(self) -> dict[str, str]:
        return {item.variable: item.value for item in self.assignments}
