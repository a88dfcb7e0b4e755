"""File stamps: what changes when a file is edited, replaced, created, deleted or chmod-ed.

One definition for everything that must notice a changed input: the start-up fast path (is a
record still valid?), the local store (parse again?) and --watch (restart?). Only `os`: the fast
path uses it.
"""

from __future__ import annotations

import os

Stamp = tuple[int, ...]


def stamp(path: str) -> Stamp | None:
    """None for a missing file, so a file that appears is a change too."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino, info.st_mode)


def stamp_inputs(paths: list[str]) -> list[tuple[str, Stamp | None]]:
    """Taken before the inputs are read, so an edit made meanwhile invalidates what was built from them."""
    return [(path, stamp(path)) for path in paths]
