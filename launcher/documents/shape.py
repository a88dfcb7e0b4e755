"""Checking the shape of parsed YAML (or JSON) while remembering where we are.

One idiom for every reader: a `Node` is a value, its path in the document and the shared problem
sink. Readers walk with `.key("env")`, `.at(2)`, `.list()`, `.mappings(KEYS)`, `.entries()` and ask
for what they need with `.text()`, `.scalar()`, `.flag()`, ... (`.text_at("id")` and
`.scalar_at("value")` are `.key(...).text()` and `.key(...).scalar()` that make the child node only
to report a problem); a value of the wrong shape becomes one problem,
`file: path.inside[2].it: expected ..., got ...`, and the reader carries on so the user sees every
problem at once. Messages describe types, never values (values may be
secrets); a reader that echoes a value does so itself, for values that are not secret by nature.
Keys are shown only when they look like names (a YAML typo can make a value a key): see key_segment
and describe_unknown_key.

    root = Node.root(data, "store.yaml")
    for item in root.key("projects").mappings(PROJECT_KEYS):
        name = item.key("name").text("a project name")   # problem at projects[0].name if wrong
    root.raise_if_any(ConfigurationError)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

from launcher.errors import LauncherError, ProblemCollector

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

_BOOLEAN_HINT = " (YAML reads yes/no/on/off/true/false as booleans; quote the text)"
_DATE_HINT = " (YAML reads an unquoted date as a date; quote the text)"


def scalar_text(value: Any) -> str | None:
    """The one rule for a YAML scalar as text: booleans as `true`/`false` (what YAML and JSON write),
    numbers as Python prints them (`port: 5432` -> "5432"), strings unchanged.

    None for anything else (nothing, dates, sets, binary, lists, mappings): the caller decides
    whether that is a problem, so each reader can name the path and what it expected.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


# A key is shown in a message (and in a path) only when it looks like a name: a typo such as
# `{secret: true, value:s3cr3t}` (no space after the colon) makes YAML read `value:s3cr3t` as a key.
_NAME_LIKE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
# An unknown key is quoted only when it is also an identifier and a near miss of a known key.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
NEAR_MISS = 2  # edits (insertions, deletions, substitutions, transpositions) that make a typo


def key_segment(key: str) -> str:
    """A key as a path shows it: itself when it looks like a name, else described, never quoted
    (`<a key of 12 characters>`), since a key that is not a name may be a value YAML misread."""
    return key if _NAME_LIKE.fullmatch(key) else f"<a key of {len(key)} characters>"


def child(path: str, key: str | int) -> str:
    """`dependencies` + `connectionReferences` -> `dependencies.connectionReferences`; ints index.
    A key that does not look like a name is described, not quoted (see key_segment)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = key_segment(key)
    return f"{path}.{key}" if path else key


def edit_distance(a: str, b: str, limit: int = NEAR_MISS) -> int:
    """Optimal string alignment distance of `a` and `b` (case-insensitive), or `limit + 1` once it
    is known to exceed `limit`."""
    a, b = a.lower(), b.lower()
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
        if min(previous) > limit:
            return limit + 1
    return previous[-1]


def near_miss(name: str, allowed: frozenset[str]) -> str | None:
    """The known key `name` is a typo of (the closest, then the first in order), or None."""
    # One edit per three letters of the known key, at most NEAR_MISS: `ab` is no typo of `id`.
    scored = sorted(
        (distance, known)
        for known in allowed
        if (distance := edit_distance(name, known)) <= min(NEAR_MISS, max(1, len(known) // 3))
    )
    return scored[0][1] if scored else None


def describe_unknown_key(name: Any, allowed: frozenset[str], *, secret_bearing: bool = False) -> tuple[bool, str]:
    """(whether the key itself may be shown, the message) for a key outside `allowed`.

    Shown only when it is provably not a value: an identifier of bounded length that is a near miss
    of a known key, outside a mapping that holds secrets. Otherwise described by what it is.
    """
    text = str(name)
    close = near_miss(text, allowed) if isinstance(name, str) and _IDENTIFIER.fullmatch(text) else None
    expected = f"expected {', '.join(sorted(allowed))}"
    if close is not None and not secret_bearing:
        return True, f"unknown key, ignored; did you mean {close!r}?"
    what = "an unknown key" if secret_bearing else f"an unknown key of {len(text)} characters"
    if close is not None:
        return False, f"{what}, ignored (not shown: this mapping holds secrets); did you mean {close!r}?"
    head, colon, _ = text.partition(":")
    if colon and head.strip() in allowed:  # `{value:s3cr3t}`: YAML needs a space after the colon
        return False, (
            f"{what}, ignored (not shown, it may hold a value): it starts with {head.strip() + ':'!r}; "
            f"in a {{...}} mapping YAML needs a space after the colon (`{head.strip()}: ...`)"
        )
    return False, f"{what}, ignored (not shown, it may hold a value; {expected})"


def type_name(value: Any) -> str:
    """What a value is, in words for a message ("got a list"); never the value itself."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    import datetime  # only for a message: not on every launch (docs/performance.md, issue 16)

    # datetime before date: a datetime is a date too.
    for kind, name in (
        (str, "a string"),
        (dict, "a mapping"),
        (list, "a list"),
        (datetime.datetime, "a date and time"),
        (datetime.date, "a date"),
        ((set, frozenset), "a set"),
        ((bytes, bytearray), "binary data"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def shown(value: Any) -> str:
    """A value that is never secret (a version, a kind) as a message shows it: plain scalars as
    written, anything else by its type (a date's repr would read as Python, not as the user's YAML)."""
    return repr(value) if value is None or isinstance(value, (str, int, float)) else type_name(value)


_new_node = object.__new__  # Node._child fills every slot itself


def _as_text(value: Any) -> str | None:
    """What Node.text accepts as text (see there), or None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return scalar_text(value)
    return None


def _got(value: Any) -> str:
    """The `got ...` part of a message about a value where a scalar belongs, with a hint when YAML
    typed the user's text as something else."""
    if value == "":
        return "an empty string"
    if isinstance(value, bool):
        return "a boolean" + _BOOLEAN_HINT
    datetime = sys.modules.get("datetime")  # no date can have been parsed without it
    if datetime is not None and isinstance(value, datetime.date):
        return type_name(value) + _DATE_HINT
    return type_name(value)


class Node:
    """A value from a parsed document, where it sits in it, and where problems about it go.

    Navigating never fails: a key of something that is not a mapping, or a missing key, is a Node
    holding None, so a reader states what it expects at each step and the first wrong shape is
    reported once, where it is.

    A node made by `key` or `at` keeps its parent and its key or index, and writes its path text
    (`a.b[3].c`) only when something asks for it (a problem, a warning, a record that keeps its
    place), once: a store of a thousand connections visits tens of thousands of nodes, and almost
    none of them is ever reported (docs/performance.md).
    """

    __slots__ = ("_parent", "_path", "_segment", "sink", "value")

    def __init__(self, value: Any, path: str, sink: ProblemCollector) -> None:
        self.value = value
        self._path: str | None = path
        self.sink = sink
        self._parent: Node | None = None
        self._segment: str | int = ""

    @classmethod
    def root(cls, value: Any, file: str | None) -> Node:
        """The whole document of `file` (named in every message) with a fresh problem sink."""
        return cls(value, "", ProblemCollector(file))

    def __repr__(self) -> str:  # the value may be a secret: show where, not what
        return f"Node({self.path or '<root>'})"

    @property
    def path(self) -> str:
        """Where this is in the document: `dependencies.connectionReferences[2].name`."""
        path = self._path
        if path is None:
            assert self._parent is not None  # only `_child` leaves the path unwritten
            path = self._path = child(self._parent.path, self._segment)
        return path

    # ------------------------------------------------------------ moving around

    def _child(self, value: Any, segment: str | int) -> Node:
        """The node holding `value` under `segment` (a key as text, or a list index) of this one."""
        node = _new_node(Node)
        node.value = value
        node._path = None
        node.sink = self.sink
        node._parent = self
        node._segment = segment
        return node

    def key(self, name: Any) -> Node:
        """The value under `name` (None when absent or when this is not a mapping)."""
        value = self.value
        return self._child(
            value.get(name) if isinstance(value, dict) else None, name if type(name) is str else str(name)
        )

    def at(self, index: int) -> Node:
        return self._child(self.value[index] if isinstance(self.value, list) else None, index)

    def has(self, name: str) -> bool:
        """Whether the mapping holds `name` at all (`value: null` is there, with nothing in it)."""
        return isinstance(self.value, dict) and name in self.value

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    # ------------------------------------------------------------ reporting

    @property
    def file(self) -> str:
        """The document as messages name it."""
        return self.sink.file or ""

    def problem(self, message: str) -> None:
        self.sink.add(self.path, message)

    def warn(self, message: str) -> None:
        self.sink.warn(self.path, message)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.sink.warnings)

    def raise_if_any(self, error_class: type[LauncherError]) -> None:
        self.sink.raise_if_any(error_class)

    # ------------------------------------------------------------ containers

    def mapping(
        self, *, required: bool = True, keys: frozenset[str] | None = None, secret_bearing: bool = False
    ) -> bool:
        """Whether this is a mapping; a problem when it is something else (or absent and required).

        With `keys`, keys outside them are warned about (see known_keys).
        """
        if isinstance(self.value, dict):
            if keys is not None:
                self.known_keys(keys, secret_bearing=secret_bearing)
            return True
        if self.value is not None or required:
            self.problem(f"expected a mapping, got {type_name(self.value)}")
        return False

    def list(self, *, required: bool = False) -> list[Node]:
        """Each item of a list; none when absent and optional, a problem when not a list."""
        if isinstance(self.value, list):
            make = self._child
            return [make(item, index) for index, item in enumerate(self.value)]
        if self.value is not None or required:
            self.problem(f"expected a list, got {type_name(self.value)}")
        return []

    def mappings(self, keys: frozenset[str] | None = None) -> Iterator[Node]:
        """Each item of an optional list that is a mapping (warned about keys outside `keys`);
        every other item is a problem."""
        return (item for item in self.list() if item.mapping(keys=keys))

    def entries(self) -> Sequence[tuple[str, Node]]:
        """(name, value) for an optional mapping used as a map (environments, parameters): any
        name is allowed, so none is warned about."""
        found: list[tuple[str, Node]] = []
        if self.mapping(required=False):
            make, add = self._child, found.append
            for name, value in self.value.items():
                text = name if type(name) is str else str(name)
                add((text, make(value, text)))
        return found

    def known_keys(self, allowed: frozenset[str], *, secret_bearing: bool = False) -> None:
        """Warn about keys outside `allowed`: ignored (newer platforms add keys), but a typo such as
        `connectionRefrences` would otherwise silently inject nothing.

        The key is named only when it is provably not a value (describe_unknown_key): a YAML typo such
        as `{secret: true, value:s3cr3t}` makes a value a key. `secret_bearing` (a parameter, an OAuth
        application's credentials) never names one.
        """
        value = self.value
        if not isinstance(value, dict) or allowed.issuperset(value):  # the usual case, in one C call
            return
        for name in value:
            if name in allowed:
                continue
            shown_key, message = describe_unknown_key(name, allowed, secret_bearing=secret_bearing)
            (self.key(name) if shown_key else self).warn(message)

    def plain_data(self) -> None:
        """Problems for whatever JSON could not carry (dates, sets, binary) anywhere inside: such
        values would reach a rendered file or the HTTP contract only by guessing their text."""
        stack = [self]
        while stack:
            node = stack.pop()
            if isinstance(node.value, dict):
                stack.extend(node.key(name) for name in reversed(list(node.value)))
            elif isinstance(node.value, list):
                stack.extend(reversed(node.list()))
            elif node.value is not None and scalar_text(node.value) is None:
                node.problem(f"expected a string, number, boolean, list or mapping, got {_got(node.value)}")

    # ------------------------------------------------------------ scalars

    def text(self, what: str = "a string", *, required: bool = True) -> str | None:
        """A non-empty string, stripped; numbers are accepted as text (YAML reads `port: 5432` as an
        int), booleans are not (`name: on` is almost always a quoting mistake)."""
        value = self.value
        text = _as_text(value)
        if text is not None or (value is None and not required):
            return text
        self.problem(f"expected {what}, got {_got(value)}")
        return None

    def optional_text(self, what: str = "a string") -> str | None:
        return self.text(what, required=False)

    def scalar(self) -> str | None:
        """Any scalar as text (see scalar_text): a value that is text whatever YAML typed it as."""
        text = scalar_text(self.value)
        if text is None:
            self.problem(f"expected a string, number or boolean, got {_got(self.value)}")
        return text

    # The same, for the value under `name` of this mapping: `node.text_at("id", ...)` is
    # `node.key("id").text(...)`, but makes the child node only when it has a problem to report (a
    # store's thousand connections would otherwise make ten nodes each that nothing ever names).

    def text_at(self, name: str, what: str = "a string", *, required: bool = True) -> str | None:
        value = self.value.get(name) if isinstance(self.value, dict) else None
        text: str | None
        if type(value) is str:  # what _as_text does with a string, without the call
            text = value.strip()
        elif value is None and not required:
            return None
        else:
            text = _as_text(value)
        return text or self.key(name).text(what, required=required)

    def scalar_at(self, name: str) -> str | None:
        value = self.value.get(name) if isinstance(self.value, dict) else None
        # scalar_text, without the call for a string
        text: str | None = value if type(value) is str else scalar_text(value)
        return self.key(name).scalar() if text is None else text

    def variable_name(self) -> str | None:
        """An environment variable name: letters, digits and `_`, not starting with a digit."""
        from launcher.naming import is_valid_variable

        name = self.text("a variable name")
        if name and not is_valid_variable(name):
            self.problem(f"invalid variable name {name!r}: expected letters, digits and '_', not starting with a digit")
            return None
        return name

    def flag(self, name: str, default: bool) -> bool:
        """The boolean under `name`, `default` when absent; a problem for anything else (YAML's
        `secret: maybe` is text, and guessing would be worse than refusing)."""
        value = self.value.get(name, default) if isinstance(self.value, dict) else default
        if isinstance(value, bool):
            return value
        self.key(name).problem(f"expected true or false, got {type_name(value)}")
        return default


# ---------------------------------------------------------------- the functional form
# Kept for readers not (yet) on Node, each a one-line view of it: backends/http/server.py uses
# mapping, sequence, text and child; resolve/pipeline.py uses variable.


def mapping(value: Any, path: str, problems: ProblemCollector, *, required: bool = True) -> dict | None:
    return value if Node(value, path, problems).mapping(required=required) else None


def sequence(value: Any, path: str, problems: ProblemCollector, *, required: bool = False) -> list:
    return [item.value for item in Node(value, path, problems).list(required=required)]


def text(
    value: Any, path: str, problems: ProblemCollector, *, what: str = "a string", required: bool = True
) -> str | None:
    return Node(value, path, problems).text(what, required=required)


def variable(value: Any, path: str, problems: ProblemCollector) -> str | None:
    return Node(value, path, problems).variable_name()
