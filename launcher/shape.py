"""Checking the shape of parsed YAML while remembering where we are, so each problem names its path.

Shared by the manifest reader and the store reader: both report every problem at once, each as
`file: path.inside[2].it: expected ...`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from launcher.errors import ProblemCollector


def child(path: str, key: str | int) -> str:
    """`dependencies` + `connectionReferences` -> `dependencies.connectionReferences`; ints index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


def mapping(value: Any, path: str, problems: ProblemCollector, *, required: bool = True) -> dict | None:
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return None
    problems.add(path, f"expected a mapping, got {type_name(value)}")
    return None


def sequence(value: Any, path: str, problems: ProblemCollector, *, required: bool = False) -> list:
    """A list, or an empty one when absent and optional."""
    if isinstance(value, list):
        return value
    if value is None and not required:
        return []
    problems.add(path, f"expected a list, got {type_name(value)}")
    return []


def mappings(raw: Any, base: str, problems: ProblemCollector,
             allowed: frozenset[str] | None = None) -> Iterator[tuple[str, dict]]:
    """(path, item) for each item of an optional list that is a mapping; the rest are problems.

    With `allowed`, keys outside it are warned about (see known_keys).
    """
    for index, item in enumerate(sequence(raw, base, problems)):
        path = child(base, index)
        entry = mapping(item, path, problems)
        if entry is not None:
            if allowed is not None:
                known_keys(entry, allowed, path, problems)
            yield path, entry


def known_keys(entry: dict, allowed: frozenset[str], path: str, problems: ProblemCollector) -> None:
    """Warn about keys outside `allowed`: ignored (newer platforms add keys), but a typo such as
    `connectionRefrences` would otherwise silently inject nothing."""
    for key in entry:
        if key in allowed:
            continue
        from difflib import get_close_matches  # only when there is something to suggest

        close = get_close_matches(str(key), sorted(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (expected {', '.join(sorted(allowed))})"
        problems.warn(child(path, str(key)), f"unknown key, ignored{hint}")


def text(
    value: Any, path: str, problems: ProblemCollector, *, what: str = "a string", required: bool = True
) -> str | None:
    """A non-empty string; numbers are accepted as text (YAML reads `port: 5432` as an int)."""
    if isinstance(value, bool):
        problems.add(path, f"expected {what}, got a boolean (YAML reads yes/no/on/off/true/false as "
                           "booleans; quote the text)")
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None and not required:
        return None
    problems.add(path, f"expected {what}, got {type_name(value) if value != '' else 'an empty string'}")
    return None


def variable(value: Any, path: str, problems: ProblemCollector) -> str | None:
    """An environment variable name: letters, digits and `_`, not starting with a digit."""
    from launcher.naming import is_valid_variable

    name = text(value, path, problems, what="a variable name")
    if name and not is_valid_variable(name):
        problems.add(path, f"invalid variable name {name!r}: expected letters, digits and '_', not starting "
                           "with a digit")
        return None
    return name
