"""Kubernetes Service Binding directories as a read-only backend (docs/backends/servicebinding.md).

A cluster that implements servicebinding.io projects each binding as a directory
`$SERVICE_BINDING_ROOT/<name>/` with a `type` entry, an optional `provider` and one file per value.
Each directory becomes a component connection of whichever component runs, so a manifest written
for Choreo runs unchanged where the values arrive as files. Nothing here ever writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from launcher.backends.base import Backend, BackendSettings
from launcher.backends.url import BackendURL, parse_backend_url
from launcher.documents.yamlfile import describe_file
from launcher.errors import ConfigurationError, Problem
from launcher.files.reading import DIRECTORY, MISSING, TOO_LARGE, FileRefused, read_small_file
from launcher.keys import NON_SECRET, SECRET_BY_DEFAULT, SPELLINGS, plain
from launcher.model import COMPONENT, Connection, Identity, Parameter, Snapshot, duplicate_id_message, duplicate_ids
from launcher.naming import connection_name_problem

ROOT_VARIABLE = "SERVICE_BINDING_ROOT"
SCHEME = "servicebinding"
# Linux refuses one environment string over 128 KiB (MAX_ARG_STRLEN) at exec: a bigger entry could
# never reach the service, so it is refused here, where the message can name the file.
MAX_ENTRY_BYTES = 64 * 1024
DATA_LINK = "..data"  # Kubernetes' atomic-update link; visible entries are symlinks through it
READ_ATTEMPTS = 3  # re-reads when a rotation swaps `..data` in the middle of a read

# Entries that describe the binding rather than hold a value: never injected.
METADATA = frozenset({"type", "provider", "connectionid"})
DATABASE_TYPES = frozenset(
    {
        "postgresql",
        "postgres",
        "mysql",
        "mariadb",
        "sqlserver",
        "oracle",
        "db2",
        "mongodb",
        "redis",
        "cassandra",
        "couchbase",
        "couchdb",
        "neo4j",
        "cockroachdb",
        "influxdb",
    }
)
SERVICE_TYPES = frozenset({"service", "http", "https", "rest", "openapi", "grpc"})
# Choreo key <- binding entry names (launcher.keys.SPELLINGS, plain form), the first present one wins.
# Only SPELLINGS: the manifest-only aliases (`apikey`) do not apply, so a binding's `api-key` keeps its name.
# A database's `uri` is a connection string, not a service URL: mapped for the other types only.
KEY_MAP = tuple(entry for entry in SPELLINGS if entry[0] != "ServiceURL")
URL_MAP = next(entry for entry in SPELLINGS if entry[0] == "ServiceURL")
# Entries not named in launcher.keys.NON_SECRET are secret (a `uri`/`url` may carry user:password@).


@dataclass(frozen=True)
class Binding:
    """One binding directory as read: its name, where it is, and its entries' text."""

    name: str
    shown: str  # the directory as messages show it
    entries: dict[str, str] = field(repr=False)  # entry file name -> content (one trailing newline dropped)


class ServiceBindings(Backend):
    """A servicebinding.io root, read again on every fetch (bindings rotate in place). Read-only."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.description = f"{SCHEME}:{describe_file(root)}"

    @classmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> ServiceBindings:
        return cls(bindings_root(url, os.environ))

    def watched_paths(self) -> list[str]:
        """What --watch stamps: the root and each binding (Kubernetes swaps a `..data` link on rotation)."""
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return [self.root]
        bindings = [os.path.join(self.root, name) for name in names if not name.startswith(".")]
        return [self.root, *(path for binding in bindings for path in _binding_paths(binding))]

    def fetch(self, identity: Identity) -> Snapshot:
        bindings, warnings = read_root(self.root, self.description)
        connections = tuple(binding_connection(binding, identity) for binding in bindings)
        _check_unique_ids(connections, bindings, self.description)
        return Snapshot(identity, self.description, connections, warnings=tuple(warnings))


def _binding_paths(binding: str) -> list[str]:
    """A binding directory, its Kubernetes `..data` link and its entries, for stamping."""
    try:
        entries = sorted(name for name in os.listdir(binding) if not name.startswith("."))
    except OSError:
        return [binding]
    return [binding, os.path.join(binding, "..data"), *(os.path.join(binding, name) for name in entries)]


def open_bindings(url: str, settings: BackendSettings) -> ServiceBindings:
    return ServiceBindings.from_url(parse_backend_url(url), settings)


def bindings_root(url: str | BackendURL, environ: dict[str, str] | os._Environ) -> str:
    """The directory a `servicebinding:` URL names; `$SERVICE_BINDING_ROOT` when it names none.

    `servicebinding://PATH` takes PATH literally, as `file://PATH` does (so `///abs` is absolute);
    `servicebinding:PATH` is the same without the slashes.
    """
    parsed = parse_backend_url(url) if isinstance(url, str) else url
    path = parsed.rest  # the same for `servicebinding://PATH` and `servicebinding:PATH`
    if parsed.scheme != SCHEME or "?" in path or "#" in path:
        raise ConfigurationError(f"backend URL {parsed.shown!r}: expected servicebinding:[//]PATH or servicebinding:")
    if path:
        return os.path.expanduser(path)
    root = environ.get(ROOT_VARIABLE, "")
    if not root:
        raise ConfigurationError(
            f"backend URL {parsed.shown!r} names no directory and ${ROOT_VARIABLE} is not set: "
            f"set it, or give the directory (servicebinding:///bindings)"
        )
    return root


# ---------------------------------------------------------------- reading the directories


def read_root(root: str, description: str) -> tuple[list[Binding], list[str]]:
    """Every binding under `root`, sorted by name; every problem in any of them raised at once."""
    problems: list[Problem] = []
    warnings: list[str] = []
    bindings = []
    for name in _binding_names(root, description):
        shown = describe_file(os.path.join(root, name))
        invalid = connection_name_problem(name)
        if invalid:
            warnings.append(f"{shown}: binding {name!r} is not a valid connection name ({invalid}); skipped")
            continue
        bindings.append(_checked_binding(os.path.join(root, name), name, shown, problems, warnings))
    if problems:
        raise ConfigurationError(problems)
    return bindings, warnings


def _checked_binding(directory: str, name: str, shown: str, problems: list[Problem], warnings: list[str]) -> Binding:
    found: list[Problem] = []
    binding = Binding(name, shown, read_binding(directory, shown, found, warnings))
    if not found:  # a missing `type` is only worth saying when every entry could be read
        _check_metadata(binding, found)
    problems.extend(found)
    return binding


def _binding_names(root: str, description: str) -> list[str]:
    """Sub-directories of the root; files and dot-names there are not bindings and are passed over."""
    try:
        with os.scandir(root) as listing:
            return sorted(e.name for e in listing if not e.name.startswith(".") and e.is_dir())
    except FileNotFoundError:
        raise ConfigurationError(f"{description}: no such directory") from None
    except NotADirectoryError:
        raise ConfigurationError(f"{description}: not a directory") from None
    except OSError as error:
        raise ConfigurationError(f"{description}: cannot list: {error.strerror}") from None


def read_binding(directory: str, shown: str, problems: list[Problem], warnings: list[str]) -> dict[str, str]:
    """The entries of one binding, read through one resolution of `..data` so that values are consistent.

    Kubernetes rotates a projected secret by writing a new hidden directory and swapping `..data`;
    if the link moved while we read, the read is repeated rather than mixing old and new values.
    """
    for _ in range(READ_ATTEMPTS):
        source = _entry_source(directory)
        found: list[Problem] = []
        seen: list[str] = []
        entries = _read_entries(source, shown, found, seen)
        if _entry_source(directory) == source:
            break
    problems.extend(found)
    warnings.extend(seen)
    return entries


def _entry_source(directory: str) -> str:
    data = os.path.join(directory, DATA_LINK)
    return os.path.realpath(data) if os.path.isdir(data) else directory


def _read_entries(source: str, shown: str, problems: list[Problem], warnings: list[str]) -> dict[str, str]:
    try:
        names = sorted(name for name in os.listdir(source) if not name.startswith("."))
    except OSError as error:
        problems.append(Problem(f"cannot list: {error.strerror}", shown))
        return {}
    entries = {}
    for name in names:
        text = read_entry(os.path.join(source, name), os.path.join(shown, name), problems, warnings)
        if text is not None:
            entries[name] = text
    return entries


def read_entry(path: str, shown: str, problems: list[Problem], warnings: list[str]) -> str | None:
    """One entry's text, or None (with a problem, or a warning for a sub-directory)."""
    raw = _read_bytes(path, shown, problems, warnings)
    if raw is None:
        return None
    text = _text(raw, shown, problems)
    if text is None:
        return None
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _text(raw: bytes, shown: str, problems: list[Problem]) -> str | None:
    """The bytes as a value an environment variable can hold."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(
            Problem(
                f"not UTF-8 text (invalid byte at offset {error.start}); an environment variable cannot hold it", shown
            )
        )
        return None
    if "\0" in text:
        problems.append(Problem("contains a NUL character; an environment variable cannot hold it", shown))
        return None
    return text


def _read_bytes(path: str, shown: str, problems: list[Problem], warnings: list[str]) -> bytes | None:
    """The entry's bytes, through launcher.files.reading: a FIFO or a device among the entries is refused,
    never waited on, and an entry too large for an environment variable is never read whole."""
    try:
        return read_small_file(path, MAX_ENTRY_BYTES)
    except FileRefused as refused:
        if refused.kind == DIRECTORY:
            warnings.append(f"{shown}: a directory, not a value; ignored")
        elif refused.kind == MISSING:
            problems.append(Problem("cannot read: no such file (a dangling symbolic link?)", shown))
        elif refused.kind == TOO_LARGE:
            problems.append(
                Problem(
                    f"larger than {MAX_ENTRY_BYTES // 1024} KiB; an environment variable cannot "
                    "hold it (let the service read the file itself)",
                    shown,
                )
            )
        else:
            problems.append(Problem(refused.reason, shown))
        return None


def _check_metadata(binding: Binding, problems: list[Problem]) -> None:
    """`type` is required by servicebinding.io; `type` and `connection-id`, when present, must not be empty."""
    present = {plain(name): name for name in binding.entries}
    if "type" not in present:
        problems.append(Problem("no 'type' entry; servicebinding.io requires one in every binding", binding.shown))
    for key in ("type", "connectionid"):
        if key in present and not binding.entries[present[key]].strip():
            problems.append(Problem("empty", os.path.join(binding.shown, present[key])))


# ---------------------------------------------------------------- bindings -> connections


def binding_connection(binding: Binding, identity: Identity) -> Connection:
    """A component connection of whoever runs: the cluster projected the binding for this workload."""
    metadata = {plain(name): text.strip() for name, text in binding.entries.items() if plain(name) in METADATA}
    kind = connection_type(metadata["type"])
    return Connection(
        connection_id=metadata.get("connectionid") or binding.name,
        name=binding.name,
        type=kind,
        visibility=COMPONENT,
        project=identity.project,
        component=identity.component,
        parameters=binding_parameters(binding.entries, kind),
    )


def connection_type(binding_type: str) -> str:
    """servicebinding.io's free-form `type` in Choreo's terms."""
    lowered = binding_type.lower()
    if lowered in DATABASE_TYPES:
        return "database"
    return "service" if lowered in SERVICE_TYPES else "third-party"


def binding_parameters(entries: dict[str, str], kind: str) -> dict[str, Parameter]:
    """Every value entry, well-known names under Choreo's keys, the rest under their own names."""
    renamed = choreo_keys([name for name in entries if plain(name) not in METADATA], kind)
    return {renamed[name]: Parameter(entries[name], is_secret(name, renamed[name])) for name in renamed}


def choreo_keys(names: list[str], kind: str) -> dict[str, str]:
    """Entry name -> parameter key. Each Choreo key is claimed by its first present source name."""
    table = KEY_MAP if kind == "database" else (*KEY_MAP, URL_MAP)
    by_plain: dict[str, str] = {}
    for name in names:
        by_plain.setdefault(plain(name), name)
    keys = {name: name for name in names}
    for target, sources in table:
        source = next((by_plain[s] for s in sources if s in by_plain), None)
        if source is not None:
            keys[source] = target
    return keys


def is_secret(entry: str, key: str) -> bool:
    if plain(entry) in SECRET_BY_DEFAULT or plain(key) in SECRET_BY_DEFAULT:
        return True
    return plain(entry) not in NON_SECRET


def _check_unique_ids(connections: tuple[Connection, ...], bindings: list[Binding], description: str) -> None:
    """A Connection ID names one connection: `serviceReferences` and layering rely on it."""
    problems = [
        Problem(
            duplicate_id_message(f"binding {bindings[earlier].name!r}", connections[index].connection_id),
            bindings[index].shown,
        )
        for index, earlier in duplicate_ids(c.connection_id for c in connections)
    ]
    if problems:
        raise ConfigurationError(problems)
