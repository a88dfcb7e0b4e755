"""The launcher's own settings: the CHOREO_RUN_* variables, and which of them are secrets.

One home for the rule, light enough for the start-up fast path (no imports at all): the service's
environment leaves these out (launcher.launch.environment), the fast path leaves the secret ones out
of its record's key, and a process holding one never stays resident as the service's supervisor
(launcher.launch.start) or as the --watch launcher's environment block (launcher.credentials).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no imports at all at run time: the fast path passes through here
if TYPE_CHECKING:
    from collections.abc import Mapping

LAUNCHER_PREFIX = "CHOREO_RUN_"  # launcher.naming.LAUNCHER_PREFIX, kept equal by a test
#: Parts of a setting's name that make it one of the launcher's own secrets (and its _FILE form).
SECRET_SETTING_PARTS = ("TOKEN", "PASSWORD", "KEY")


def is_launcher_setting(name: str) -> bool:
    """The launcher's own settings (CHOREO_RUN_*) never reach the service."""
    return name.startswith(LAUNCHER_PREFIX)


def secrets_in_block(environ: Mapping[str, str]) -> dict[str, str]:
    """The launcher's secrets an environment holds themselves (CHOREO_RUN_TOKEN=...), not the names
    of files holding them (CHOREO_RUN_TOKEN_FILE=/run/secrets/token: a path, which may stay)."""
    return {name: value for name, value in environ.items() if is_secret_setting(name) and not name.endswith("_FILE")}


def secret_in_block(environ: Mapping[str, str]) -> bool:
    """Whether an environment holds one of secrets_in_block."""
    return bool(secrets_in_block(environ))


def is_secret_setting(name: str) -> bool:
    """CHOREO_RUN_TOKEN, CHOREO_RUN_ETCD_PASSWORD, CHOREO_RUN_CACHE_KEY (and their _FILE forms)."""
    return name.startswith(LAUNCHER_PREFIX) and any(
        part in name[len(LAUNCHER_PREFIX) :] for part in SECRET_SETTING_PARTS
    )
