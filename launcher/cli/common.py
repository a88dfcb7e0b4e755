"""What every command of the CLI shares: the reporters, the options every command takes, Settings.

Only the CLI prints; library code raises. The options themselves are defined once, in
launcher.cli.options, each with its CHOREO_RUN_* variable (docs/configuration.md); those variables
never reach the service.
"""

from __future__ import annotations

import os

from launcher.backends import BackendSettings
from launcher.credentials import etcd_credentials, read_secret_file, secret_from_env
from launcher.errors import report
from launcher.resolve.pipeline import Settings

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

state: dict[str, Any] = {"debug": False, "quiet": False, "argv": [], "warnings": []}


def say(kind: str, message: str) -> None:
    report(kind, message)


def warn(message: str) -> None:
    state["warnings"].append(message)
    if not state["quiet"]:
        say("warning", message)


def debug(message: str) -> None:
    if state["debug"]:
        say("debug", message)


def settings_from(options: dict[str, Any]) -> Settings:
    """Settings from the shared options; consumes them from `options`."""
    user, password = etcd_credentials()
    backend_settings = BackendSettings(
        token=_read_token(options.pop("token_file")),
        username=user,
        password=password,
        ca_file=options.pop("ca_file"),
        timeout=options.pop("timeout"),
        deadline=options.pop("deadline"),
        etcd_allow_no_auth=options.pop("etcd_allow_no_auth"),
    )
    return Settings(
        component_dir=options.pop("component_dir"),
        manifest=options.pop("manifest"),
        backends=_split_backends(options.pop("backends")),
        project=options.pop("project"),
        component=options.pop("component"),
        environment=options.pop("environment"),
        env_files=tuple(options.pop("env_files")),
        allowed_variables=frozenset(options.pop("allowed_variables")),
        backend_settings=backend_settings,
        cache=_cache_settings(
            options.pop("cache"), options.pop("cache_dir"), options.pop("cache_max_age"), options.pop("cache_key_file")
        ),
    )


def _cache_settings(enabled: bool, directory: str | None, max_age: str, key_file: str | None):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from launcher.backends.cache import CacheSettings, default_directory, parse_duration, read_key

    return CacheSettings(
        read_key(os.environ, key_file), directory or default_directory(os.environ), parse_duration(max_age)
    )


def _split_backends(values: tuple[str, ...]) -> tuple[str, ...]:
    """CHOREO_RUN_BACKEND may hold several URLs separated by spaces; click splits it already."""
    return tuple(part for value in values for part in value.split())


def _read_token(token_file: str | None) -> str | None:
    if token_file:
        return read_secret_file(token_file, "the token file")
    return secret_from_env("CHOREO_RUN_TOKEN")


def build(settings: Settings):  # type: ignore[no-untyped-def]
    from launcher.resolve.pipeline import build_plan

    return build_plan(settings, warn, debug)


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
