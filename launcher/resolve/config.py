"""Resolution of `configurations`: env entries and mounted files. Pure, like launcher.resolve.resolver."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from launcher.documents.shape import scalar_text
from launcher.keys import lookup_key
from launcher.model import Assignment, Connection, FileEntry, FileOutput, Manifest, Origin, Snapshot, ValueSource

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any


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
        unset = lookup_key(dict.fromkeys(connection.unset_keys), source.ref_key or "") if found is None else None
        if unset is not None:  # defined, without a value in this environment: not "no such key"
            if unset[0] not in connection.optional_keys:
                return None  # already reported once, where the connection is referenced
            self.fail(
                f"{source.path}.key",
                f"connection {connection.name!r} has no value for {unset[0]!r} in environment "
                f"{self.snapshot.identity.environment!r}",
            )
            return None
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
        if parameter.value == "":
            self._empty(source.path, f"config group {source.ref_name!r} has an empty value for {found[0]!r}")
            return None
        origin = Origin("configGroup", f"{source.ref_name}.{found[0]}", "", self.snapshot.backend)
        return parameter.value, parameter.secret, origin, None

    def _from_form(self, source: ValueSource, stored: Any, name: str) -> tuple[str, bool, Origin, None] | None:
        origin = Origin("configForm", name, "", self.snapshot.backend)
        if stored is not None:
            value = stored.value if hasattr(stored, "value") else stored
            secret = source.secret or bool(getattr(stored, "secret", False))
            if value == "" and (source.required or secret):
                self._empty(source.path, f"the config form value for {name!r} is empty", form=True)
                return None
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

    def _empty(self, path: str, what: str, *, form: bool = False) -> None:
        """Fail closed: an empty value from a store is a missing one (docs/store.md, "Empty values").
        Empty values written in the manifest itself (`value: ""`, `default: ""`) are meant, so allowed."""
        allow = "mark the entry `required: false` in the manifest (not for a secret) or " if form else ""
        self.fail(
            path,
            f"{what} in environment {self.snapshot.identity.environment!r} ({self.snapshot.backend}); "
            f'give it a value, or {allow}write the empty value in the manifest itself (`value: ""`)',
        )

    # ------------------------------------------------------------ files

    def files(self) -> list[FileOutput]:
        return [output for entry in self.manifest.files if (output := self._file(entry)) is not None]

    def _file(self, entry: FileEntry) -> FileOutput | None:
        stored = self.snapshot.file_values.get(entry.name, {})
        values: dict[str, Any] = {}
        secret = False
        for item in entry.values:
            if item.source.kind == "configForm" and item.name in stored:
                value = stored[item.name]
                if value == "" and (item.source.required or item.source.secret):
                    self._empty(item.source.path, f"the file value {entry.name}:{item.name} is empty", form=True)
                values[item.name] = value
                # What the store's `files` hold may be whole objects of settings: kept private.
                secret = secret or item.source.secret or isinstance(value, (dict, list))
                continue
            found = (
                self._value(item.source, item.name)
                if item.source.kind != "configForm"
                else self._from_form(item.source, None, f"{entry.name}:{item.name}")
            )
            if found is not None:
                values[item.name], item_secret = found[0], found[1]
                secret = secret or item_secret or _is_object(item.source)
        target = posixpath.join(entry.mount_path, entry.name)
        try:
            content = render(entry.file_type, values)
        except UnwritableValue as error:
            self.fail(entry.path, f"cannot write {entry.name} as {entry.file_type}: {error}")
            return None
        return FileOutput(target, content, secret, Origin("file", entry.path))


def _is_object(source: ValueSource) -> bool:
    """A manifest default that is a mapping or a list (Choreo's `type: object` and `type: array`)."""
    return isinstance(source.form.get("default"), (dict, list)) or isinstance(source.literal, (dict, list))


class UnwritableValue(ValueError):
    """A value the chosen file type cannot hold faithfully (the message says which and why)."""


def render(file_type: str, values: dict[str, Any]) -> bytes:
    """The bytes of a configuration file of `file_type` holding `values`.

    Values stay data: every format escapes what its syntax would read as syntax, and what a format
    cannot hold faithfully raises UnwritableValue rather than being written differently.
    """
    if file_type == "json":
        import json  # only for a json file: not on every launch (docs/performance.md, issue 16)

        return (json.dumps(values, indent=2, ensure_ascii=False) + "\n").encode()
    if file_type == "yaml":
        import yaml  # already loaded for the manifest; imported here to keep this module light

        return yaml.safe_dump(values, sort_keys=False, allow_unicode=True).encode()
    if file_type == "toml":
        return _toml(values).encode()
    if file_type == "ini":
        return _ini(values).encode()
    if file_type == "xml":
        return _xml(values)
    if file_type == "properties":
        return _properties(values).encode("ascii")
    if file_type == "env":
        return "".join(f"{_env_key(name)}={_env_value(_text(value))}\n" for name, value in values.items()).encode()
    if len(values) == 1:  # text: one value is the file
        return _text(next(iter(values.values()))).encode()
    return "".join(f"{name}={_text(value)}\n" for name, value in values.items()).encode()


# ---------------------------------------------------------------- TOML (what Ballerina's Config.toml is)

# The format-specific patterns are text, compiled (and cached) by re on the first file of that format.
_TOML_BARE_KEY = r"[A-Za-z0-9_-]+"


def _toml(values: dict[str, Any]) -> str:
    lines: list[str] = []
    _toml_table(values, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n" if lines else ""


def _toml_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    """Scalars and arrays first, then each sub-mapping as a `[table]` (in that order TOML needs)."""
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_toml_key(part) for part in path) + "]")
    for key, value in scalars:
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables:
        _toml_table(value, [*path, str(key)], lines)


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if re.fullmatch(_TOML_BARE_KEY, text) else _toml_string(text)


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_TOML_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        import math

        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return _toml_string(_text(value))  # TOML has no null: nothing is the empty string


# ---------------------------------------------------------------- INI

_INI_KEY = r"[^\s=:\[\];#][^=:\r\n]*"


def _ini(values: dict[str, Any]) -> str:
    """Top-level scalars in `[DEFAULT]` (where Python's configparser and most readers look for values
    outside a section); each mapping a `[section]`, its nested mappings and lists as JSON text."""
    plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
    sections = [(k, v) for k, v in values.items() if isinstance(v, dict)]
    parts = []
    if plain:
        parts.append(_ini_section("DEFAULT", plain))
    parts += [_ini_section(str(name), section) for name, section in sections]
    return "\n".join(parts)


def _ini_section(name: str, values: dict[str, Any]) -> str:
    if not name or any(c in name for c in "[]\r\n") or name != name.strip():
        raise UnwritableValue(f"an INI section cannot be named {name!r}")
    lines = [f"[{name}]"]
    for key, value in values.items():
        text = _text(value)
        key = str(key)
        if not re.fullmatch(_INI_KEY, key) or key != key.strip():
            raise UnwritableValue(f"an INI key cannot be {key!r} (no '=', ':', line breaks, or leading ';', '#', '[')")
        if any(c in text for c in "\r\n\x00") or text != text.strip():
            raise UnwritableValue(
                f"the value of {key!r} has line breaks or surrounding white space, which INI cannot hold "
                "faithfully; use json, yaml or toml"
            )
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- XML

_XML_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_XML_INVALID = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"


def _xml(values: dict[str, Any]) -> bytes:
    """`<configuration>` with one element per value: named after it when the name is an XML name,
    else `<entry key="...">`; mappings nest, lists repeat `<item>`; every value is element text."""
    from xml.etree import ElementTree

    root = ElementTree.Element("configuration")
    _xml_fill(root, values)
    ElementTree.indent(root)
    # A carriage return in text would be read back as a line feed (XML normalises line ends): as a reference.
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True).replace(b"\r", b"&#13;") + b"\n"


def _xml_fill(parent: Any, value: Any) -> None:
    from xml.etree import ElementTree

    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if re.fullmatch(_XML_NAME, name) and not name.lower().startswith("xml"):
                element = ElementTree.SubElement(parent, name)
            else:
                _xml_check(name)
                element = ElementTree.SubElement(parent, "entry", key=name)
            _xml_fill(element, item)
    elif isinstance(value, list):
        for item in value:
            _xml_fill(ElementTree.SubElement(parent, "item"), item)
    else:
        text = _text(value)
        _xml_check(text)
        parent.text = text


def _xml_check(text: str) -> None:
    if re.search(_XML_INVALID, text):
        raise UnwritableValue("a value holds a control character, which XML 1.0 cannot hold")


# ---------------------------------------------------------------- Java properties


def _properties(values: dict[str, Any]) -> str:
    """`key=value` lines as java.util.Properties reads them (ISO-8859-1, so anything else as \\uXXXX);
    mappings flatten to dotted keys and lists to `key[0]`, as Spring reads them."""
    lines: list[str] = []
    _properties_flatten("", values, lines)
    return "".join(lines)


def _properties_flatten(prefix: str, value: Any, lines: list[str]) -> None:
    if isinstance(value, dict) and (value or not prefix):
        for key, item in value.items():
            _properties_flatten(f"{prefix}.{key}" if prefix else str(key), item, lines)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _properties_flatten(f"{prefix}[{index}]", item, lines)
    else:
        text = "" if isinstance(value, (dict, list)) else _text(value)
        lines.append(f"{_properties_escape(prefix, key=True)}={_properties_escape(text, key=False)}\n")


def _properties_escape(text: str, *, key: bool) -> str:
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in _PROPERTIES_ESCAPES:
            out.append(_PROPERTIES_ESCAPES[char])
        elif char == " " and (key or index == 0):
            out.append("\\ ")
        elif char in "=:#!" and (key or index == 0):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


_PROPERTIES_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


# ---------------------------------------------------------------- dotenv

_ENV_PLAIN = r"[A-Za-z0-9_./:@%+,=-]*"
_ENV_KEY = r"[A-Za-z0-9_.-]+"


def _env_key(name: str) -> str:
    if re.fullmatch(_ENV_KEY, name):
        return name
    raise UnwritableValue(f"an env file key cannot be {name!r} (letters, digits, '_', '.' and '-')")


def _env_value(text: str) -> str:
    """Plain when nothing in it is syntax; else single-quoted (literal to dotenv readers); else, for a
    value holding a quote or a line break, double-quoted with backslash escapes."""
    if re.fullmatch(_ENV_PLAIN, text):
        return text
    if "'" not in text and "\n" not in text and "\r" not in text:
        return f"'{text}'"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _text(value: Any) -> str:
    """A value as a variable or file holds it: scalars by the one rule (shape.scalar_text), lists and
    mappings as JSON, nothing as empty; anything else (a YAML date) as Python prints it."""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    text = scalar_text(value)
    return str(value) if text is None else text
