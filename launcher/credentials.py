"""Reading the launcher's own secrets (tokens, passwords) and writing files only their owner may read.

Secrets come from a variable or from a file named by NAME_FILE (the Docker and Kubernetes secrets
convention). They go to backends only: every CHOREO_RUN_* variable is removed from the service's
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from launcher.atomic import atomic_write
from launcher.errors import ConfigurationError, OutputError


def read_secret_file(path: str, what: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot read {what}: {error.strerror}") from None


def secret_from_env(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (which wins)."""
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        return read_secret_file(file_name, f"{name}_FILE")
    return environ.get(name) or None


def etcd_credentials(environ: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
    """(user, password) for etcd: CHOREO_RUN_ETCD_USER and CHOREO_RUN_ETCD_PASSWORD (or _PASSWORD_FILE)."""
    return environ.get("CHOREO_RUN_ETCD_USER") or None, secret_from_env("CHOREO_RUN_ETCD_PASSWORD", environ)


def write_private(path: str, text: str) -> None:
    """Replace `path` atomically with `text`, mode 0600: exports, pulled stores and credentials hold secrets."""
    try:
        atomic_write(path, text.encode("utf-8"), mode=0o600)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror}") from None
