"""The `choreo-run` command line. The only module that prints; library code raises.

`choreo-run [OPTIONS] -- CMD ARGS` runs a service; `check`, `plan` and `export` use the same
pipeline without running anything. Every option has a CHOREO_RUN_* variable (docs/configuration.md)
so an image can be configured with ENV lines alone; those variables never reach the service.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from launcher import __version__
from launcher.backends import BackendSettings
from launcher.credentials import read_secret_file, secret_from_env
from launcher.errors import LauncherError, UsageError
from launcher.fastpath import COMMANDS
from launcher.pipeline import Settings

OPTIONAL_COMMANDS = {"store": ("launcher.cli_store", "store_command"),
                     "serve-http": ("launcher.cli_serve", "serve_command"),
                     "connection": ("launcher.cli_connection", "connection_command")}
_state: dict[str, Any] = {"debug": False, "quiet": False, "argv": [], "warnings": []}


def _say(kind: str, message: str) -> None:
    click.echo(f"choreo-run: {kind}: {message}", err=True)


def warn(message: str) -> None:
    _state["warnings"].append(message)
    if not _state["quiet"]:
        _say("warning", message)


def debug(message: str) -> None:
    if _state["debug"]:
        _say("debug", message)


# ---------------------------------------------------------------- options shared by every command


def _flag_callback(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def remember(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        _state[name] = bool(value)
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
    backend_settings = BackendSettings(
        token=_read_token(options.pop("token_file")),
        username=os.environ.get("CHOREO_RUN_ETCD_USER"),
        password=secret_from_env("CHOREO_RUN_ETCD_PASSWORD"),
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
    from launcher.cache import CacheSettings, default_directory, parse_duration, read_key

    return CacheSettings(read_key(os.environ, key_file), directory or default_directory(os.environ),
                         parse_duration(max_age))


def _split_backends(values: tuple[str, ...]) -> tuple[str, ...]:
    """CHOREO_RUN_BACKEND may hold several URLs separated by spaces; click splits it already."""
    return tuple(part for value in values for part in value.split())


def _read_token(token_file: str | None) -> str | None:
    if token_file:
        return read_secret_file(token_file, "the token file")
    return secret_from_env("CHOREO_RUN_TOKEN")


def _plan(settings: Settings):  # type: ignore[no-untyped-def]
    from launcher.pipeline import build_plan

    return build_plan(settings, warn, debug)


# ---------------------------------------------------------------- the group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="choreo-run")
def cli() -> None:
    """Resolve a component's connections and run the service with them injected.

    \b
      choreo-run [OPTIONS] -- CMD ARGS...    run CMD with the resolved environment
      choreo-run check [OPTIONS]            resolve everything, run nothing (CI preflight)
      choreo-run plan [OPTIONS]             show what would be injected, secrets masked
      choreo-run export [OPTIONS]           write the variables as dotenv, JSON or shell
    """


@cli.command(context_settings={"allow_interspersed_args": False})
@pipeline_options
@click.option("--supervise/--exec", "supervise", default=None,
              help="Stay resident as the service's parent (default when PID 1; CHOREO_RUN_MODE).")
@click.option("--signal-group", is_flag=True, envvar="CHOREO_RUN_SIGNAL_GROUP",
              help="Supervise: forward signals to the service's whole process group.")
@click.option("--stop-signal", default="SIGTERM", envvar="CHOREO_RUN_STOP_SIGNAL", show_default=True,
              help="Supervise: the signal that stops the service.")
@click.option("--rewrite-signal", multiple=True, envvar="CHOREO_RUN_REWRITE_SIGNAL",
              help="Supervise: deliver FROM as TO, e.g. SIGTERM:SIGQUIT (repeatable).")
@click.option("--grace-period", type=float, default=10.0, envvar="CHOREO_RUN_GRACE_PERIOD", show_default=True,
              help="Supervise: seconds between the stop signal and killing what remains.")
@click.option("--watch", is_flag=True, envvar="CHOREO_RUN_WATCH",
              help="Restart (or signal) the service when its values change (implies --supervise).")
@click.option("--watch-interval", type=float, default=1.0, envvar="CHOREO_RUN_WATCH_INTERVAL", show_default=True,
              help="Watch: seconds between looks at files and HTTP backends (etcd is watched live).")
@click.option("--reload-signal", envvar="CHOREO_RUN_RELOAD_SIGNAL",
              help="Watch: send this signal instead of restarting; new values are in $CHOREO_RELOAD_ENV_FILE.")
@click.option("--reload-env-file", envvar="CHOREO_RUN_RELOAD_ENV_FILE", type=click.Path(dir_okay=False),
              help="Watch: where to write the new values for --reload-signal.  [default: a private temp file]")
@click.option("--mask-output", is_flag=True, envvar="CHOREO_RUN_MASK_OUTPUT",
              help="Replace secret values in the service's stdout and stderr (implies --supervise).")
@click.option("--mount-root", envvar="CHOREO_RUN_MOUNT_ROOT", type=click.Path(file_okay=False),
              help="Write configuration files under DIR instead of their absolute mount paths.")
@click.option("--no-override", is_flag=True, envvar="CHOREO_RUN_NO_OVERRIDE",
              help="Variables already in the environment win over resolved ones.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(command: tuple[str, ...], **options: Any) -> None:
    """Resolve, then run COMMAND with the connections injected."""
    if not command:
        raise UsageError("expected a command to run, e.g. choreo-run -- python app.py")
    supervision = {key: options.pop(key) for key in
                   ("supervise", "signal_group", "stop_signal", "rewrite_signal", "grace_period", "mask_output",
                    "watch", "watch_interval", "reload_signal", "reload_env_file")}
    mount_root, override = options.pop("mount_root"), not options.pop("no_override")
    settings = settings_from(options)
    from launcher.pipeline import local_inputs

    inputs = local_inputs(settings)
    stamps = _fastpath().stamp_inputs(inputs) if inputs is not None else None
    from launcher.pipeline import plan_and_backend

    plan, backend = plan_and_backend(settings, warn, debug)
    from launcher.environment import child_environment
    from launcher.mounts import write_files

    written = write_files(plan.files, settings.component_dir, mount_root)
    for path in written:
        debug(f"wrote {path}")
    environment = child_environment(plan, os.environ, override=override, mount_root=mount_root)
    if stamps is not None:
        files = [(path, f.content, 0o600 if f.secret else 0o644) for path, f in zip(written, plan.files)]
        _record(stamps, [(a.variable, a.value) for a in plan.assignments], override, mount_root, files)
    if supervision["mask_output"]:
        supervision["mask_variables"] = tuple(a.variable for a in plan.assignments if a.secret)
    if supervision["watch"]:
        supervision["reloader"] = _reloader(settings, backend, plan, supervision, mount_root, override)
        environment = supervision["reloader"].environment(plan)
    _launch(list(command), environment, supervision)


def _reloader(settings: Settings, backend: Any, plan: Any, supervision: dict[str, Any], mount_root: str | None,
              override: bool) -> Any:
    from launcher.watch import Reloader, WatchOptions, default_env_file

    env_file = supervision["reload_env_file"] or (default_env_file(os.environ) if supervision["reload_signal"]
                                                  else None)
    options = WatchOptions(interval=supervision["watch_interval"], env_file=env_file, mount_root=mount_root,
                           override=override, base_environment=dict(os.environ))
    return Reloader(settings, backend, plan, options, warn, debug)


def _fastpath():  # type: ignore[no-untyped-def]
    from launcher import fastpath

    return fastpath


def _record(stamps: list, assignments: list[tuple[str, str]], override: bool, mount_root: str | None,
            files: list[tuple[str, bytes, int]]) -> None:
    """Let the next identical launch skip resolution (launcher.fastpath); never fails the launch."""
    try:
        path = _fastpath().record_launch(_state["argv"], stamps, assignments, override, mount_root, files,
                                         list(_state["warnings"]))
    except OSError as error:
        debug(f"no fast-path record: {error.strerror}")
        return
    if path:
        debug(f"recorded this launch for the fast path in {path}")


def _launch(argv: list[str], environment: dict[str, str], supervision: dict[str, Any]) -> NoReturn:
    from launcher.modes import MODE_VARIABLE, mode_from

    resident = [flag for flag in ("mask_output", "watch") if supervision[flag]]
    if resident and supervision["supervise"] is False:
        raise UsageError(f"--{resident[0].replace('_', '-')} needs supervise mode: the launcher must stay resident")
    chosen = True if resident else supervision["supervise"]
    mode = {True: "supervise", False: "exec", None: None}[chosen] or mode_from(os.environ)
    if mode is None:
        raise UsageError(f"invalid {MODE_VARIABLE} '{os.environ[MODE_VARIABLE]}': expected exec or supervise")
    if mode == "exec":
        from launcher.execute import exec_command

        debug(f"exec {argv[0]}")
        exec_command(argv, environment)
    from launcher.sigstate import parse_rewrite, parse_signal
    from launcher.supervise import SuperviseOptions, supervise

    options = SuperviseOptions(
        forward_to_group=supervision["signal_group"], stop_signal=parse_signal(supervision["stop_signal"]),
        rewrites=dict(parse_rewrite(rule) for rule in supervision["rewrite_signal"]),
        grace_period=supervision["grace_period"], mask_variables=supervision.get("mask_variables", ()),
        reload_signal=parse_signal(supervision["reload_signal"]) if supervision["reload_signal"] else None,
    )
    debug(f"supervise {argv[0]}")
    reloader = supervision.get("reloader")
    if reloader is None:  # --watch needs the resolver at hand; otherwise stay small
        from launcher.supervisor_main import reexec

        reexec(argv, environment, options)  # a fresh, small interpreter stays resident; returns only on failure
        debug("re-exec into the lean supervisor failed; supervising from this process")
    sys.exit(supervise(argv, environment, options, warn=warn, reloader=reloader))


@cli.command()
@pipeline_options
@click.argument("directories", nargs=-1, type=click.Path(file_okay=False))
def check(directories: tuple[str, ...], **options: Any) -> None:
    """Resolve everything and run nothing; exit 0 when the service could start.

    With several component DIRECTORIES (a monorepo), each is checked, its component named after the
    directory unless --component is given; every failure is reported, and the exit code is the first
    failure's.
    """
    settings = settings_from(options)
    if not directories:
        _report_ok(_plan(settings))
        return
    _check_many(settings, directories)


def _check_many(settings: Settings, directories: tuple[str, ...]) -> None:
    from dataclasses import replace

    from launcher.pipeline import build_plan, open_backends

    # One shared backend (parsed once) when given; otherwise each directory's own connections.yaml.
    backend = open_backends(settings) if settings.backends else None
    failures: list[LauncherError] = []
    for directory in directories:
        try:
            _report_ok(build_plan(replace(settings, component_dir=directory), warn, debug, backend))
        except LauncherError as error:
            failures.append(error)
            for problem in error.problems:
                _say("error", f"{directory}: {problem}" if directory not in str(problem) else str(problem))
    click.echo(f"checked {_count(len(directories), 'component')}: {len(directories) - len(failures)} ok, "
               f"{len(failures)} failed")
    if failures:
        raise click.exceptions.Exit(failures[0].exit_code)


def _report_ok(plan: Any) -> None:
    identity = plan.identity
    click.echo(f"ok: {identity.project}/{identity.component} ({identity.environment}): "
               f"{_count(len(plan.assignments), 'variable')}, {_count(len(plan.files), 'file')}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@cli.command()
@pipeline_options
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--mount-root", envvar="CHOREO_RUN_MOUNT_ROOT", type=click.Path(file_okay=False),
              help="Show configuration files re-rooted under DIR.")
def plan(output_format: str, mount_root: str | None, **options: Any) -> None:
    """Show each variable with its source and visibility; secret values masked."""
    from launcher.mounts import target_path
    from launcher.output import plan_json, plan_table

    settings = settings_from(options)
    result = _plan(settings)
    targets = [target_path(output, settings.component_dir, mount_root) for output in result.files]
    click.echo((plan_table if output_format == "table" else plan_json)(result, targets), nl=False)


@cli.command(name="export")
@pipeline_options
@click.option("--format", "export_format", type=click.Choice(["dotenv", "json", "shell"]), default="dotenv",
              show_default=True)
@click.option("--reveal", is_flag=True, help="Include secret values (they are left out otherwise).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE (mode 0600) instead of stdout.")
def export_command(export_format: str, reveal: bool, output: str | None, **options: Any) -> None:
    """Write the resolved variables; secret values only with --reveal."""
    from launcher.output import export

    text = export(_plan(settings_from(options)), export_format, reveal)
    if output is None:
        click.echo(text, nl=False)
    else:
        from launcher.credentials import write_private

        write_private(output, text)


def _register_optional_commands() -> None:
    """Commands that live in their own modules, imported only when asked for (or for --help)."""
    import importlib

    for module_name, attribute in OPTIONAL_COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cli.add_command(getattr(module, attribute))


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: route to a command, print errors as one line each, exit with documented codes."""
    _state["argv"] = list(sys.argv[1:] if argv is None else argv)
    args = _route(list(_state["argv"]))
    if args[0] in OPTIONAL_COMMANDS or args[0] in ("-h", "--help"):
        _register_optional_commands()
    sys.exit(_invoke(args))


def _route(args: list[str]) -> list[str]:
    """Put the command first: `choreo-run -C dir plan` is `plan -C dir`; no command means `run`.

    The first word that is neither an option nor an option's value names the command when it is
    one of COMMANDS; anything else (or anything after `--`) is the program to run.
    """
    if args and args[0] in ("-h", "--help", "--version"):
        return args
    takes_value = {name for param in run.params if isinstance(param, click.Option) and not param.is_flag
                   for name in param.opts}
    index = 0
    while index < len(args) and args[index] != "--":
        word = args[index]
        if not word.startswith("-") or word == "-":
            if word in COMMANDS:
                return [word, *args[:index], *args[index + 1:]]
            break
        index += 2 if word in takes_value else 1
    return ["run", *args]


def _invoke(args: list[str]) -> int:
    try:
        # Without standalone mode click returns the code of a click.exceptions.Exit instead of raising it.
        code = cli.main(args=args, prog_name="choreo-run", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.Abort:
        return 130
    except click.ClickException as error:
        _say("error", f"{error.format_message()} (see choreo-run {args[0]} --help)")
        return UsageError.exit_code
    except LauncherError as error:
        for problem in error.problems:
            _say("error", str(problem))
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no values
        _say("error", f"internal error ({type(error).__name__}); run with --debug for the traceback")
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        return 70
