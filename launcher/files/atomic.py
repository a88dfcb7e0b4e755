"""Writing a file so that readers see the old content or the new, never half: write, fsync, rename.

Only `os`: the start-up fast path uses this too, and `tempfile` alone would cost it milliseconds.
"""

from __future__ import annotations

import os

_counter = [0]


def atomic_write(path: str, data: bytes, mode: int = 0o644, directory_mode: int = 0o755) -> None:
    """Replace `path` with `data`, created with `mode` from the start (no window with wider access).

    A `directory_mode` without group or other bits (0700) asks for a private directory: created
    0700, or verified to be one (ours, not a symlink, no group/other bits, no parent another user
    can change); anything else raises launcher.files.private.UnsafeDirectory (an OSError) and nothing is
    written. Otherwise missing directories are created with `directory_mode`.
    """
    directory = os.path.dirname(path) or "."
    if directory_mode & 0o077 == 0:
        from launcher.files.private import private_directory

        directory = private_directory(directory)  # the parent's symlinks resolved once, then checked
        path = os.path.join(directory, os.path.basename(path))
    else:
        os.makedirs(directory, mode=directory_mode, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        write_at(descriptor, os.path.basename(path), data, mode)
    finally:
        os.close(descriptor)


def write_at(directory_fd: int, name: str, data: bytes, mode: int) -> None:
    """Replace `name` in `directory_fd` with `data` atomically (temporary file, fsync, rename).

    The rename replaces whatever `name` is (a symlink included) without following it.
    """
    _counter[0] += 1
    temporary = f".choreo-run-{os.getpid()}-{_counter[0]}.tmp"
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=directory_fd
    )
    try:
        os.fchmod(descriptor, mode)  # the umask may have narrowed it; never widened beyond `mode`
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
        os.close(descriptor)
        descriptor = -1
        os.replace(temporary, name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        try:
            os.unlink(temporary, dir_fd=directory_fd)
        except OSError:
            pass
        raise
