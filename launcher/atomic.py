"""Writing a file so that readers see the old content or the new, never half: write, fsync, rename.

Only `os`: the start-up fast path uses this too, and `tempfile` alone would cost it milliseconds.
"""

from __future__ import annotations

import os

_counter = [0]


def atomic_write(path: str, data: bytes, mode: int = 0o644, directory_mode: int = 0o755) -> None:
    """Replace `path` with `data`, created with `mode` from the start (no window with wider access)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=directory_mode, exist_ok=True)
    _counter[0] += 1
    temporary = os.path.join(directory, f".choreo-run-{os.getpid()}-{_counter[0]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(descriptor, mode)  # the umask may have narrowed it; never widened beyond `mode`
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
        os.close(descriptor)
        descriptor = -1
        os.replace(temporary, path)
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
