"""PyYAML, bounded: the parser behind launcher.documents.yamlfile (which documents the bounds).

A module of its own so that pyyaml (~10 ms of imports) is loaded only when a file is really parsed:
a launch whose manifest and store are in the parse cache (launcher.files.parsecache) never imports it.
"""

from __future__ import annotations

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from launcher.documents.yamlfile import MAX_ALIAS_EXPANSION, MAX_DEPTH
from launcher.errors import LauncherError, Problem

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

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


def parse_text(text: str, path: str, error_class: type[LauncherError]) -> Any:
    """The single document of `text`, composed within the bounds; `error_class` for anything wrong."""
    loader = _StrictLoader(text)
    try:
        node = _compose_document(loader)
        return None if node is None else loader.construct_document(node)
    except _Refused as refused:
        raise error_class([Problem(f"{_where(refused.mark)}{refused.message}", path)]) from None
    except yaml.MarkedYAMLError as error:
        raise error_class([Problem(_describe(error), path)]) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError) as error:
        raise error_class([Problem(f"invalid YAML: {type(error).__name__}", path)]) from None
    finally:
        loader.dispose()


class _Refused(Exception):
    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Open:
    """A collection being composed: its node, its children so far, and its measures."""

    __slots__ = ("anchor", "children", "height", "node", "size")

    def __init__(self, node: Node, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.children: list[Node] = []
        self.size = 1  # nodes plus scalar characters, aliases counted as the copies they stand for
        self.height = 1  # nested collections, this one included


def _compose_document(loader: Any) -> Node | None:
    """The single document's node tree, as PyYAML's Composer builds it, but iteratively and measured."""
    loader.get_event()  # StreamStartEvent
    if loader.check_event(StreamEndEvent):
        loader.get_event()
        return None
    loader.get_event()  # DocumentStartEvent
    anchors: dict[str, tuple[Node, int, int]] = {}  # anchor -> (node, size, height), once complete
    open_anchors: set[str] = set()
    stack: list[_Open] = []
    aliased = 0  # what aliases added so far
    root: Node | None = None

    def finish(node: Node, size: int, height: int, anchor: str | None) -> None:
        nonlocal root
        if anchor is not None:
            anchors[anchor] = (node, size, height)
            open_anchors.discard(anchor)
        if stack:
            parent = stack[-1]
            parent.children.append(node)
            parent.size += size
            parent.height = max(parent.height, height + 1)
        else:
            root = node

    def claim(anchor: str | None, mark: Any) -> None:
        if anchor is not None and (anchor in anchors or anchor in open_anchors):
            raise yaml.composer.ComposerError(None, None, f"found duplicate anchor {anchor!r}", mark)

    while True:
        event = loader.get_event()
        start: Any = event.start_mark  # the C parser's marks are not typed as yaml.error.Mark
        end: Any = event.end_mark
        if isinstance(event, ScalarEvent):
            claim(event.anchor, start)
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            node: Node = ScalarNode(tag, event.value, start, end, style=event.style)
            finish(node, 1 + len(event.value), 0, event.anchor)
        elif isinstance(event, CollectionStartEvent):
            claim(event.anchor, start)
            if len(stack) + 1 > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels is not allowed", start)
            kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(kind, None, event.implicit)
            node = kind(tag, [], start, None, flow_style=event.flow_style)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append(_Open(node, event.anchor))
        elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            done = stack.pop()
            done.node.end_mark = end
            children = done.children
            done.node.value = (
                list(zip(children[0::2], children[1::2], strict=True))
                if isinstance(done.node, MappingNode)
                else children
            )
            finish(done.node, done.size, done.height, done.anchor)
        elif isinstance(event, AliasEvent):
            if event.anchor in open_anchors:
                raise _Refused("invalid YAML: an alias refers to its own anchor (a recursive structure)", start)
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", start)
            node, size, height = anchors[event.anchor]
            aliased += size
            if aliased > MAX_ALIAS_EXPANSION:
                raise _Refused(
                    f"aliases expand the document by more than {MAX_ALIAS_EXPANSION} nodes and characters; "
                    "write the values out or use fewer aliases",
                    start,
                )
            if len(stack) + height > MAX_DEPTH:
                raise _Refused(f"nesting deeper than {MAX_DEPTH} levels is not allowed (through an alias)", start)
            finish(node, size, height, None)  # the anchor's node itself: PyYAML shares it too
        elif isinstance(event, DocumentEndEvent):
            break
        else:  # StreamEnd cannot come before DocumentEnd; anything else is a parser bug
            raise yaml.composer.ComposerError(None, None, f"unexpected {type(event).__name__}", start)
    if not loader.check_event(StreamEndEvent):
        following: Any = loader.get_event().start_mark
        raise yaml.composer.ComposerError(None, None, "expected a single document, found another one", following)
    loader.get_event()
    return root


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _describe(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    problem = (error.problem or error.context or "invalid YAML").strip()
    if "could not determine a constructor" in problem:
        problem = "YAML tags that construct objects are not allowed"
    return f"{_where(mark)}invalid YAML: {problem}"
