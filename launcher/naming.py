"""Naming rules: Choreo's default variable names, valid variable names, valid connection names."""

from __future__ import annotations

import re

#: The launcher's own settings. launcher.launch.environment keeps a copy (the fast path avoids `re`).
LAUNCHER_PREFIX = "CHOREO_RUN_"
_NON_ALNUM_RUN = re.compile(r"[^A-Za-z0-9]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Choreo: 3 to 50 characters, letters and digits, with single `_`, `-`, `.` or space delimiters.
_CONNECTION_NAME = re.compile(r"[A-Za-z0-9]+(?:[ _.\-][A-Za-z0-9]+)*")


def default_variable(connection_name: str, key: str) -> str:
    """CHOREO_ + upper(name, each run of non-alphanumerics as `_`) + `_` + upper(key).

    `hr-connection` + `ServiceURL` gives CHOREO_HR_CONNECTION_SERVICEURL; camelCase is not split.
    """
    stem = _NON_ALNUM_RUN.sub("_", connection_name).upper()
    return f"CHOREO_{stem}_{_NON_ALNUM_RUN.sub('_', key).upper()}"


def is_valid_variable(name: str) -> bool:
    return bool(_VARIABLE.fullmatch(name))


def connection_name_problem(name: str) -> str | None:
    """Why `name` is not a valid Choreo connection name, or None when it is."""
    if not 3 <= len(name) <= 50:
        return f"expected 3 to 50 characters, got {len(name)}"
    if not _CONNECTION_NAME.fullmatch(name):
        return "expected letters and digits separated by single '_', '-', '.' or space"
    return None


def reserved_variable_problem(name: str) -> str | None:
    """Why a manifest, a store or an env file may not set `name`, or None.

    CHOREO_RUN_* are the launcher's own settings (backend, token, identity): a connection named
    `run` would otherwise produce CHOREO_RUN_... variables and steer a launcher the service starts.
    """
    if name.startswith(LAUNCHER_PREFIX):
        return (
            f"variable {name} is reserved: names starting with {LAUNCHER_PREFIX} are choreo-run's own "
            "settings and cannot be set by a manifest, a store or an env file"
        )
    return None
