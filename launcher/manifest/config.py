"""The `configurations` section of component.yaml: `env` entries and mounted `file` entries.

Each value has exactly one source: a literal `value`, or `valueFrom` with one of `connectionRef`,
`configGroupRef` or `configForm`. The legacy singular `configuration` key is read too.
"""

from __future__ import annotations

import os
from typing import Any

from launcher import shape
from launcher.errors import ProblemCollector
from launcher.model import EnvEntry, FileEntry, FileValue, ValueSource

VALUE_FROM_KINDS = ("connectionRef", "configGroupRef", "configForm")
ENV_ENTRY_KEYS = frozenset({"name", "value", "valueFrom"})  # also the values of a file
FILE_ENTRY_KEYS = frozenset({"name", "mountPath", "type", "values"})
REF_KEYS = frozenset({"name", "key"})
FILE_TYPES = ("yaml", "json", "env", "properties", "text")


def read_configurations(data: dict, version: str | None, file: str, problems: ProblemCollector,
                        warnings: list[str]) -> tuple[tuple[EnvEntry, ...], tuple[FileEntry, ...]]:
    env: list[EnvEntry] = []
    files: list[FileEntry] = []
    for section in ("configurations", "configuration"):
        if section not in data:
            continue
        if section == "configuration":
            warnings.append(f"{file}: configuration: legacy singular key, read as `configurations`")
        body = shape.mapping(data[section], section, problems, required=False) or {}
        shape.known_keys(body, frozenset({"env", "file"}), section, problems)
        env += _env_entries(body.get("env"), shape.child(section, "env"), problems)
        files += _file_entries(body.get("file"), shape.child(section, "file"), problems)
    _warn_version(version, env, files, file, warnings)
    return tuple(env), tuple(files)


def _warn_version(version: str | None, env: list[EnvEntry], files: list[FileEntry], file: str,
                  warnings: list[str]) -> None:
    if version in (None, "1.2"):
        return
    for entry in env:
        if entry.source.kind == "configForm":
            warnings.append(f"{file}: {entry.path}: configForm needs schemaVersion 1.2; read anyway")
    for file_entry in files:
        warnings.append(f"{file}: {file_entry.path}: configurations.file needs schemaVersion 1.2; read anyway")


def _env_entries(raw: Any, base: str, problems: ProblemCollector) -> list[EnvEntry]:
    entries = []
    for path, entry in shape.mappings(raw, base, problems, ENV_ENTRY_KEYS):
        variable = shape.variable(entry.get("name"), shape.child(path, "name"), problems)
        source = read_value_source(entry, path, problems)
        if variable and source:
            entries.append(EnvEntry(variable, source, path))
    return entries


def read_value_source(entry: dict, path: str, problems: ProblemCollector) -> ValueSource | None:
    """Exactly one of `value` or `valueFrom.{connectionRef|configGroupRef|configForm}`."""
    has_value, value_from = "value" in entry, entry.get("valueFrom")
    if has_value and value_from is not None:
        problems.add(path, "expected exactly one of `value` or `valueFrom`, got both")
        return None
    if has_value:
        return _literal(entry["value"], shape.child(path, "value"), problems)
    from_path = shape.child(path, "valueFrom")
    if value_from is None:
        problems.add(path, "expected `value` or `valueFrom`, got neither")
        return None
    body = shape.mapping(value_from, from_path, problems)
    if body is None:
        return None
    shape.known_keys(body, frozenset(VALUE_FROM_KINDS), from_path, problems)
    kinds = [kind for kind in VALUE_FROM_KINDS if kind in body]
    if len(kinds) != 1:
        got = ", ".join(map(str, body)) or "nothing"
        problems.add(from_path, f"expected exactly one of {', '.join(VALUE_FROM_KINDS)}, got {got}")
        return None
    return _from_source(kinds[0], body[kinds[0]], shape.child(from_path, kinds[0]), problems)


def _literal(raw: Any, path: str, problems: ProblemCollector) -> ValueSource | None:
    if isinstance(raw, (dict, list)):
        problems.add(path, f"expected a string, number or boolean, got {shape.type_name(raw)}")
        return None
    return ValueSource("value", literal=raw, path=path)


def _from_source(kind: str, raw: Any, path: str, problems: ProblemCollector) -> ValueSource | None:
    if kind == "configForm":
        form = shape.mapping(raw, path, problems, required=False)
        return ValueSource(kind, form=dict(form or {}), path=path)
    body = shape.mapping(raw, path, problems)
    if body is None:
        return None
    shape.known_keys(body, REF_KEYS, path, problems)
    what = "a connection name" if kind == "connectionRef" else "a config group name"
    name = shape.text(body.get("name"), shape.child(path, "name"), problems, what=what)
    key = shape.text(body.get("key"), shape.child(path, "key"), problems, what="a key")
    if not (name and key):
        return None
    return ValueSource(kind, ref_name=name, ref_key=key, path=path)


def _file_entries(raw: Any, base: str, problems: ProblemCollector) -> list[FileEntry]:
    entries = []
    for path, entry in shape.mappings(raw, base, problems, FILE_ENTRY_KEYS):
        name = shape.text(entry.get("name"), shape.child(path, "name"), problems, what="a file name")
        if name and (os.sep in name or name in (".", "..")):
            problems.add(shape.child(path, "name"), f"expected a plain file name, got {name!r}")
            name = None
        mount = shape.text(entry.get("mountPath"), shape.child(path, "mountPath"), problems, what="a directory")
        file_type = _file_type(entry.get("type"), name, shape.child(path, "type"), problems)
        values = _file_values(entry.get("values"), shape.child(path, "values"), problems)
        if name and mount and file_type:
            entries.append(FileEntry(name, mount, file_type, tuple(values), path))
    return entries


def _file_type(raw: Any, name: str | None, path: str, problems: ProblemCollector) -> str | None:
    if raw is None:
        extension = os.path.splitext(name or "")[1].lstrip(".").lower()
        return {"yml": "yaml", "yaml": "yaml", "json": "json", "env": "env", "properties": "properties"}.get(extension, "text")
    file_type = shape.text(raw, path, problems, what="a file type")
    if file_type and file_type.lower() not in FILE_TYPES:
        problems.add(path, f"expected one of {', '.join(FILE_TYPES)}, got {file_type!r}")
        return None
    return file_type.lower() if file_type else None


def _file_values(raw: Any, base: str, problems: ProblemCollector) -> list[FileValue]:
    values = []
    for path, entry in shape.mappings(raw, base, problems, ENV_ENTRY_KEYS):
        name = shape.text(entry.get("name"), shape.child(path, "name"), problems, what="a value name")
        source = read_value_source(entry, path, problems)
        if name and source:
            values.append(FileValue(name, source, path))
    return values
