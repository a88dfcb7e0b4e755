"""Resolution of `configurations`: env entries and mounted files. Pure, like launcher.resolve.resolver."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from typing import Any

from launcher.keys import lookup_key
from launcher.model import Assignment, Connection, FileEntry, FileOutput, Manifest, Origin, Snapshot, ValueSource
from launcher.shape import scalar_text


class ConfigResolver:
    """Turns configurations.env and configurations.file into assignments and file outputs."""

    def __init__(
        self,
        manifest: Manifest,
        snapshot: Snapshot,
        by_name: dict[str, Connection],
        fail: Callable[[str, str], None],
        warn: Callable[[str], None],
    ) -> None:
        self.manifest = manifest
        self.snapshot = snapshot
        self.by_name = by_name
        self.fail = fail
        self.warn = warn
        self._connection_values: dict[str, dict[str, Assignment]] = {}

    # ------------------------------------------------------------ env

    def apply_env(self, assignments: list[Assignment]) -> list[Assignment]:
        """`assignments` with configurations.env applied: renames replace default variables."""
        self._index_connection_values(assignments)
        renamed: set[int] = set()
        added: list[Assignment] = []
        for entry in self.manifest.env:
            found = self._value(entry.source, entry.variable)
            if found is None:
                continue
            value, secret, origin, replaced = found
            if replaced is not None:
                renamed.add(id(replaced))
            added.append(Assignment(entry.variable, value, secret, origin))
        return [a for a in assignments if id(a) not in renamed] + added

    def _index_connection_values(self, assignments: list[Assignment]) -> None:
        for assignment in assignments:
            if assignment.origin.kind == "connection":
                name, key = assignment.origin.detail.rsplit(".", 1)
                self._connection_values.setdefault(name, {})[key] = assignment

    def _value(self, source: ValueSource, name: str) -> tuple[str, bool, Origin, Assignment | None] | None:
        """(value, secret, origin, the default assignment it renames) or None when absent or failed."""
        if source.kind == "value":
            return _text(source.literal), False, Origin("value", source.path), None
        if source.kind == "connectionRef":
            return self._from_connection(source)
        if source.kind == "configGroupRef":
            return self._from_group(source)
        return self._from_form(source, self.snapshot.config_form.get(name), name)

    def _from_connection(self, source: ValueSource) -> tuple[str, bool, Origin, Assignment] | None:
        connection = self.by_name.get(source.ref_name or "")
        if connection is None:
            declared = any(r.name == source.ref_name for r in self.manifest.connection_references)
            if not declared:
                self.fail(
                    f"{source.path}.name",
                    f"connection {source.ref_name!r} is not declared in dependencies.connectionReferences",
                )
            return None  # a declared one that failed was reported where it was declared
        values = self._connection_values.get(connection.name, {})
        found = lookup_key(values, source.ref_key or "")
        if found is None:
            self.fail(
                f"{source.path}.key",
                f"connection {connection.name!r} has no key {source.ref_key!r} "
                f"(keys: {', '.join(sorted(values)) or 'none'})",
            )
            return None
        key, guessed = found
        if guessed:
            self.warn(f"{self.manifest.file}: {source.path}.key: read {source.ref_key!r} as {key!r}")
        default = values[key]
        origin = Origin("connectionRef", f"{connection.name}.{key}", connection.visibility, self.snapshot.backend)
        return default.value, default.secret, origin, default

    def _from_group(self, source: ValueSource) -> tuple[str, bool, Origin, None] | None:
        group = self.snapshot.config_groups.get(source.ref_name or "")
        if group is None:
            self.fail(f"{source.path}.name", f"no config group named {source.ref_name!r} ({self.snapshot.backend})")
            return None
        found = lookup_key(group, source.ref_key or "")
        if found is None:
            self.fail(
                f"{source.path}.key",
                f"config group {source.ref_name!r} has no value for {source.ref_key!r} "
                f"in environment {self.snapshot.identity.environment!r}",
            )
            return None
        parameter = group[found[0]]
        origin = Origin("configGroup", f"{source.ref_name}.{found[0]}", "", self.snapshot.backend)
        return parameter.value, parameter.secret, origin, None

    def _from_form(self, source: ValueSource, stored: Any, name: str) -> tuple[str, bool, Origin, None] | None:
        origin = Origin("configForm", name, "", self.snapshot.backend)
        if stored is not None:
            value = stored.value if hasattr(stored, "value") else stored
            secret = source.secret or bool(getattr(stored, "secret", False))
            return (value if isinstance(value, str) else _text(value)), secret, origin, None
        if "default" in source.form:
            return _text(source.form["default"]), source.secret, Origin("configForm", f"{name} (default)"), None
        if source.required:
            self.fail(
                source.path,
                f"no config form value for {name!r} in environment "
                f"{self.snapshot.identity.environment!r} and no default ({self.snapshot.backend})",
            )
        return None

    # ------------------------------------------------------------ files

    def files(self) -> list[FileOutput]:
        return [output for entry in self.manifest.files if (output := self._file(entry)) is not None]

    def _file(self, entry: FileEntry) -> FileOutput | None:
        stored = self.snapshot.file_values.get(entry.name, {})
        values: dict[str, Any] = {}
        secret = False
        for item in entry.values:
            if item.source.kind == "configForm" and item.name in stored:
                values[item.name] = stored[item.name]
                secret = secret or item.source.secret
                continue
            found = (
                self._value(item.source, item.name)
                if item.source.kind != "configForm"
                else self._from_form(item.source, None, f"{entry.name}:{item.name}")
            )
            if found is not None:
                values[item.name], item_secret = found[0], found[1]
                secret = secret or item_secret
        target = posixpath.join(entry.mount_path, entry.name)
        return FileOutput(target, render(entry.file_type, values), secret, Origin("file", entry.path))


def render(file_type: str, values: dict[str, Any]) -> bytes:
    """The bytes of a configuration file of `file_type` holding `values`."""
    if file_type == "json":
        return (json.dumps(values, indent=2, ensure_ascii=False) + "\n").encode()
    if file_type == "yaml":
        import yaml  # already loaded for the manifest; imported here to keep this module light

        return yaml.safe_dump(values, sort_keys=False, allow_unicode=True).encode()
    if file_type == "text" and len(values) == 1:
        return _text(next(iter(values.values()))).encode()
    return "".join(f"{name}={_text(value)}\n" for name, value in values.items()).encode()


def _text(value: Any) -> str:
    """A value as a variable or file holds it: scalars by the one rule (shape.scalar_text), lists and
    mappings as JSON, nothing as empty; anything else (a YAML date) as Python prints it."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    text = scalar_text(value)
    return str(value) if text is None else text
