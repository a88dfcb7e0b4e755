"""Writing a file so that readers see the old content or the new, never half: write, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile


def atomic_write(path: str, data: bytes, mode: int = 0o644, directory_mode: int = 0o755) -> None:
    """Replace `path` with `data`, created with `mode` from the start (no window with wider access)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=directory_mode, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".choreo-run-", dir=directory)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
