"""The parse cache: what a launch parsed from a YAML file, kept so the next launch need not parse it.

Parsing is cheap; importing the parser is not (pyyaml is ~10 ms of a ~40 ms launch, see
docs/performance.md). A launch keeps the data each manifest and local store file parsed to,
together with the file's exact bytes; a later launch that reads byte-for-byte the same file takes
the data from here and never imports pyyaml. The bytes are compared, not a stamp: an edited,
replaced or touched file can never be served stale, whatever its mtime says. Everything after
parsing (validation, every message, every warning) runs as always. Only parsing that succeeded is
kept, so a broken file is reported again each time.

The data are secrets (a store's values), so entries are kept as the fast-path records are: 0600
files in a 0700 directory we own (`$XDG_CACHE_HOME/choreo-run/parsed`), read only when both are
still ours and private, and an entry whose file changed is removed. Off unless a launch turns it on
(`enable`); `CHOREO_RUN_PARSE_CACHE=0` keeps it off. Only `os`, `sys` and `marshal` at the top.
"""

from __future__ import annotations

import marshal
import os
import sys

from launcher.files.marshalled import load_private

FORMAT = 1
#: Where entries live; None while the cache is off (library use, tests, every command but a launch).
directory: str | None = None
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # launcher/


def enable(environ: dict[str, str] | os._Environ) -> None:
    """Turn the cache on for this process (a launch), unless CHOREO_RUN_PARSE_CACHE=0."""
    global directory
    if environ.get("CHOREO_RUN_PARSE_CACHE") == "0":
        return
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "choreo-run", "parsed")


def disable() -> None:
    global directory
    directory = None


def _entry_path(path: str) -> tuple[str, str]:
    """(the file's absolute path, its entry's path): the entry is named after a hash of the path."""
    absolute = os.path.abspath(path)
    digest = 0xCBF29CE484222325  # 64-bit FNV-1a; the entry holds the full path, so a collision is a miss
    for byte in absolute.encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return absolute, os.path.join(directory or "", f"{digest:016x}.yaml")


def _parser_stamps() -> list[tuple[int, int] | None]:
    """An upgraded launcher may parse differently: its parser, its version and the interpreter (a
    bundle's own binary, whose modules are not files) are part of every entry."""
    found: list[tuple[int, int] | None] = []
    parser_files = ("documents/yamlparse.py", "documents/yamlfile.py", "__init__.py")
    for path in [os.path.join(_PACKAGE, name) for name in parser_files] + [sys.executable]:
        try:
            info = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((info.st_mtime_ns, info.st_size))
    return found


def lookup(path: str, raw: bytes) -> tuple[bool, object]:
    """(True, data) when `raw`, the bytes just read from `path`, is exactly what the entry was parsed from."""
    if directory is None:
        return False, None
    absolute, entry_path = _entry_path(path)
    entry = _load(entry_path)
    if entry is None:
        return False, None
    if entry.get("path") != absolute or entry.get("parser") != _parser_stamps() or entry.get("raw") != raw:
        if entry.get("path") == absolute:
            _forget(entry_path)  # the file changed: its old values do not stay on disk
        return False, None
    return True, entry.get("data")


def remember(path: str, raw: bytes, data: object) -> None:
    """Keep what `raw` parsed to; silently nothing when it cannot be kept (unwritable, a date in it)."""
    if directory is None:
        return
    absolute, entry_path = _entry_path(path)
    try:
        payload = marshal.dumps(
            {"format": FORMAT, "path": absolute, "parser": _parser_stamps(), "raw": raw, "data": data}
        )
    except ValueError:  # a YAML timestamp (datetime) has no marshal form: parse such a file every time
        return
    from launcher.files.atomic import atomic_write

    try:
        # directory_mode 0700: created private, or verified to be (ours, no group/other bits, no
        # symlink, no parent another user controls); otherwise UnsafeDirectory and nothing is kept.
        atomic_write(entry_path, payload, mode=0o600, directory_mode=0o700)
    except OSError:
        pass


def _forget(entry_path: str) -> None:
    try:
        os.unlink(entry_path)
    except OSError:
        pass


def _load(entry_path: str) -> dict | None:
    """The entry, if it and its directory are ours and private (launcher.files.marshalled)."""
    entry = load_private(entry_path)
    return entry if entry is not None and entry.get("format") == FORMAT else None
