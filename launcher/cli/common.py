"""What every command of the CLI shares: the reporters, the options every command takes, Settings.

Only the CLI prints; library code raises. Every option has a CHOREO_RUN_* variable
(docs/configuration.md), and those variables never reach the service.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from launcher.backends import BackendSettings
from launcher.credentials import etcd_credentials, read_secret_file, secret_from_env
from launcher.resolve.pipeline import Settings

state: dict[str, Any] = {"debug": False, "quiet": False, "argv": [], "warnings": []}


def say(kind: str, message: str) -> None:
    click.echo(f"choreo-run: {kind}: {message}", err=True)


def warn(message: str) -> None:
    state["warnings"].append(message)
    if not state["quiet"]:
        say("warning", message)


def debug(message: str) -> None:
    if state["debug"]:
        say("debug", message)


# ---------------------------------------------------------------- options shared by every command


def _flag_callback(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def remember(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        state[name] = bool(value)
        return value
    return remember


PIPELINE_OPTIONS = [
    click.option("--component-dir", "-C", default=".", envvar="CHOREO_RUN_COMPONENT_DIR", show_default=True,
                 type=click.Path(file_okay=False), help="Component directory holding .wso2/ or .choreo/."),
    click.option("--manifest", "-m", envvar="CHOREO_RUN_MANIFEST", type=click.Path(dir_okay=False),
                 help="Manifest file to read instead of discovering one."),
    click.option("--backend", "--store", "backends", multiple=True, envvar="CHOREO_RUN_BACKEND",
                 help="Backend URL or store file; repeat to layer them (later ones win). "
                      "Default: connections.yaml in the component directory."),
    click.option("--project", "-p", envvar="CHOREO_RUN_PROJECT", help="Project to run as."),
    click.option("--component", "-c", envvar="CHOREO_RUN_COMPONENT", help="Component to run as."),
    click.option("--env", "-e", "environment", envvar="CHOREO_RUN_ENV",
                 help="Environment whose values to use.  [default: development]"),
    click.option("--env-file", "env_files", multiple=True, envvar="CHOREO_RUN_ENV_FILE",
                 type=click.Path(dir_okay=False), help="Overlay a .env file (repeatable; later files win)."),
    click.option("--token-file", envvar="CHOREO_RUN_TOKEN_FILE", type=click.Path(dir_okay=False),
                 help="File holding the backend's bearer token (or set CHOREO_RUN_TOKEN)."),
    click.option("--ca-file", envvar="CHOREO_RUN_CA_FILE", type=click.Path(dir_okay=False),
                 help="CA bundle for the backend's TLS certificate."),
    click.option("--timeout", type=float, default=5.0, envvar="CHOREO_RUN_TIMEOUT", show_default=True,
                 help="Seconds for one backend request."),
    click.option("--deadline", type=float, default=15.0, envvar="CHOREO_RUN_DEADLINE", show_default=True,
                 help="Seconds for all fetching, retries included."),
    click.option("--cache/--no-cache", "cache", default=False, envvar="CHOREO_RUN_CACHE",
                 help="Keep an encrypted last-known-good copy; use it when the backend is unreachable."),
    click.option("--cache-dir", envvar="CHOREO_RUN_CACHE_DIR", type=click.Path(file_okay=False),
                 help="Where the cache lives.  [default: $XDG_CACHE_HOME/choreo-run]"),
    click.option("--cache-max-age", default="24h", envvar="CHOREO_RUN_CACHE_MAX_AGE", show_default=True,
                 help="Oldest cache to use, e.g. 30m, 24h, 7d."),
    click.option("--cache-key-file", envvar="CHOREO_RUN_CACHE_KEY_FILE", type=click.Path(dir_okay=False),
                 help="File holding the cache key (or set CHOREO_RUN_CACHE_KEY)."),
    click.option("--debug", is_flag=True, envvar="CHOREO_RUN_DEBUG", expose_value=False, is_eager=True,
                 callback=_flag_callback("debug"), help="Progress, timing and tracebacks (never values)."),
    click.option("--quiet", "-q", is_flag=True, envvar="CHOREO_RUN_QUIET", expose_value=False, is_eager=True,
                 callback=_flag_callback("quiet"), help="No warnings."),
]


def pipeline_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(PIPELINE_OPTIONS):
        function = option(function)
    return function


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
    )
    return Settings(
        component_dir=options.pop("component_dir"), manifest=options.pop("manifest"),
        backends=_split_backends(options.pop("backends")), project=options.pop("project"),
        component=options.pop("component"), environment=options.pop("environment"),
        env_files=tuple(options.pop("env_files")), backend_settings=backend_settings,
        cache=_cache_settings(options.pop("cache"), options.pop("cache_dir"), options.pop("cache_max_age"),
                              options.pop("cache_key_file")),
    )


def _cache_settings(enabled: bool, directory: str | None, max_age: str, key_file: str | None):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from launcher.backends.cache import CacheSettings, default_directory, parse_duration, read_key

    return CacheSettings(read_key(os.environ, key_file), directory or default_directory(os.environ),
                         parse_duration(max_age))


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
