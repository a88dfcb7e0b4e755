"""The `configurations` section of component.yaml: `env` entries and mounted `file` entries.

Each value has exactly one source: a literal `value`, or `valueFrom` with one of `connectionRef`,
`configGroupRef` or `configForm`. The legacy singular `configuration` key is read too.
"""

from __future__ import annotations

import os

from launcher.documents.shape import Node, type_name
from launcher.manifest.grammar import yup_boolean
from launcher.model import EnvEntry, FileEntry, FileValue, ValueSource

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

VALUE_FROM_KINDS = ("connectionRef", "configGroupRef", "configForm")
ENV_ENTRY_KEYS = frozenset({"name", "value", "valueFrom"})  # also the values of a file
FILE_ENTRY_KEYS = frozenset({"name", "mountPath", "type", "values"})
REF_KEYS = frozenset({"name", "key"})
# What a mounted file can be written as (launcher.resolve.config.render); `yml` and `dotenv` are read
# as yaml and env, `txt` and `conf` as text.
FILE_TYPES = ("yaml", "json", "toml", "ini", "xml", "properties", "env", "text")
FILE_TYPE_ALIASES = {"yml": "yaml", "dotenv": "env", "txt": "text", "cfg": "ini", "conf": "text"}
# configForm keys used by Choreo (its console, docs and validator) and real repositories; others are
# warned about with a "did you mean". `defaultValue` is read as `default`.
CONFIG_FORM_KEYS = frozenset(
    {"displayName", "type", "required", "default", "defaultValue", "description", "values", "properties", "items"}
)
CONFIG_FORM_PROPERTY_KEYS = CONFIG_FORM_KEYS | {"name"}


def read_configurations(root: Node, version: str | None) -> tuple[tuple[EnvEntry, ...], tuple[FileEntry, ...]]:
    env: list[EnvEntry] = []
    files: list[FileEntry] = []
    for name in ("configurations", "configuration"):
        if not root.has(name):
            continue
        section = root.key(name)
        if name == "configuration":
            section.warn("legacy singular key, read as `configurations`")
        section.mapping(required=False, keys=frozenset({"env", "file", "files"}))
        env += _env_entries(section.key("env"))
        file_node = section.key("file")
        if section.has("files"):
            if section.has("file"):
                section.key("files").warn("ignored: `file` (singular) is the section Choreo reads, and it is there")
            else:
                section.key("files").warn("misplaced: Choreo reads `file` (singular); read as `file`")
                file_node = Node(section.key("files").value, file_node.path, root.sink)
        files += _file_entries(file_node)
    for found in ("env", "file", "files"):
        # Sections written at the top level that belong under `configurations`.
        if not root.has(found):
            continue
        target = "configurations." + ("env" if found == "env" else "file")
        already = env if found == "env" else files
        if already or root.key("configurations").key(target.split(".")[1]).value is not None:
            root.key(found).warn(f"ignored: this section belongs under `{target}`, which is already there")
            continue
        root.key(found).warn(f"misplaced: this section belongs under `{target}`; read as `{target}`")
        moved = Node(root.key(found).value, target, root.sink)
        if found == "env":
            env += _env_entries(moved)
        else:
            files += _file_entries(moved)
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
    seen: set[str] = set()
    for entry in node.mappings(ENV_ENTRY_KEYS):
        variable = entry.key("name").variable_name()
        source = read_value_source(entry)
        if variable and variable in seen:
            entry.key("name").problem(f"variable {variable} is declared twice in this list (names must be unique)")
            continue
        if variable:
            seen.add(variable)
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
        if entry.key("value").value in (None, ""):
            # Choreo's validator wants a value that is not empty; an empty one is meant here (docs/store.md).
            entry.key("value").warn("an empty value: Choreo's validator refuses it (set it in the console instead)")
        return _literal(entry.key("value"))
    if value_from.value is None:
        entry.problem("expected `value` or `valueFrom`, got neither")
        return None
    if not value_from.mapping(keys=frozenset(VALUE_FROM_KINDS)):
        return None
    # `connectionRef: null` is as good as absent (Choreo's schema makes each kind nullable).
    kinds = [kind for kind in VALUE_FROM_KINDS if value_from.key(kind).value is not None]
    if len(kinds) != 1:
        # Only the known kinds are named: any other key was warned about without being quoted.
        got = ", ".join(kinds) or "none of them"
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
        form = read_config_form(node)
        return None if form is None else ValueSource(kind, form=form, path=node.path)
    if not node.mapping(keys=REF_KEYS):
        return None
    name = node.key("name").text("a connection name" if kind == "connectionRef" else "a config group name")
    key = node.key("key").text("a key")
    if not (name and key):
        return None
    return ValueSource(kind, ref_name=name, ref_key=key, path=node.path)


def read_config_form(node: Node) -> dict[str, Any] | None:
    """A configForm's attributes: keys checked (with a "did you mean"), `defaultValue` read as
    `default`, `required` as yup reads a boolean ("true", 1, "False" ...), the rest as Choreo checks it."""
    if not node.mapping(keys=CONFIG_FORM_KEYS):
        return None
    form = dict(node.value)
    ok = True
    for key in ("displayName", "type", "description"):
        value = node.key(key).value
        if value is not None and not isinstance(value, (str, int, float)):
            node.key(key).problem(f"expected a string, got {type_name(value)}")
            ok = False
    if "required" in form and form["required"] is not None:
        required = yup_boolean(form["required"])
        if required is None:
            node.key("required").problem(f"expected true or false, got {type_name(form['required'])}")
            ok = False
        form["required"] = required
    if "defaultValue" in form:
        if "default" in form and form["default"] != form["defaultValue"]:
            node.key("defaultValue").problem("expected one of `default` or `defaultValue`, got both, different")
            ok = False
        form.setdefault("default", form.pop("defaultValue"))
        form.pop("defaultValue", None)
        node.key("defaultValue").plain_data()
    node.key("default").plain_data()  # becomes the value's text, or part of a rendered file
    _check_properties(node.key("properties"))
    _check_items(node.key("items"))
    return form if ok else None


def _check_properties(node: Node) -> None:
    """`properties` of an object form: each a mapping with Choreo's keys (warned about otherwise)."""
    for item in node.mappings(CONFIG_FORM_PROPERTY_KEYS):
        _check_properties(item.key("properties"))
        _check_items(item.key("items"))


def _check_items(node: Node) -> None:
    if node.mapping(required=False, keys=CONFIG_FORM_KEYS):
        _check_properties(node.key("properties"))
        _check_items(node.key("items"))


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
    """The declared type, else the one the file name's extension says (`.env` files by their name)."""
    if node.value is None:
        base = (name or "").lower()
        extension = os.path.splitext(base)[1].lstrip(".") or ("env" if base.startswith(".env") else "")
        extension = FILE_TYPE_ALIASES.get(extension, extension)
        return extension if extension in FILE_TYPES else "text"
    file_type = node.text("a file type")
    if not file_type:
        return None
    file_type = FILE_TYPE_ALIASES.get(file_type.lower(), file_type.lower())
    if file_type not in FILE_TYPES:
        node.problem(f"expected one of {', '.join(FILE_TYPES)}, got {node.value!r}")
        return None
    return file_type


def _file_values(node: Node) -> list[FileValue]:
    values = []
    for entry in node.mappings(ENV_ENTRY_KEYS):
        name = entry.key("name").text("a value name")
        source = read_value_source(entry)
        if name and source:
            values.append(FileValue(name, source, entry.path))
    return values
