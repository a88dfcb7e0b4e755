"""A Store value back as the store YAML document (docs/store.md): the inverse of `parse_store`.

The etcd layout already knows both directions (Store -> key/value documents -> store document), so
this goes through it rather than keeping a second serializer in step with the first: the layout
under an empty prefix is just the document split into pieces. Parameters come out in their explicit
form (`{value | values, secret}`), `auth: oauth` as the application it picked (`oauthApp: ID`).
"""

from __future__ import annotations

from typing import Any

import yaml

from launcher.backends.etcd.layout import kvs_to_document, store_to_kvs
from launcher.backends.local.store_file import STORE_VERSION, Store

_NO_PREFIX = ""


def store_to_document(store: Store) -> dict[str, Any]:
    """What `parse_store` reads back to an equal Store (connection paths aside)."""
    document = kvs_to_document(store_to_kvs(store, _NO_PREFIX), _NO_PREFIX, store.file)
    if store.example_values:  # not part of the etcd layout: it describes a file
        document = {"version": STORE_VERSION, "exampleValues": True, **document}
    return document


def store_to_yaml(store: Store) -> str:
    return yaml.safe_dump(store_to_document(store), sort_keys=False, allow_unicode=True)


def empty_store(file: str) -> Store:
    return Store(file, {}, {})
