"""The `configurations` section of component.yaml: `env` entries and mounted `file` entries.

Each value has exactly one source: a literal `value`, or `valueFrom` with one of `connectionRef`,
`configGroupRef` or `configForm`. The legacy singular `configuration` key is read too.
"""

from __future__ import annotations

import os

from launcher.model import EnvEntry, FileEntry, FileValue, ValueSource
from launcher.shape import Node

VALUE_FROM_KINDS = ("connectionRef", "configGroupRef", "configForm")
ENV_ENTRY_KEYS = frozenset({"name", "value", "valueFrom"})  # also the values of a file
FILE_ENTRY_KEYS = frozenset({"name", "mountPath", "type", "values"})
REF_KEYS = frozenset({"name", "key"})
FILE_TYPES = ("yaml", "json", "env", "properties", "text")


def read_configurations(root: Node, version: str | None) -> tuple[tuple[EnvEntry, ...], tuple[FileEntry, ...]]:
    env: list[EnvEntry] = []
    files: list[FileEntry] = []
    for name in ("configurations", "configuration"):
        if not root.has(name):
            continue
        section = root.key(name)
        if name == "configuration":
            section.warn("legacy singular key, read as `configurations`")
        section.mapping(required=False, keys=frozenset({"env", "file"}))
        env += _env_entries(section.key("env"))
        files += _file_entries(section.key("file"))
    if version not in (None, "1.2"):
        # Read anyway: the platform's own reader is as lenient, and refusing would help nobody.
        for entry in env:
            if entry.source.kind == "configForm":
                root.sink.warn(entry.path, "configForm needs schemaVersion 1.2; read anyway")
        for file_entry in files:
            root.sink.warn(file_entry.path, "configurations.file needs schemaVersion 1.2; read anyway")
    return tuple(env), tuple(files)


def _env_entries(node: Node) -> list[EnvEntry]:
    entries = []
    for entry in node.mappings(ENV_ENTRY_KEYS):
        variable = entry.key("name").variable_name()
        source = read_value_source(entry)
        if variable and source:
            entries.append(EnvEntry(variable, source, entry.path))
    return entries


def read_value_source(entry: Node) -> ValueSource | None:
    """Exactly one of `value` or `valueFrom.{connectionRef|configGroupRef|configForm}`."""
    value_from = entry.key("valueFrom")
    if entry.has("value") and value_from.value is not None:
        entry.problem("expected exactly one of `value` or `valueFrom`, got both")
        return None
    if entry.has("value"):
        return _literal(entry.key("value"))
    if value_from.value is None:
        entry.problem("expected `value` or `valueFrom`, got neither")
        return None
    if not value_from.mapping(keys=frozenset(VALUE_FROM_KINDS)):
        return None
    kinds = [kind for kind in VALUE_FROM_KINDS if value_from.has(kind)]
    if len(kinds) != 1:
        got = ", ".join(map(str, value_from.value)) or "nothing"
        value_from.problem(f"expected exactly one of {', '.join(VALUE_FROM_KINDS)}, got {got}")
        return None
    return _from_source(kinds[0], value_from.key(kinds[0]))


def _literal(node: Node) -> ValueSource | None:
    """A scalar, kept as YAML typed it (the resolver writes `true`, not `True`); `value:` with nothing
    after it is an empty value. A date or a set would only be guessed at as text, so it is refused."""
    if node.value is not None and node.scalar() is None:
        return None
    return ValueSource("value", literal=node.value, path=node.path)


def _from_source(kind: str, node: Node) -> ValueSource | None:
    if kind == "configForm":
        node.mapping(required=False)
        node.key("default").plain_data()  # becomes the value's text, or part of a rendered file
        return ValueSource(kind, form=dict(node.value) if node.is_mapping else {}, path=node.path)
    if not node.mapping(keys=REF_KEYS):
        return None
    name = node.key("name").text("a connection name" if kind == "connectionRef" else "a config group name")
    key = node.key("key").text("a key")
    if not (name and key):
        return None
    return ValueSource(kind, ref_name=name, ref_key=key, path=node.path)


def _file_entries(node: Node) -> list[FileEntry]:
    entries = []
    for entry in node.mappings(FILE_ENTRY_KEYS):
        name = entry.key("name").text("a file name")
        if name and (os.sep in name or name in (".", "..")):
            entry.key("name").problem(f"expected a plain file name, got {name!r}")
            name = None
        mount = entry.key("mountPath").text("a directory")
        file_type = _file_type(entry.key("type"), name)
        values = _file_values(entry.key("values"))
        if name and mount and file_type:
            entries.append(FileEntry(name, mount, file_type, tuple(values), entry.path))
    return entries


def _file_type(node: Node, name: str | None) -> str | None:
    if node.value is None:
        extension = os.path.splitext(name or "")[1].lstrip(".").lower()
        return {"yml": "yaml", "yaml": "yaml", "json": "json", "env": "env", "properties": "properties"}.get(
            extension, "text"
        )
    file_type = node.text("a file type")
    if file_type and file_type.lower() not in FILE_TYPES:
        node.problem(f"expected one of {', '.join(FILE_TYPES)}, got {file_type!r}")
        return None
    return file_type.lower() if file_type else None


def _file_values(node: Node) -> list[FileValue]:
    values = []
    for entry in node.mappings(ENV_ENTRY_KEYS):
        name = entry.key("name").text("a value name")
        source = read_value_source(entry)
        if name and source:
            values.append(FileValue(name, source, entry.path))
    return values
