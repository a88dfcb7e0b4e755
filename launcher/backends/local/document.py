"""A Store value back as the store YAML document (docs/store.md): the inverse of `parse_store`.

The etcd layout already knows both directions (Store -> key/value documents -> store document), so
this goes through it rather than keeping a second serializer in step with the first: the layout
under an empty prefix is just the document split into pieces. Parameters come out in their explicit
form (`{value | values, secret}`), `auth: oauth` as the application it picked (`oauthApp: ID`).

What the model does not know is never dropped by a rewrite (docs/connections.md, "What a write
keeps"): `with_unknown_keys` carries every key the store's schema does not list (a `paramters:`
typo and its values, a key a newer version added) from the document that was read into the one
written, verbatim and in place, matched item by item (projects, components and config groups by
name, connections and OAuth applications by ID, parameters and environments by key).
`unknown_keys` lists them, for writers that cannot carry them (etcd's layout) and so refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from launcher.backends.etcd.layout import kvs_to_document, store_to_kvs
from launcher.backends.local.store_file import (
    COMPONENT_KEYS,
    CONNECTION_KEYS,
    GROUP_KEYS,
    OAUTH_APP_KEYS,
    OAUTH_ENVIRONMENT_KEYS,
    PARAMETER_KEYS,
    PROJECT_KEYS,
    STORE_VERSION,
    TOP_KEYS,
    Store,
)
from launcher.documents.shape import child, describe_unknown_key
from launcher.errors import ConfigurationError, Problem

_NO_PREFIX = ""


def store_to_document(store: Store) -> dict[str, Any]:
    """What `parse_store` reads back to an equal Store (connection paths aside)."""
    document = kvs_to_document(store_to_kvs(store, _NO_PREFIX), _NO_PREFIX, store.file)
    if store.example_values:  # not part of the etcd layout: it describes a file
        document = {"version": STORE_VERSION, "exampleValues": True, **document}
    return document


def document_to_yaml(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def store_to_yaml(store: Store) -> str:
    return document_to_yaml(store_to_document(store))


def empty_store(file: str) -> Store:
    return Store(file, {}, {})


# ---------------------------------------------------------------- the keys the model does not know


@dataclass(frozen=True)
class _Fixed:
    """A mapping with a fixed set of keys (`known`), some of which hold parts of their own."""

    known: frozenset[str]
    parts: dict[str, _Part] = field(default_factory=dict)
    secret_bearing: bool = False  # unknown keys here may be values: never named (launcher.documents.shape)


@dataclass(frozen=True)
class _Named:
    """A mapping of free names (parameters, environments), each value shaped as `item`."""

    item: _Part


@dataclass(frozen=True)
class _Items:
    """A list of mappings, each identified by its `key` (a name or an ID)."""

    key: str
    item: _Fixed


_Part = _Fixed | _Named | _Items

# The store's schema, as `parse_store` reads it (the key sets are store_file's own). `files` values
# and a parameter's `values` hold free data the model keeps whole, so nothing below them is unknown.
_PARAMETERS = _Named(_Fixed(PARAMETER_KEYS, secret_bearing=True))
_GROUP = _Fixed(GROUP_KEYS, {"parameters": _PARAMETERS})
_SCHEMA = _Fixed(
    TOP_KEYS,
    {
        "configGroups": _Items("name", _GROUP),
        "projects": _Items(
            "name",
            _Fixed(
                PROJECT_KEYS,
                {
                    "components": _Items("name", _Fixed(COMPONENT_KEYS, {"configForm": _Named(_PARAMETERS)})),
                    "oauthApps": _Items(
                        "id",
                        _Fixed(
                            OAUTH_APP_KEYS,
                            {"environments": _Named(_Fixed(OAUTH_ENVIRONMENT_KEYS, secret_bearing=True))},
                        ),
                    ),
                    "connections": _Items("id", _Fixed(CONNECTION_KEYS, {"parameters": _PARAMETERS})),
                    "configGroups": _Items("name", _GROUP),
                },
            ),
        ),
    },
)


def with_unknown_keys(read: Any, written: dict[str, Any]) -> dict[str, Any]:
    """`written` (a regenerated store document) with every unknown key of `read` carried over.

    An unknown key keeps its value verbatim and its place among the item's keys; known keys take the
    new value (or go, when the model no longer has them: `auth: oauth` becomes `oauthApp`). An item
    the change removed (a deleted connection, a `--remove`d parameter) takes its unknown keys along.
    """
    merged = _carry(_SCHEMA, read, written)
    assert isinstance(merged, dict)
    return merged


def _carry(part: _Part | None, read: Any, written: Any) -> Any:
    if part is None:
        return written
    if isinstance(part, _Items):
        if not (isinstance(read, list) and isinstance(written, list)):
            return written
        earlier = {_identity(item, part.key): item for item in read if isinstance(item, dict)}
        return [_carry(part.item, earlier.get(_identity(item, part.key)), item) for item in written]
    if not (isinstance(read, dict) and isinstance(written, dict)):
        return written
    if isinstance(part, _Named):
        return {name: _carry(part.item, read.get(name), value) for name, value in written.items()}
    merged: dict[Any, Any] = {}
    for key, value in read.items():
        if key in written:
            merged[key] = _carry(part.parts.get(key), value, written[key])
        elif key not in part.known:
            merged[key] = value  # unknown: kept as it was read
    for key, value in written.items():
        merged.setdefault(key, value)
    return merged


def _identity(item: Any, key: str) -> str | None:
    value = item.get(key) if isinstance(item, dict) else None
    return None if value is None or isinstance(value, (dict, list)) else str(value).strip()


def unknown_keys(document: Any, file: str) -> list[Problem]:
    """Every key of a store document its schema does not know, located by path, never a value.

    The key itself is named only when `launcher.documents.shape.describe_unknown_key` says it is provably not
    a value (a near miss of a known key, outside a mapping that holds secrets).
    """
    found: list[Problem] = []
    _walk(_SCHEMA, document, "", file, found)
    return found


def _walk(part: _Part, value: Any, path: str, file: str, found: list[Problem]) -> None:
    if isinstance(part, _Items):
        for index, item in enumerate(value if isinstance(value, list) else ()):
            _walk(part.item, item, child(path, index), file, found)
        return
    if not isinstance(value, dict):
        return
    if isinstance(part, _Named):
        for name, item in value.items():
            _walk(part.item, item, child(path, str(name)), file, found)
        return
    for key, item in value.items():
        if key in part.known:
            if key in part.parts:
                _walk(part.parts[key], item, child(path, key), file, found)
            continue
        shown, message = describe_unknown_key(key, part.known, secret_bearing=part.secret_bearing)
        where = child(path, key) if shown else path
        found.append(Problem(message.replace(", ignored", ""), file, where or None))


def refuse_unknown_keys(document: Any, file: str, why: str) -> None:
    """ConfigurationError (exit 78), one line per unknown key ending with `why`, when there is any."""
    if found := unknown_keys(document, file):
        raise ConfigurationError(
            [Problem(f"{problem.message}; {why}", problem.file, problem.path) for problem in found]
        )
