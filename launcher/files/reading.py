"""Reading a small regular file safely: the one place every reader of a user-named file goes through.

Manifests, store files, token and password files, the cache key, env files, cache entries and
Service Binding entries are all named by the user (or by whoever controls the directory), so any
of them may be a FIFO, a device, a directory or a huge file. Reading one must end quickly:

* a path that is not a regular file is refused before it is opened (`stat`), and again after
  (`fstat` on the descriptor, opened with O_NONBLOCK so that a FIFO swapped in between cannot
  block the open); a FIFO, a socket or a device is never read;
* at most `limit` bytes are read: a larger file is refused, not truncated;
* every refusal is a `FileRefused` with a one-line reason and a `kind`, which each caller turns
  into its own error (and exit code) naming the file and what it expected there.
"""

from __future__ import annotations

import os
import stat

MISSING = "missing"
DIRECTORY = "directory"
SPECIAL = "special"
TOO_LARGE = "too-large"
UNREADABLE = "unreadable"
NOT_TEXT = "not-text"

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class FileRefused(Exception):
    """A file that was not read: `reason` is one line without the path, `kind` one of the constants above."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def describe_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    return next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")


def _refuse_mode(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise FileRefused(DIRECTORY, "expected a file, found a directory")
    raise FileRefused(SPECIAL, f"not a regular file but {describe_mode(mode)}")


def _unreadable(error: OSError) -> FileRefused:
    if isinstance(error, FileNotFoundError):
        return FileRefused(MISSING, "file not found")
    if isinstance(error, IsADirectoryError):
        return FileRefused(DIRECTORY, "expected a file, found a directory")
    return FileRefused(UNREADABLE, f"cannot read: {error.strerror or type(error).__name__}")


def read_small_file(path: str, limit: int) -> bytes:
    """The contents of the regular file `path`, at most `limit` bytes; FileRefused otherwise."""
    try:
        _refuse_mode(os.stat(path).st_mode)  # a device is never even opened (opening one can act)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise _unreadable(error) from None
    try:
        _refuse_mode(os.fstat(descriptor).st_mode)  # what was opened, whatever the path names now
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise _unreadable(error) from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise FileRefused(TOO_LARGE, f"file is larger than {describe_size(limit)}")
    return b"".join(chunks)


def decode_text(raw: bytes) -> str:
    """UTF-8 text without NUL bytes (no file, variable or header a launcher writes can hold one)."""
    if (offset := raw.find(b"\x00")) >= 0:
        raise FileRefused(NOT_TEXT, f"expected a text file, found a NUL byte at offset {offset}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileRefused(NOT_TEXT, f"expected UTF-8 text, found a bad byte at offset {error.start}") from None


def read_small_text(path: str, limit: int) -> str:
    """read_small_file, as UTF-8 text without NUL bytes."""
    return decode_text(read_small_file(path, limit))


def describe_size(size: int) -> str:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
