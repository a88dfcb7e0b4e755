"""Reading YAML files defensively: safe types only, no duplicate keys, bounded size and depth.

Every failure becomes one `Problem` naming the file and the line, raised as the error class the
caller chooses (a manifest and a store file fail with different exit codes).
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from launcher.errors import LauncherError, Problem

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "expected a plain key (string or number)", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_file(path: str, error_class: type[LauncherError], missing_class: type[LauncherError]) -> Any:
    """Parse `path`; raise `missing_class` if absent, `error_class` for anything malformed."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise missing_class([Problem("file not found", path)]) from None
    except IsADirectoryError:
        raise missing_class([Problem("expected a file, found a directory", path)]) from None
    except OSError as error:
        raise missing_class([Problem(f"cannot read: {error.strerror}", path)]) from None
    return parse_yaml_bytes(raw, path, error_class)


def parse_yaml_bytes(raw: bytes, path: str, error_class: type[LauncherError]) -> Any:
    if len(raw) > MAX_FILE_BYTES:
        raise error_class([Problem(f"file is larger than {MAX_FILE_BYTES} bytes", path)])
    if b"\x00" in raw:
        raise error_class([Problem("expected a text file, found a NUL byte", path)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise error_class([Problem(f"expected UTF-8 text, found a bad byte at offset {error.start}", path)]) from None
    _check_depth(text, path, error_class)
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        raise error_class([Problem(_describe(error), path)]) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError) as error:
        raise error_class([Problem(f"invalid YAML: {type(error).__name__}", path)]) from None
    if _is_recursive(data):
        raise error_class([Problem("invalid YAML: an alias refers to its own anchor (a recursive structure)", path)])
    return data


def _is_recursive(data: Any) -> bool:
    """Whether a container contains itself. Linear: shared (aliased) containers are visited once."""
    finished: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            finished.add(id(node))
            continue
        if not isinstance(node, (dict, list)) or id(node) in finished:
            continue
        if id(node) in on_path:
            return True
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _describe(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = (error.problem or error.context or "invalid YAML").strip()
    if "could not determine a constructor" in problem:
        problem = "YAML tags that construct objects are not allowed"
    return f"{where}invalid YAML: {problem}"


def _check_depth(text: str, path: str, error_class: type[LauncherError]) -> None:
    """Refuse pathological nesting before the parser recurses into it."""
    depth = max_depth = 0
    for char in text:
        if char in "[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    indent_depth = max((len(line) - len(line.lstrip(" ")) for line in text.splitlines()), default=0) // 2
    if max(max_depth, indent_depth) > MAX_DEPTH:
        raise error_class([Problem(f"nesting deeper than {MAX_DEPTH} levels is not allowed", path)])


def describe_file(path: str) -> str:
    """A path as the user typed it, shortened relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
