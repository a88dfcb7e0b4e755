"""Directories no other local user can control, and writes that cannot leave their root.

Two helpers, used for every location the launcher writes on its own account (docs/security.md):

* `private_directory(path)`: creates `path` mode 0700, or verifies an existing one: a real
  directory (not a symlink), owned by us, without group or other permission bits (one of ours
  that only we can write is narrowed to 0700). Every directory
  above it must be one no other user can change: owned by us or by root, and not writable by
  group or others unless sticky (as /tmp is). Anything else is refused with `UnsafeDirectory`.
  `trusted=True` relaxes the last directory to the rule of the ones above it (for a directory the
  user named, which may well be 0755).
* `open_contained(root_fd, parts, path_for_messages)`: the directory `parts` below an open
  directory, created as needed, every component opened with O_NOFOLLOW relative to the previous
  one's descriptor, so no symlink (planted before or during the walk) leads out of the root.

Only `os` and `stat`: the start-up fast path verifies its records directory with this module.
"""

from __future__ import annotations

import errno
import os
import stat

from launcher.errors import OutputError
from launcher.files.atomic import write_at

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeDirectory(OSError):
    """A directory another user could control, or a symlink where a directory was expected.

    An OSError (EPERM) whose strerror is the whole one-line explanation, path included, so callers
    that report `error.strerror` say why.
    """

    def __init__(self, path: str, why: str) -> None:
        super().__init__(errno.EPERM, f"{path}: {why}")
        self.path = path


def _owner(uid: int) -> str:
    return "you" if uid == os.geteuid() else f"uid {uid}"


def describe_untrusted(info: os.stat_result, private: bool) -> str | None:
    """Why a directory with `info` (from fstat/lstat) is not acceptable, or None when it is."""
    me = os.geteuid()
    if stat.S_ISLNK(info.st_mode):
        return "is a symlink; expected a real directory"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if private:
        if info.st_uid != me:
            return f"owned by {_owner(info.st_uid)}, expected a directory owned by you (uid {me}) with mode 0700"
        if info.st_mode & 0o077:
            return (
                f"has mode {stat.S_IMODE(info.st_mode):04o}, expected a private directory (0700: no group "
                "or other permissions)"
            )
        return None
    if info.st_uid not in (me, 0):
        return f"owned by {_owner(info.st_uid)}, expected a directory owned by you (uid {me}) or root"
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        return (
            f"has mode {stat.S_IMODE(info.st_mode):04o}: writable by other users, expected no group or "
            "other write permission (or the sticky bit, as on /tmp)"
        )
    return None


class _NotADirectory(Exception):
    """A component of a walk is a symlink or not a directory: `info` is its lstat, for the message."""

    def __init__(self, info: os.stat_result) -> None:
        super().__init__()
        self.info = info


def _open_child(parent_fd: int, name: str, create: bool, mode: int) -> int:
    """The directory `name` in `parent_fd` (created first if asked), opened without following a
    symlink: the one step of every walk here. _NotADirectory when it is a symlink or a file."""
    if create:
        try:
            os.mkdir(name, mode, dir_fd=parent_fd)
        except FileExistsError:
            pass
    try:
        return os.open(name, _DIRECTORY_FLAGS, dir_fd=parent_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _NotADirectory(os.lstat(name, dir_fd=parent_fd)) from None
        raise


def _open_below(
    parent_fd: int, name: str, shown: str, create: bool, mode: int, private: bool, repair: bool = False
) -> int:
    """Open (creating if asked) the directory `name` in `parent_fd`, without following a symlink."""
    try:
        descriptor = _open_child(parent_fd, name, create, mode)
    except _NotADirectory as refused:
        raise UnsafeDirectory(shown, describe_untrusted(refused.info, private) or "is not a directory") from None
    info = os.fstat(descriptor)
    if private and repair and info.st_uid == os.geteuid() and not info.st_mode & 0o022 and info.st_mode & 0o077:
        # Ours and writable by us alone (e.g. 0755 from an older version): nobody else can have put
        # anything in it, so narrowing it is safe. Group/other-writable stays refused.
        os.fchmod(descriptor, 0o700)
        info = os.fstat(descriptor)
    problem = describe_untrusted(info, private)
    if problem is not None:
        os.close(descriptor)
        raise UnsafeDirectory(shown, problem)
    return descriptor


def open_private_directory(
    path: str, *, create: bool = True, trusted: bool = False, repair: bool = True
) -> tuple[int, str]:
    """(an O_DIRECTORY descriptor of `path`, its path with the parent's symlinks resolved).

    The parent is resolved once (os.path.realpath: the user's own symlinks such as /home ->
    /var/home are fine) and walked from / with O_NOFOLLOW, each directory checked; `path` itself
    is never a symlink. Raises UnsafeDirectory, or the OSError of a failed mkdir/open.
    """
    parent, name = os.path.split(os.path.abspath(path))
    parent = os.path.realpath(parent)
    if not name:  # "/" itself: never private
        raise UnsafeDirectory(path, "expected a directory below /")
    descriptor = os.open("/", _DIRECTORY_FLAGS)
    shown = "/"
    try:
        for part in [p for p in parent.split("/") if p]:
            shown = os.path.join(shown, part)
            below = _open_below(descriptor, part, shown, create, 0o700, private=False)
            os.close(descriptor)
            descriptor = below
        shown = os.path.join(parent, name)
        below = _open_below(descriptor, name, shown, create, 0o700, private=not trusted, repair=repair)
    finally:
        os.close(descriptor)
    return below, shown


def private_directory(path: str, *, create: bool = True, trusted: bool = False, repair: bool = True) -> str:
    """Create `path` 0700 (and missing parents 0700), or verify it; return it (parent resolved).

    With `repair`, a directory of ours that only we can write (0755, as older versions created
    ~/.cache/choreo-run) is narrowed to 0700 rather than refused. Refuses (UnsafeDirectory) a
    symlink, a directory another user owns, one with group or other permissions (`trusted=True`:
    one writable by others without the sticky bit), or a parent another user could change.
    """
    descriptor, resolved = open_private_directory(path, create=create, trusted=trusted, repair=repair)
    os.close(descriptor)
    return resolved


def is_private_directory(path: str) -> bool:
    """True when `path` is a real directory owned by us with no group/other bits (one lstat; never raises)."""
    try:
        return describe_untrusted(os.lstat(path), private=True) is None
    except OSError:
        return False


# ---------------------------------------------------------------- contained writes


class Escapes(Exception):
    """A relative path that leaves its root (`..` above it, or a symlink on the way)."""


def contained_parts(relative: str) -> list[str]:
    """The components of `relative` with `.` and `..` applied; Escapes when `..` climbs above the root."""
    parts: list[str] = []
    for part in relative.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise Escapes("'..' leads out of the root")
            parts.pop()
            continue
        parts.append(part)
    return parts


def open_contained(root_fd: int, parts: list[str], root_shown: str, directory_mode: int = 0o755) -> int:
    """The directory `parts` below `root_fd`, created as needed; no component may be a symlink.

    Every component is opened with O_NOFOLLOW relative to its parent's descriptor, so a symlink
    on the way (planted before or during the walk) is refused, never followed (Escapes).
    """
    descriptor = os.dup(root_fd)
    shown = root_shown
    try:
        for part in parts:
            shown = os.path.join(shown, part)
            try:
                below = _open_child(descriptor, part, True, directory_mode)
            except _NotADirectory as refused:
                kind = "a symlink" if stat.S_ISLNK(refused.info.st_mode) else "not a directory"
                raise Escapes(f"{shown} is {kind}; refusing to write through it") from None
            os.close(descriptor)
            descriptor = below
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def write_without_symlinks(path: str, data: bytes, mode: int) -> None:
    """Write absolute `path`, refusing (Escapes) any symlink on the way from / (the fast path's replay:
    the full path recorded a path with no symlink in it, so one now means something changed)."""
    directory, name = os.path.split(path)
    root = os.open("/", _DIRECTORY_FLAGS)
    try:
        descriptor = open_contained(root, contained_parts(directory), "/")
    finally:
        os.close(root)
    try:
        write_at(descriptor, name, data, mode)
    finally:
        os.close(descriptor)


def resolve_link(path: str) -> str:
    """The file a write to `path` goes to: `path` itself, or the target of a symlink, resolved once.

    Writing replaces the file by a rename, which would replace a symlink with a regular file and
    leave its target (the store everything else reads) unchanged. So a write goes to the target,
    locked and renamed there. Refused (OutputError, exit 73), nothing written: a link that leads
    nowhere (a missing target, a loop), and a link owned by another user (it would choose where
    your secrets are written).
    """
    if not os.path.islink(path):
        return path
    from launcher.documents.yamlfile import describe_file  # only here: a write through a link is rare

    shown = describe_file(path)
    if os.lstat(path).st_uid not in (os.geteuid(), 0):
        raise OutputError(
            f"{shown}: a symlink owned by another user; not followed (it would choose where this write "
            "goes), nothing was written"
        )
    target = os.path.realpath(path)
    if not os.path.exists(target):
        raise OutputError(
            f"{shown}: a symlink to {target}, which does not exist (or the links loop); nothing was written: "
            "create the target or remove the link"
        )
    return target
