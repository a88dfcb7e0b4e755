"""Writing `configurations.file` outputs before the service starts.

Each file is written atomically (temporary file, fsync, rename), mode 0600 when it holds a secret.
Absolute mount paths can be re-rooted under a directory for local runs (`--mount-root`).

A manifest comes with the code (a cloned repository), so where it writes is contained
(docs/security.md, "Writes stay inside their root"):

* under `--mount-root ROOT` every mount path, absolute or relative, is inside ROOT;
* without it, a relative mount path is inside the component directory;
* `..` is applied lexically and refused when it climbs above that root; every directory below the
  root is opened with O_NOFOLLOW relative to its parent's descriptor (created 0755 if missing), so
  a symlink on the way (a `config -> ~/.ssh` in the repository, or one planted meanwhile) is
  refused, never followed; the file itself is renamed into that descriptor, replacing (not
  following) whatever had its name.

Without `--mount-root` an absolute mount path is written as is: that is the container case, where
the manifest's paths are the image's. Run manifests you do not trust with `--mount-root`.
"""

from __future__ import annotations

import os

from launcher.errors import OutputError
from launcher.files.atomic import write_at
from launcher.files.private import Escapes, contained_parts, open_contained
from launcher.model import FileOutput


def target_path(output: FileOutput, component_dir: str, mount_root: str | None) -> str:
    """Where `output` goes (before symlink checks): under `mount_root` when given; relative paths from the
    component directory; absolute ones as is. Raises OutputError when `..` leads out of the root."""
    root, parts = _root_and_parts(output, component_dir, mount_root)
    return os.path.join(root, *parts) if parts else root


def _root_and_parts(output: FileOutput, component_dir: str, mount_root: str | None) -> tuple[str, list[str]]:
    target = output.target
    if mount_root:
        root, relative = mount_root, target
    elif os.path.isabs(target):
        return os.path.dirname(os.path.normpath(target)), [os.path.basename(os.path.normpath(target))]
    else:
        root, relative = component_dir, target
    try:
        parts = contained_parts(relative)
    except Escapes:
        where = "--mount-root " + mount_root if mount_root else "the component directory " + component_dir
        raise OutputError(
            f"{output.origin.detail}: {target!r} (mountPath/name) leads out of {where}; refusing to write outside it"
        ) from None
    if not parts:
        raise OutputError(f"{output.origin.detail}: {target!r} (mountPath/name) names no file")
    return root, parts


def write_files(outputs: tuple[FileOutput, ...], component_dir: str, mount_root: str | None) -> list[str]:
    """Write every output; return the paths written (directories resolved, no symlink below the root)."""
    return [_write(output, component_dir, mount_root) for output in outputs]


def _write(output: FileOutput, component_dir: str, mount_root: str | None) -> str:
    root, parts = _root_and_parts(output, component_dir, mount_root)
    shown = os.path.join(root, *parts)
    try:
        os.makedirs(root, mode=0o755, exist_ok=True)  # the root itself is the user's (or the image's) choice
        real_root = os.path.realpath(root)
        root_fd = os.open(real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            directory_fd = open_contained(root_fd, parts[:-1], real_root)
        finally:
            os.close(root_fd)
        try:
            write_at(directory_fd, parts[-1], output.content, 0o600 if output.secret else 0o644)
        finally:
            os.close(directory_fd)
    except Escapes as error:  # a symlink (or a file) where a directory below the root was expected
        raise OutputError(f"{output.origin.detail}: cannot write {shown}: {error}") from None
    except OSError as error:
        hint = "" if mount_root else "; for local runs, re-root absolute mount paths with --mount-root DIR"
        raise OutputError(f"{output.origin.detail}: cannot write {shown}: {error.strerror}{hint}") from None
    return os.path.join(real_root, *parts)
