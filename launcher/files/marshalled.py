"""Reading back what the launcher marshalled into one of its private directories.

marshal data must come only from a file nobody else could have written: the file and its directory
must be ours, without group or other bits, and neither may be a symlink. Shared by the start-up fast
path's records and the parse cache; imports only `os` and `marshal` (the fast path reads through it).
"""

from __future__ import annotations

import marshal
import os


def load_private(path: str) -> dict | None:
    """The dict marshalled at `path`, or None when it is missing, damaged or not private."""
    me = os.geteuid()
    directory = -1
    try:
        directory = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        info = os.fstat(directory)
        if info.st_uid != me or info.st_mode & 0o077:
            return None
        descriptor = os.open(os.path.basename(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
        with open(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != me or info.st_mode & 0o077:
                return None
            loaded = marshal.loads(handle.read())  # one read: marshal.load reads a file in small pieces
    except (OSError, EOFError, ValueError, TypeError):
        return None
    finally:
        if directory >= 0:
            os.close(directory)
    return loaded if isinstance(loaded, dict) else None
