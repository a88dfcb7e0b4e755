"""The launcher's own settings: the CHOREO_RUN_* variables, and which of them are secrets.

One home for the rule, light enough for the start-up fast path (no imports at all): the service's
environment leaves these out (launcher.launch.environment), the fast path leaves the secret ones out
of its record's key, and a process holding one never stays resident as the service's supervisor
(launcher.launch.start) or as the --watch launcher's environment block (launcher.credentials).
"""

from __future__ import annotations

LAUNCHER_PREFIX = "CHOREO_RUN_"  # launcher.naming.LAUNCHER_PREFIX, kept equal by a test
#: Parts of a setting's name that make it one of the launcher's own secrets (and its _FILE form).
SECRET_SETTING_PARTS = ("TOKEN", "PASSWORD", "KEY")


def is_launcher_setting(name: str) -> bool:
    """The launcher's own settings (CHOREO_RUN_*) never reach the service."""
    return name.startswith(LAUNCHER_PREFIX)


def is_secret_setting(name: str) -> bool:
    """CHOREO_RUN_TOKEN, CHOREO_RUN_ETCD_PASSWORD, CHOREO_RUN_CACHE_KEY (and their _FILE forms)."""
    return name.startswith(LAUNCHER_PREFIX) and any(
        part in name[len(LAUNCHER_PREFIX) :] for part in SECRET_SETTING_PARTS
    )
