"""Where the local store's data lives in etcd (docs/backends/etcd.md): pure functions, no I/O.

The layout follows the visibility rules of docs/architecture.md ("The domain, in brief") so that
etcd's prefix-based RBAC can enforce them: everything any component of a project may read sits
under the project's `shared/` prefix, everything only one component may read sits under that component's prefix, and
organization-wide config groups sit under `org/`. A component therefore needs exactly three range
reads, whatever the number of connections, and its role needs exactly those three prefixes.

Each value is one JSON document shaped like the matching item of the store YAML (docs/store.md)
plus an `order` field, so that a pulled store lists everything in the order it was pushed.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

from launcher.backends.local.store_file import ALL_ENVIRONMENTS, STORE_VERSION, Store, StoredConnection, StoredParameter
from launcher.errors import ConfigurationError, ProblemCollector
from launcher.records import Record
from launcher.visibility import visibility_for

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

META = "meta"  # <prefix>/meta: rewritten by every push, so concurrent pushes always conflict
PROJECT_DOC = "project"
COMPONENT_DOC = "component"


class ComponentPrefixes(Record):
    """The three key prefixes one component reads, in the order the backend reads them."""

    shared: str
    component: str
    org: str

    def all(self) -> tuple[str, str, str]:
        return (self.shared, self.component, self.org)


def normalize_prefix(prefix: str) -> str:
    """`choreo/` and `/choreo` both mean `/choreo`; keys are `<prefix>/...`."""
    return "/" + prefix.strip("/") if prefix.strip("/") else ""


def nesting_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be a store's prefix: it lies inside the ranges of a store at a shorter one.

    A store at `/a` owns `/a/projects/` and `/a/org/` (a push deletes what it does not hold there) and
    grants every component `/a/org/`: a store at `/a/org` or `/a/projects/...` would be read by the
    other store's components and wiped by its pushes. The first segment may be anything.
    """
    nested = [segment for segment in prefix.strip("/").split("/")[1:] if segment in ("projects", "org")]
    if not nested:
        return None
    return (
        f"prefix {prefix!r} has a segment {nested[0]!r} after the first: it would lie inside the keys "
        "of a store at a shorter prefix; choose another prefix"
    )


def component_prefixes(prefix: str, project: str, component: str) -> ComponentPrefixes:
    return ComponentPrefixes(
        shared=f"{_project_key(prefix, project)}/shared/",
        component=f"{_component_key(prefix, project, component)}/",
        org=f"{prefix}/org/",
    )


def store_prefixes(prefix: str) -> tuple[str, str]:
    """The prefixes a push owns: anything else under `prefix` is left alone."""
    return (f"{prefix}/org/", f"{prefix}/projects/")


def role_name(prefix: str, project: str, component: str) -> str:
    """One etcd role (and user) per component, e.g. `choreo.bookstore.orders-service`.

    The parts are the prefix's segments, the project and the component, each percent-encoded
    except ASCII letters, digits, `-` and `_` (so a `.` inside a name is `%2E`), joined with `.`.
    No encoded part holds a `.`, so a name splits back into its parts, the last two being the
    project and the component: `parse_role_name` is the inverse, hence two scopes never share a
    role. `/x.y` + `p` + `c` is `x%2Ey.p.c`; `/x/y` + `p` + `c` is `x.y.p.c`.
    """
    segments = prefix.strip("/").split("/") if prefix.strip("/") else []
    return ".".join(_name_part(part) for part in (*segments, project, component))


def parse_role_name(name: str) -> tuple[str, str, str] | None:
    """(prefix, project, component) of a name `role_name` made; None for a name it cannot have made."""
    parts = name.split(".")
    try:
        decoded = [_name_unpart(part) for part in parts]
    except UnicodeDecodeError:
        return None
    if len(parts) < 2 or any(_name_part(text) != part for text, part in zip(decoded, parts, strict=True)):
        return None
    *segments, project, component = decoded
    if segments and not "".join(segments):  # `role_name` never makes a prefix of empty segments only
        return None
    return ("/" + "/".join(segments) if segments else ""), project, component


def describe_scope(prefix: str, project: str, component: str | None) -> str:
    """A scope in messages: `prefix '/choreo', project 'shop', component 'a'`."""
    where = f"prefix {prefix!r}, project {project!r}"
    return f"{where}, component {component!r}" if component is not None else f"{where} (shared)"


_COMPONENT_RANGE = re.compile(r"(?s)(.*)/projects/([^/]*)/components/([^/]*)/")
_SHARED_RANGE = re.compile(r"(?s)(.*)/projects/([^/]*)/shared/")


def scope_of_range(key: str) -> tuple[str, str, str | None] | None:
    """(prefix, project, component) whose component range `key` is (component None: a shared range)."""
    if match := _COMPONENT_RANGE.fullmatch(key):
        return match[1], unquote(match[2]), unquote(match[3])
    if match := _SHARED_RANGE.fullmatch(key):
        return match[1], unquote(match[2]), None
    return None


_NAME_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _name_part(text: str) -> str:
    # Surrogates pass through (encoded as their three bytes), so every str has exactly one encoding.
    return "".join(
        char if char in _NAME_SAFE else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        for char in text
    )


def _name_unpart(part: str) -> str:
    return unquote(part, errors="surrogatepass")


def _segment(name: str) -> str:
    # Percent-encoding keeps a `/` in a name from escaping its prefix. `quote(safe="")` leaves only
    # ASCII letters, digits and `_.-~` as they are and encodes `%` itself, so it is injective and its
    # output never holds `/`: each scope's key prefix parses back uniquely (test_etcd_layout.py).
    return quote(name, safe="")


def _project_key(prefix: str, project: str) -> str:
    return f"{prefix}/projects/{_segment(project)}"


def _component_key(prefix: str, project: str, component: str) -> str:
    return f"{_project_key(prefix, project)}/components/{_segment(component)}"


# ---------------------------------------------------------------- Store -> key/value pairs


def store_to_kvs(store: Store, prefix: str) -> dict[str, str]:
    """Every key and JSON value for `store`; the meta key is the caller's business."""
    kvs: dict[str, str] = {}
    for order, (name, parameters) in enumerate(store.config_groups.items()):
        kvs[f"{prefix}/org/config-groups/{_segment(name)}"] = _group_doc(name, parameters, order)
    for order, project in enumerate(store.projects.values()):
        base = _project_key(prefix, project.name)
        kvs[f"{base}/shared/{PROJECT_DOC}"] = _dump(
            {"name": project.name, "order": order, "components": list(project.components)}
        )
        for index, (name, parameters) in enumerate(project.config_groups.items()):
            kvs[f"{base}/shared/config-groups/{_segment(name)}"] = _group_doc(name, parameters, index)
        for index, component in enumerate(project.components.values()):
            kvs[f"{_component_key(prefix, project.name, component.name)}/{COMPONENT_DOC}"] = _dump(
                {
                    "name": component.name,
                    "order": index,
                    "configForm": {env: _parameters_doc(values) for env, values in component.config_form.items()},
                    "files": component.files,
                }
            )
        for index, app in enumerate(project.oauth_apps.values()):
            scope = _scope_key(prefix, project.name, app.component)
            kvs[f"{scope}/oauth-apps/{_segment(app.app_id)}"] = _dump(
                _without_none(
                    {"id": app.app_id, "component": app.component, "order": index, "environments": app.environments}
                )
            )
        for index, connection in enumerate(project.connections):
            scope = _scope_key(prefix, project.name, connection.component)
            kvs[f"{scope}/connections/{_segment(connection.connection_id)}"] = _connection_doc(connection, index)
    return kvs


def _scope_key(prefix: str, project: str, component: str | None) -> str:
    return (
        f"{_project_key(prefix, project)}/shared" if component is None else _component_key(prefix, project, component)
    )


def _connection_doc(connection: StoredConnection, order: int) -> str:
    return _dump(
        _without_none(
            {
                "id": connection.connection_id,
                "name": connection.name,
                "type": connection.type,
                "visibility": connection.visibility,
                "component": connection.component,
                "oauthApp": connection.oauth_app,
                "resourceRef": connection.resource_ref,
                "parameters": _parameters_doc(connection.parameters),
                "order": order,
            }
        )
    )


def _group_doc(name: str, parameters: dict[str, StoredParameter], order: int) -> str:
    return _dump({"name": name, "order": order, "parameters": _parameters_doc(parameters)})


def _parameters_doc(parameters: dict[str, StoredParameter]) -> dict[str, dict[str, Any]]:
    return {key: _parameter_doc(parameter) for key, parameter in parameters.items()}


def _parameter_doc(parameter: StoredParameter) -> dict[str, Any]:
    """The explicit store form, so `secret` survives even where the key name implies another default."""
    doc: dict[str, Any] = {}
    if ALL_ENVIRONMENTS in parameter.values:
        doc["value"] = parameter.values[ALL_ENVIRONMENTS]
    per_environment = {env: value for env, value in parameter.values.items() if env != ALL_ENVIRONMENTS}
    if per_environment:
        doc["values"] = per_environment
    doc["secret"] = parameter.secret
    if parameter.optional:
        doc["optional"] = True
    return doc


def _without_none(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if value is not None}


def _dump(doc: dict[str, Any]) -> str:
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        # Only file values can hold YAML-only types (dates, ...); never echo the value itself.
        raise ConfigurationError(
            f"{doc.get('name', doc.get('id'))!r}: a value is not representable as JSON "
            "(dates and other YAML-only types must be quoted strings)"
        ) from None


# ---------------------------------------------------------------- key/value pairs -> store document

_LISTS = {"connections": "connections", "oauth-apps": "oauthApps", "config-groups": "configGroups"}


def kvs_to_document(kvs: dict[str, str], prefix: str, source: str) -> dict[str, Any]:
    """The store YAML document (docs/store.md) the pairs describe; `parse_store` validates it.

    A value stored in the wrong scope (a component's connection under the project's shared prefix,
    readable by every component) is refused here rather than served.
    """
    problems = ProblemCollector(source)
    org_groups: list[dict[str, Any]] = []
    projects: dict[str, dict[str, Any]] = {}
    head = prefix + "/"
    start = len(head)
    names = _Names()  # a component's keys repeat the same few encoded segments: each unquoted once
    for key, raw in sorted(kvs.items()):
        if not key.startswith(head):
            continue
        doc = _load(raw, key, problems)
        if doc is not None:
            _place(key[start:].split("/"), doc, key, org_groups, projects, problems, names)
    documents = [_project_document(name, parts, problems) for name, parts in projects.items()]
    problems.raise_if_any(ConfigurationError)
    return {"version": STORE_VERSION, "projects": _ordered(documents), "configGroups": _ordered(org_groups)}


_decode = json.JSONDecoder().raw_decode


def _load(raw: str, key: str, problems: ProblemCollector) -> dict[str, Any] | None:
    # What json.loads(raw) returns, without its per-call checks (1,000s of keys): a value that is
    # not one document from its first character to its last (white space around it, extra data, not
    # JSON) goes through json.loads itself, which accepts or refuses it exactly as always.
    try:
        doc, end = _decode(raw)
    except ValueError:
        end = -1
    try:
        if end != len(raw):
            doc = json.loads(raw)
    except ValueError:
        problems.add(key, "expected a JSON document")  # the value itself may be secret: not quoted
        return None
    if not isinstance(doc, dict):
        problems.add(key, "expected a JSON object")
        return None
    return doc


class _Names(dict[str, str]):
    """Percent-encoded key segments and the names they stand for, unquoted on first use."""

    def __missing__(self, segment: str) -> str:
        self[segment] = name = unquote(segment)
        return name


def _place(
    parts: list[str],
    doc: dict[str, Any],
    key: str,
    org_groups: list,
    projects: dict,
    problems: ProblemCollector,
    names: _Names,
) -> None:
    """File one document under the part of the store document its key says it belongs to."""
    match parts:
        case [name] if name == META:
            return
        case ["org", "config-groups", _]:
            org_groups.append(doc)
        case ["projects", project, "shared", name] if name == PROJECT_DOC:
            _parts(projects, names[project])["doc"] = doc
        case ["projects", project, "shared", kind, _] if kind in _LISTS:
            _check_owner(doc, None, kind, key, problems)
            _parts(projects, names[project])[_LISTS[kind]].append(doc)
        case ["projects", project, "components", component, name] if name == COMPONENT_DOC:
            _check_name(doc, names[component], key, problems)
            _parts(projects, names[project])["components"].append(doc)
        case ["projects", project, "components", component, kind, _] if kind in ("connections", "oauth-apps"):
            _check_owner(doc, names[component], kind, key, problems)
            _parts(projects, names[project])[_LISTS[kind]].append(doc)
        case _:
            problems.add(key, "unexpected key under the store prefix (see docs/backends/etcd.md)")


def _parts(projects: dict[str, dict[str, Any]], project: str) -> dict[str, Any]:
    """The parts of `project` (a name, already unquoted), made on its first key."""
    parts = projects.get(project)
    if parts is None:
        parts = projects[project] = {"doc": None, "components": [], **{v: [] for v in _LISTS.values()}}
    return parts


def _check_owner(doc: dict[str, Any], component: str | None, kind: str, key: str, problems: ProblemCollector) -> None:
    if doc.get("component") != component:
        where = f"component {component!r}'s prefix" if component else "the project's shared prefix"
        problems.add(key, f"stored under {where} but owned by {doc.get('component') or 'the project'!r}")
    elif kind == "connections" and doc.get("visibility") != visibility_for(component):
        problems.add(key, f"a {doc.get('visibility')!r} connection cannot be stored under this prefix")


def _check_name(doc: dict[str, Any], expected: str, key: str, problems: ProblemCollector) -> None:
    if doc.get("name") != expected:
        problems.add(key, f"expected name {expected!r}, got {doc.get('name')!r}")


def _project_document(name: str, parts: dict[str, Any], problems: ProblemCollector) -> dict[str, Any]:
    doc = parts["doc"] or {}
    if parts["doc"] is None:
        problems.add(f"projects/{name}/shared/{PROJECT_DOC}", f"missing: keys exist for project {name!r}")
    else:
        _check_name(doc, name, f"projects/{name}/shared/{PROJECT_DOC}", problems)
    return {
        "name": name,
        "order": doc.get("order", 0),
        **{field: _ordered(parts[field]) for field in ("components", *_LISTS.values())},
    }


def _ordered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Back in pushed order; `order` itself is layout, not store data."""
    ranked = sorted(docs, key=lambda doc: doc.get("order", 0) if isinstance(doc.get("order"), int) else 0)
    for doc in ranked:  # parsed here, owned by no one else: dropped in place, not copied (1,000s of docs)
        doc.pop("order", None)
    return ranked
