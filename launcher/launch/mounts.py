"""Writing `configurations.file` outputs before the service starts.

Each file is written atomically (temporary file, fsync, rename), mode 0600 when it holds a secret.
Absolute mount paths can be re-rooted under a directory for local runs (`--mount-root`).
"""

from __future__ import annotations

import os

from launcher.atomic import atomic_write
from launcher.errors import OutputError
from launcher.model import FileOutput


def target_path(output: FileOutput, component_dir: str, mount_root: str | None) -> str:
    """Where `output` goes: re-rooted under `mount_root` when given; relative paths from the component."""
    if mount_root:
        return os.path.join(mount_root, output.target.lstrip("/"))
    return output.target if os.path.isabs(output.target) else os.path.join(component_dir, output.target)


def write_files(outputs: tuple[FileOutput, ...], component_dir: str, mount_root: str | None) -> list[str]:
    """Write every output; return the paths written."""
    return [_write(output, target_path(output, component_dir, mount_root), mount_root) for output in outputs]


def _write(output: FileOutput, path: str, mount_root: str | None) -> str:
    try:
        atomic_write(path, output.content, mode=0o600 if output.secret else 0o644)
    except OSError as error:
        hint = "" if mount_root else "; for local runs, re-root absolute mount paths with --mount-root DIR"
        raise OutputError(f"{output.origin.detail}: cannot write {path}: {error.strerror}{hint}") from None
    return path
