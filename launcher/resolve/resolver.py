"""Resolution: manifest + snapshot -> Plan. Pure: no I/O, no os.environ.

Rules (docs/architecture.md, "The domain, in brief"):
* connectionReferences find a connection by name among the component's own, then the project's,
  and inject every key under CHOREO_<NAME>_<KEY>;
* serviceReferences find a connection by Connection ID and inject only the listed keys, as `to`;
* configurations.env entries add literals, config group and config form values, and rename a
  connection key's default variable;
* OAuth keys (ConsumerKey, ConsumerSecret, TokenURL) come from the connection's shared application.
Every problem is collected; the caller gets them all at once.
"""

from __future__ import annotations

from launcher.errors import AccessDenied, Problem, ResolutionError
from launcher.keys import OAUTH_KEYS, lookup_key, oauth_keys
from launcher.model import (
    Assignment,
    Connection,
    Manifest,
    Origin,
    Plan,
    Snapshot,
)
from launcher.naming import dangerous_variable_problem, default_variable, reserved_variable_problem
from launcher.records import Record, field
from launcher.resolve.config import ConfigResolver
from launcher.visibility import own_first, why_not_visible


class _Work(Record, frozen=False):
    """Mutable state of one resolution; discarded once the Plan is built."""

    manifest: Manifest
    snapshot: Snapshot
    assignments: list[Assignment] = field(default_factory=list)
    denied: list[Problem] = field(default_factory=list)
    unresolved: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_name: dict[str, Connection] = field(default_factory=dict)  # declared connectionReferences
    # Lookups by name and ID, built once: a component may reference a thousand connections.
    named: dict[str, list[Connection]] = field(default_factory=dict)
    identified: dict[str, Connection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for connection in self.snapshot.connections:
            self.named.setdefault(connection.name, []).append(connection)
            self.identified.setdefault(connection.connection_id, connection)

    def fail(self, path: str, message: str) -> None:
        self.unresolved.append(Problem(message, self.manifest.file, path))

    def deny(self, path: str, message: str) -> None:
        self.denied.append(Problem(message, self.manifest.file, path))


def resolve(
    manifest: Manifest,
    snapshot: Snapshot,
    overlays: tuple[tuple[str, dict[str, str]], ...] = (),
    allowed_variables: frozenset[str] | tuple[str, ...] = (),
) -> Plan:
    """The Plan for `manifest` against `snapshot`; raise AccessDenied or ResolutionError listing all problems.

    `overlays` are (label, variables) layers such as .env files: applied last, they win over the rest.
    `allowed_variables` are the names of launcher.naming.DANGEROUS_VARIABLES the user allowed
    (--allow-variable); any other such name, from wherever it comes, is refused.
    """
    work = _Work(manifest, snapshot, warnings=list(manifest.warnings))
    _connection_references(work)
    _service_references(work)
    config = ConfigResolver(manifest, snapshot, work.by_name, work.fail, work.warnings.append)
    # Without configurations, nothing is added or renamed and no connection value is looked up (by env
    # or file entries): the index of 1,000s of connection values apply_env builds would go unused.
    if manifest.env or manifest.files:
        work.assignments = config.apply_env(work.assignments)
    files = config.files()
    _check_duplicates(work)
    for assignment in work.assignments:
        if reserved := reserved_variable_problem(assignment.variable):
            work.fail("", f"{assignment.origin.kind} {assignment.origin.detail}: {reserved}")
        if dangerous := dangerous_variable_problem(assignment.variable, allowed_variables):
            work.fail("", f"{assignment.origin.kind} {assignment.origin.detail}: {dangerous}")
        if "\0" in assignment.value:  # execve cannot pass it: refused here, not at every (fast-path) start
            work.fail(
                "",
                f"{assignment.origin.kind} {assignment.origin.detail}: the value of {assignment.variable} "
                "contains a NUL character, which no environment variable can hold",
            )
    for label, variables in overlays:
        for variable in variables:
            if dangerous := dangerous_variable_problem(variable, allowed_variables):
                work.fail("", f"env-file {label}: {dangerous}")
    if work.denied or work.unresolved:
        # The manifest's warnings travel with the error: they often explain it (a misplaced section).
        error = AccessDenied(work.denied + work.unresolved) if work.denied else ResolutionError(work.unresolved)
        error.warnings = list(work.warnings)
        raise error
    assignments = _apply_overlays(work.assignments, overlays)
    return Plan(snapshot.identity, manifest.file, tuple(assignments), tuple(files), tuple(work.warnings))


# ---------------------------------------------------------------- connectionReferences


def _connection_references(work: _Work) -> None:
    add = work.assignments.append
    for reference in work.manifest.connection_references:
        connection = _find_by_name(work, reference.name, reference.path)
        if connection is None:
            continue
        if reference.resource_ref and connection.resource_ref and reference.resource_ref != connection.resource_ref:
            work.warnings.append(
                f"{work.manifest.file}: {reference.path}.resourceRef: {reference.resource_ref!r} "
                f"differs from the connection's {connection.resource_ref!r}; using the connection"
            )
        work.by_name[reference.name] = connection
        name = connection.name
        for key, value, secret in _all_parameters(work, connection, reference.path):
            if not value:
                _refuse_empty(work, connection, key, value, reference.path)
            origin = _origin(work, "connection", f"{name}.{key}", connection)
            add(Assignment(default_variable(reference.name, key), value, secret, origin))


def _find_by_name(work: _Work, name: str, reference_path: str) -> Connection | None:
    """The connection `name` names for this component; a problem at `reference_path`.name if none."""
    candidates = work.named.get(name)
    if candidates:
        return own_first(candidates)[0] if len(candidates) > 1 else candidates[0]
    path = f"{reference_path}.name"
    foreign = [f for f in work.snapshot.foreign if f.name == name]
    if foreign:
        work.deny(
            path,
            why_not_visible(work.snapshot.identity, repr(foreign[0].name), foreign[0].project, foreign[0].component),
        )
    else:
        work.fail(
            path,
            f"no connection named {name!r} in component {work.snapshot.identity.component!r} "
            f"or project {work.snapshot.identity.project!r} ({work.snapshot.backend})",
        )
    return None


def _all_parameters(work: _Work, connection: Connection, path: str) -> list[tuple[str, str, bool]]:
    """Every key with a value in this environment, the OAuth keys included; missing ones are problems."""
    values = [(key, p.value, p.secret) for key, p in connection.parameters.items()]
    for key in sorted(connection.unset_keys - connection.optional_keys) if connection.unset_keys else ():
        work.fail(
            path,
            f"connection {connection.name!r} has no value for {key!r} in environment "
            f"{work.snapshot.identity.environment!r}",
        )
    if connection.oauth_app:
        values += _oauth_parameters(work, connection, path)
    return values


def _oauth_parameters(work: _Work, connection: Connection, path: str) -> list[tuple[str, str, bool]]:
    app = work.snapshot.oauth_apps.get(connection.oauth_app or "")
    if app is None:
        work.fail(
            path,
            f"OAuth application {connection.oauth_app!r} of connection {connection.name!r} has no "
            f"credentials for environment {work.snapshot.identity.environment!r}",
        )
        return []
    values = dict(zip(OAUTH_KEYS, (app.client_id, app.client_secret, app.token_url), strict=True))
    return [(key, values[key], secret) for key, secret in oauth_keys()]


# ---------------------------------------------------------------- serviceReferences


def _service_references(work: _Work) -> None:
    for reference in work.manifest.service_references:
        connection = _find_by_id(work, reference.connection_id, f"{reference.path}.connectionConfig")
        if connection is None:
            continue
        available = {key: (value, secret) for key, value, secret in _all_parameters(work, connection, reference.path)}
        for mapping in reference.env:
            found = lookup_key(available, mapping.key)
            if found is None:
                if mapping.key not in connection.optional_keys:
                    work.fail(
                        f"{mapping.path}.from",
                        f"connection {connection.name!r} has no key {mapping.key!r} "
                        f"(keys: {', '.join(sorted(available)) or 'none'})",
                    )
                continue
            key, guessed = found
            if guessed:
                work.warnings.append(f"{work.manifest.file}: {mapping.path}.from: read {mapping.key!r} as {key!r}")
            value, secret = available[key]
            _refuse_empty(work, connection, key, value, f"{mapping.path}.from")
            origin = _origin(work, "serviceReference", f"{connection.name}.{key}", connection)
            work.assignments.append(Assignment(mapping.variable, value, secret, origin))


def _find_by_id(work: _Work, connection_id: str, path: str) -> Connection | None:
    if connection_id in work.identified:
        return work.identified[connection_id]
    for foreign in work.snapshot.foreign:
        if foreign.connection_id == connection_id:
            label = f"{foreign.name!r} (ID {connection_id!r})"
            work.deny(path, why_not_visible(work.snapshot.identity, label, foreign.project, foreign.component))
            return None
    work.fail(
        path,
        f"no connection with ID {connection_id!r} visible to component "
        f"{work.snapshot.identity.component!r} ({work.snapshot.backend})",
    )
    return None


# ---------------------------------------------------------------- shared


def _origin(work: _Work, kind: str, detail: str, connection: Connection) -> Origin:
    return Origin(kind, detail, connection.visibility, work.snapshot.backend)


def _refuse_empty(work: _Work, connection: Connection, key: str, value: str, path: str) -> None:
    """Fail closed: an empty value is a missing one, unless the store marked the parameter
    `optional: true` (which allows an environment no value, or an empty one)."""
    if value == "" and key not in connection.optional_keys:
        work.fail(
            path,
            f"connection {connection.name!r} has an empty value for {key!r} in environment "
            f"{work.snapshot.identity.environment!r} ({work.snapshot.backend}); give it a value, or mark "
            "the parameter `optional: true` to allow an empty one",
        )


def _check_duplicates(work: _Work) -> None:
    """Two sources for one variable are a conflict, unless they are the same source: the same key of
    the same connection (a connectionReference and a serviceReference naming one connection, say)
    with the same value. That one is kept once; anything else is refused, never picked silently."""
    first: dict[str, Assignment] = {}
    kept: list[Assignment] = []
    for assignment in work.assignments:
        earlier = first.setdefault(assignment.variable, assignment)
        if earlier is assignment:
            kept.append(assignment)
        elif _same_source(earlier, assignment):
            continue
        else:
            work.fail(
                "",
                f"variable {assignment.variable} is set twice: by {earlier.origin.kind} "
                f"{earlier.origin.detail} and by {assignment.origin.kind} {assignment.origin.detail}",
            )
    work.assignments = kept


# Origins that name a connection's key as `<connection>.<key>`: the same detail is the same source.
_CONNECTION_ORIGINS = frozenset({"connection", "connectionRef", "serviceReference"})


def _same_source(a: Assignment, b: Assignment) -> bool:
    if a.value != b.value or a.origin.detail != b.origin.detail:
        return False
    if a.origin.kind in _CONNECTION_ORIGINS and b.origin.kind in _CONNECTION_ORIGINS:
        return a.origin.source == b.origin.source
    return a.origin == b.origin


def _apply_overlays(
    assignments: list[Assignment], overlays: tuple[tuple[str, dict[str, str]], ...]
) -> list[Assignment]:
    """Overlay layers replace earlier assignments of the same variable; their values are treated as secret."""
    result = {assignment.variable: assignment for assignment in assignments}
    for label, variables in overlays:
        for variable, value in variables.items():
            result[variable] = Assignment(variable, value, True, Origin("env-file", label))
    return list(result.values())
