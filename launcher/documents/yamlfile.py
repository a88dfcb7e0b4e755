"""Reading YAML files defensively: safe types only, no duplicate keys, bounded size, depth and aliases.

Every failure becomes one `Problem` naming the file and the line, raised as the error class the
caller chooses (a manifest and a store file fail with different exit codes).

The bounds are measured on the composed node tree, while it is composed, by an iterative composer
(no recursion, whatever the input):

* depth: at most MAX_DEPTH nested collections, block and flow alike, counted through aliases;
* aliases: an alias stands for a whole copy of its anchor's subtree wherever the document is walked
  (validated, printed, written as a configuration file), so the copies aliases add are counted
  (nodes plus scalar characters) and refused past MAX_ALIAS_EXPANSION; a document without aliases
  is never refused by this bound, and an alias to its own enclosing anchor is refused at once;
* size: the file is read through `launcher.files.reading` (regular files only, at most MAX_FILE_BYTES).

The parser itself (PyYAML) is `launcher.documents.yamlparse`, imported only when a file is really parsed: a
launch may keep what it parsed in the parse cache (`launcher.files.parsecache`), which serves the same
data again only for byte-for-byte the same file.
"""

from __future__ import annotations

import os

from launcher.errors import LauncherError, Problem
from launcher.files.reading import (
    MISSING,
    NOT_TEXT,
    TOO_LARGE,
    FileRefused,
    decode_text,
    describe_size,
    read_small_file,
)

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
#: What aliases may add to a document: nodes plus scalar characters of every copy they stand for.
MAX_ALIAS_EXPANSION = 1 << 20


def load_yaml_file(path: str, error_class: type[LauncherError], missing_class: type[LauncherError]) -> Any:
    """Parse `path`; raise `missing_class` if absent or not a readable regular file, `error_class` for
    anything malformed or too large."""
    try:
        raw = read_small_file(path, MAX_FILE_BYTES)
    except FileRefused as refused:
        if refused.kind in (TOO_LARGE, NOT_TEXT):
            raise error_class([Problem(refused.reason, path)]) from None
        # Not there, a directory, a FIFO or a device, or unreadable: the file asked for is not available.
        reason = refused.reason if refused.kind != MISSING else "file not found"
        raise missing_class([Problem(reason, path)]) from None
    from launcher.files import parsecache

    if parsecache.directory is None:  # off unless a launch turned it on
        return parse_yaml_bytes(raw, path, error_class)
    found, data = parsecache.lookup(path, raw)
    if not found:
        data = parse_yaml_bytes(raw, path, error_class)  # a failure is never kept: it is reported again
        parsecache.remember(path, raw, data)
    return data


def parse_yaml_bytes(raw: bytes, path: str, error_class: type[LauncherError]) -> Any:
    if len(raw) > MAX_FILE_BYTES:
        raise error_class([Problem(f"file is larger than {describe_size(MAX_FILE_BYTES)}", path)])
    try:
        text = decode_text(raw)
    except FileRefused as refused:
        raise error_class([Problem(refused.reason, path)]) from None
    from launcher.documents.yamlparse import parse_text

    return parse_text(text, path, error_class)


def describe_file(path: str) -> str:
    """A path as the user typed it, shortened relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
