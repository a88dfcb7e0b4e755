"""Every option of the CLI, defined once: flags, variable, type, default and help.

Commands take options by name, `@use("ca_file", "timeout", "deadline")`, so an option several
commands share is the same option everywhere. Each option reads a variable named after its long
flag, CHOREO_RUN_<FLAG> (`--cache-max-age`: CHOREO_RUN_CACHE_MAX_AGE); an option whose flag means
something of its own in one command (`plan --format`, `store push --store`) is qualified with the
command, CHOREO_RUN_<COMMAND>_<FLAG>, so one variable always means one thing. The few options with
no variable say why (`no_variable`); `--supervise/--exec` is set by CHOREO_RUN_MODE, which
launcher.launch.modes reads (the start-up fast path needs it without click).

docs/configuration.md lists every variable and every exception; tests/unit/test_cli_options.py walks
the command tree and fails when an option has neither, or when the document misses one.

Data only, without click: the launch command's argv is parsed from this table without importing click
(launcher.cli.argv), and launcher.cli.decorators makes click options of the same entries.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

PREFIX = "CHOREO_RUN_"
MODE_VARIABLE = "CHOREO_RUN_MODE"  # launcher.launch.modes.MODE_VARIABLE; not imported here, kept equal by a test


def variable_name(flag: str, scope: str = "") -> str:
    """`--cache-max-age` -> CHOREO_RUN_CACHE_MAX_AGE; with scope `store push`: CHOREO_RUN_STORE_PUSH_..."""
    words = f"{scope} {flag.lstrip('-')}".strip()
    return PREFIX + words.upper().replace("-", "_").replace(" ", "_")


class Option:
    """One option: click.option's arguments, with the variable derived from the first long flag."""

    __slots__ = ("attrs", "decls", "no_variable", "scope")

    def __init__(self, *decls: str, scope: str = "", no_variable: str | None = None, **attrs: Any) -> None:
        self.decls, self.scope, self.no_variable = decls, scope, no_variable
        self.attrs = dict(attrs)
        if no_variable is None and "envvar" not in attrs:
            long_flag = next(decl for decl in decls if decl.startswith("--"))
            self.attrs["envvar"] = variable_name(long_flag.split("/")[0], scope)

    @property
    def variable(self) -> str | None:
        return self.attrs.get("envvar")

    def but(self, **attrs: Any) -> Option:
        """The same option (flags, variable) as one command words it, e.g. another help or `required`."""
        return Option(*self.decls, scope=self.scope, no_variable=self.no_variable, **{**self.attrs, **attrs})


class PathType:
    """click.Path(file_okay=..., dir_okay=..., allow_dash=...), made click's by launcher.cli.decorators."""

    __slots__ = ("allow_dash", "dir_okay", "file_okay")

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True, allow_dash: bool = False) -> None:
        self.file_okay, self.dir_okay, self.allow_dash = file_okay, dir_okay, allow_dash


class ChoiceType:
    """ChoiceType(choices)."""

    __slots__ = ("choices",)

    def __init__(self, choices: list[str]) -> None:
        self.choices = choices


class IntRangeType:
    """IntRangeType(low, high)."""

    __slots__ = ("high", "low")

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high


class SecondsType:
    """A number of seconds: finite, and above zero (or at least zero, with `zero_ok`).

    `--deadline nan` once reached `setitimer` (an internal error, exit 70), `--deadline inf` overflowed
    it, and `--timeout -1` was taken; each is now a usage error (64) naming the option. One rule for
    both parsers: launcher.cli.argv and, through launcher.cli.decorators, click.
    """

    __slots__ = ("zero_ok",)

    def __init__(self, *, zero_ok: bool = False) -> None:
        self.zero_ok = zero_ok

    def problem(self, number: float) -> str | None:
        """Why `number` is not a number of seconds this option takes, or None."""
        if number != number or number in (float("inf"), float("-inf")):
            return f"{number!r} is not a finite number of seconds"
        if number < 0 or (number == 0 and not self.zero_ok):
            return f"{number:g} is not {'zero or more' if self.zero_ok else 'more than zero'} seconds"
        return None


_SECONDS = SecondsType()


def _remember(name: str) -> Callable[[Any, Any, Any], Any]:
    """--debug and --quiet take effect at once (they are eager) for every later message.

    Called as click calls an option's callback, (context, parameter, value); launcher.cli.argv calls it
    the same way, with no context and no parameter.
    """

    def remember(_ctx: Any, _param: Any, value: Any) -> Any:
        from launcher.cli.common import state

        state[name] = bool(value)
        return value

    return remember


_FILE = PathType(dir_okay=False)
_DIRECTORY = PathType(file_okay=False)
_PER_CHANGE = "what one `connection` change is about; a variable left set would apply it to the next, unrelated change"
_REVEAL = "printing secrets is asked for on the command line each time, never inherited from the environment"
_DESTRUCTIVE = "a destructive step, asked for on the command line each time"
_MODE = (
    f"its variable is {MODE_VARIABLE}=supervise|exec, read by launcher.launch.modes (the start-up fast path "
    "needs it without click)"
)

_project = Option("--project", "-p", help="Project to run as.")
_component = Option("--component", "-c", help="Component to run as.")
_backend = Option(
    "--backend",
    "--store",
    "backends",
    multiple=True,
    help="Backend URL or store file; repeat to layer them (later ones win). "
    "Default: connections.yaml in the component directory.",
)
_values_env = Option(
    "--env",
    "-e",
    "environments",
    multiple=True,
    no_variable=_PER_CHANGE,
    help="Environment the values are for (repeatable) [default: every environment].",
)
_param_file = Option(
    "--param-file",
    type=PathType(dir_okay=False, allow_dash=True),
    no_variable=_PER_CHANGE,
    help="YAML of KEY: value or KEY: {values: {env: value}, secret: true}; '-' for stdin.",
)
_resource_ref = Option(
    "--resource-ref",
    no_variable=_PER_CHANGE,
    help="What it connects to, e.g. service:/proj/comp/v1/ep/PROJECT (services: required).",
)
_oauth_app = Option("--oauth-app", no_variable=_PER_CHANGE, help="With --oauth: use this existing OAuth application.")
_reveal = Option(
    "--reveal", is_flag=True, no_variable=_REVEAL, help="Include secret values (they are left out otherwise)."
)

OPTIONS: dict[str, Option] = {
    # ------------------------------------------------ the launch pipeline: run, check, plan, export
    "component_dir": Option(
        "--component-dir",
        "-C",
        default=".",
        show_default=True,
        type=_DIRECTORY,
        help="Component directory holding .wso2/ or .choreo/.",
    ),
    "manifest": Option("--manifest", "-m", type=_FILE, help="Manifest file to read instead of discovering one."),
    "backend": _backend,
    "project": _project,
    "component": _component,
    "env": Option("--env", "-e", "environment", help="Environment whose values to use.  [default: development]"),
    "env_file": Option(
        "--env-file", "env_files", multiple=True, type=_FILE, help="Overlay a .env file (repeatable; later files win)."
    ),
    "allow_variable": Option(
        "--allow-variable",
        "allowed_variables",
        multiple=True,
        metavar="NAME",
        help="Let the manifest, store or env files set NAME although it changes how code is loaded "
        "(LD_PRELOAD, PYTHONPATH, PATH, ...; refused otherwise). Repeatable.",
    ),
    "token_file": Option(
        "--token-file", type=_FILE, help="File holding the backend's bearer token (or set CHOREO_RUN_TOKEN)."
    ),
    "ca_file": Option(
        "--ca-file", type=_FILE, help="CA bundle for the backend's TLS certificate (verification always stays on)."
    ),
    "timeout": Option(
        "--timeout", type=_SECONDS, default=5.0, show_default=True, help="Seconds for one backend request."
    ),
    "deadline": Option(
        "--deadline",
        type=_SECONDS,
        default=15.0,
        show_default=True,
        help="Seconds for the whole operation, retries and failover included.",
    ),
    "etcd_allow_no_auth": Option(
        "--etcd-allow-no-auth",
        is_flag=True,
        help="Development only: read from an etcd cluster with authentication disabled (refused otherwise).",
    ),
    "cache": Option(
        "--cache/--no-cache",
        "cache",
        default=False,
        help="Keep an encrypted last-known-good copy; use it when the backend is unreachable.",
    ),
    "cache_dir": Option(
        "--cache-dir", type=_DIRECTORY, help="Where the cache lives.  [default: $XDG_CACHE_HOME/choreo-run]"
    ),
    "cache_max_age": Option(
        "--cache-max-age", default="24h", show_default=True, help="Oldest cache to use, e.g. 30m, 24h, 7d."
    ),
    "cache_key_file": Option(
        "--cache-key-file", type=_FILE, help="File holding the cache key (or set CHOREO_RUN_CACHE_KEY)."
    ),
    "debug": Option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember("debug"),
        help="Progress, timing and tracebacks (never values).",
    ),
    "quiet": Option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_remember("quiet"),
        help="No warnings.",
    ),
    "mount_root": Option(
        "--mount-root", type=_DIRECTORY, help="Put configuration files under DIR instead of their absolute mount paths."
    ),
    # ------------------------------------------------ run
    "supervise": Option(
        "--supervise/--exec",
        "supervise",
        default=None,
        no_variable=_MODE,
        help=f"Stay resident as the service's parent (default when PID 1; {MODE_VARIABLE}).",
    ),
    "signal_group": Option(
        "--signal-group", is_flag=True, help="Supervise: forward signals to the service's whole process group."
    ),
    "stop_signal": Option(
        "--stop-signal", default="SIGTERM", show_default=True, help="Supervise: the signal that stops the service."
    ),
    "rewrite_signal": Option(
        "--rewrite-signal", multiple=True, help="Supervise: deliver FROM as TO, e.g. SIGTERM:SIGQUIT (repeatable)."
    ),
    "grace_period": Option(
        "--grace-period",
        type=SecondsType(zero_ok=True),
        default=10.0,
        show_default=True,
        help="Supervise: seconds between the stop signal and killing what remains.",
    ),
    "keep_descendants": Option(
        "--keep-descendants",
        is_flag=True,
        help="Supervise: when the service exits, exit with its code at once and leave its descendants "
        "running (dumb-init's single-child behaviour; as PID 1 the kernel ends them with us).",
    ),
    "watch": Option(
        "--watch", is_flag=True, help="Restart (or signal) the service when its values change (implies --supervise)."
    ),
    "watch_interval": Option(
        "--watch-interval",
        type=_SECONDS,
        default=1.0,
        show_default=True,
        help="Watch: seconds between looks at files and HTTP backends (etcd is watched live).",
    ),
    "reload_signal": Option(
        "--reload-signal",
        help="Watch: send this signal instead of restarting; new values are in $CHOREO_RELOAD_ENV_FILE.",
    ),
    "reload_env_file": Option(
        "--reload-env-file",
        type=_FILE,
        help="Watch: where to write the new values for --reload-signal.  [default: a private temp file]",
    ),
    "mask_output": Option(
        "--mask-output",
        is_flag=True,
        help="Replace secret values in the service's stdout and stderr (implies --supervise).",
    ),
    "no_override": Option(
        "--no-override", is_flag=True, help="Variables already in the environment win over resolved ones."
    ),
    # ------------------------------------------------ plan, export
    "plan_format": Option(
        "--format",
        "output_format",
        scope="plan",
        type=ChoiceType(["table", "json"]),
        default="table",
        show_default=True,
        help="A table for people or JSON for programs.",
    ),
    "export_format": Option(
        "--format",
        "export_format",
        scope="export",
        type=ChoiceType(["dotenv", "json", "shell"]),
        default="dotenv",
        show_default=True,
        help="How to write the variables.",
    ),
    "export_reveal": _reveal,
    "export_output": Option(
        "--output", "-o", scope="export", type=_FILE, help="Write to FILE (mode 0600) instead of stdout."
    ),
    # ------------------------------------------------ store push|pull|roles (plus ca_file, timeout, deadline)
    "push_store": Option(
        "--store",
        "store_file",
        scope="store push",
        required=True,
        type=_FILE,
        help="The local store YAML to load into etcd.",
    ),
    "expect_revision": Option(
        "--expect-revision",
        scope="store push",
        type=int,
        default=None,
        help="Refuse to write if anything under the prefix changed after this revision (from `pull`).",
    ),
    "pull_output": Option(
        "-o", "--output", scope="store pull", type=_FILE, help="Write here (mode 0600) instead of stdout."
    ),
    "roles_project": _project.but(required=True, help="Create one read-only role per component of this project."),
    "users_file": Option(
        "--users-file",
        scope="store roles",
        type=_FILE,
        help="Also create a user per role; write new passwords here (mode 0600).",
    ),
    "reset_passwords": Option(
        "--reset-passwords",
        is_flag=True,
        no_variable=_DESTRUCTIVE,
        help="With --users-file: give existing users new passwords.",
    ),
    "enable_auth": Option(
        "--enable-auth",
        is_flag=True,
        no_variable=_DESTRUCTIVE + " (every client of the cluster then needs credentials)",
        help="Create root (password from the environment) and enable auth.",
    ),
    # ------------------------------------------------ serve-http
    "serve_store": Option(
        "--store",
        "store_path",
        scope="serve-http",
        required=True,
        type=_FILE,
        help="The local store file to serve (docs/store.md).",
    ),
    "serve_tokens": Option(
        "--tokens",
        "tokens_path",
        scope="serve-http",
        required=True,
        type=_FILE,
        help="Which bearer token may read which component (docs/backends/http.md).",
    ),
    "serve_host": Option(
        "--host", scope="serve-http", default="127.0.0.1", show_default=True, help="Address to listen on."
    ),
    "serve_port": Option(
        "--port",
        scope="serve-http",
        default=8421,
        show_default=True,
        type=IntRangeType(0, 65535),
        help="Port to listen on; 0 picks a free one.",
    ),
    "serve_tls_cert": Option(
        "--tls-cert", scope="serve-http", type=_FILE, help="Serve HTTPS with this certificate (PEM)."
    ),
    "serve_tls_key": Option(
        "--tls-key", scope="serve-http", type=_FILE, help="The certificate's private key, if not in --tls-cert."
    ),
    # ------------------------------------------------ connection: where the store is (every subcommand)
    "connection_backend": Option(
        "--backend",
        "--store",
        "backend",
        help="Store file path or etcd://host:port/prefix [default: ./connections.yaml].",
    ),
    "connection_project": _project.but(help="Project (default: the store's only one)."),
    "connection_component": _component.but(help="Owning component (component connections; narrows a lookup by name)."),
    # ------------------------------------------------ connection: what one change is about (no variables)
    "type": Option(
        "--type",
        "kind",
        required=True,
        no_variable=_PER_CHANGE,
        type=ChoiceType(["service", "database", "third-party", "storage"]),
    ),
    "visibility": Option(
        "--visibility",
        required=True,
        type=ChoiceType(["project", "component"]),
        no_variable=_PER_CHANGE,
        help="project: any component of the project; component: only --component.",
    ),
    "resource_ref": _resource_ref,
    "new_resource_ref": _resource_ref.but(help="A new resourceRef."),
    "oauth": Option(
        "--oauth",
        is_flag=True,
        no_variable=_PER_CHANGE,
        help="Service connection under the OAuth scheme (see docs/connections.md).",
    ),
    "oauth_app": _oauth_app,
    "dedicated_oauth_app": Option(
        "--dedicated-oauth-app",
        is_flag=True,
        no_variable=_PER_CHANGE,
        help="With --oauth, component visibility: an application of its own, not the component's shared one.",
    ),
    "token_url": Option(
        "--token-url",
        no_variable=_PER_CHANGE,
        help="With --oauth: token endpoint, for environments the application lacks.",
    ),
    "values_env": _values_env,
    "param": Option(
        "--param", "params", multiple=True, metavar="KEY=VALUE", no_variable=_PER_CHANGE, help="A non-secret value."
    ),
    "secret": Option(
        "--secret",
        "secrets",
        multiple=True,
        metavar="KEY",
        no_variable=_PER_CHANGE,
        help="A secret parameter; its value is read from a prompt (no echo) or a line of stdin.",
    ),
    "param_file": _param_file,
    "show_reveal": _reveal.but(help="Show secret values (masked otherwise)."),
    "remove": Option(
        "--remove",
        "removals",
        multiple=True,
        metavar="KEY",
        no_variable=_PER_CHANGE,
        help="Remove a parameter (with --env: only its values for those environments).",
    ),
    "guard_component_dir": Option(
        "--component-dir",
        "-C",
        "component_dirs",
        scope="connection delete",
        multiple=True,
        type=_DIRECTORY,
        help="Refuse while the manifest in this directory references the connection (repeatable).",
    ),
    "force": Option(
        "--force",
        is_flag=True,
        no_variable=_DESTRUCTIVE + " (it overrides the reference check)",
        help="Delete even if a manifest still references it.",
    ),
    "prune": Option(
        "--prune",
        is_flag=True,
        no_variable=_DESTRUCTIVE,
        help="Also delete an OAuth application no connection uses any more.",
    ),
    "rotate_oauth_app": _oauth_app.but(help="Rotate this OAuth application's client secret."),
    "rotate_env": _values_env.but(help="Only these environments [default: all]."),
    "generate": Option(
        "--generate",
        is_flag=True,
        no_variable=_PER_CHANGE,
        help="A secret parameter: generate the new value (secrets.token_urlsafe).",
    ),
    "rotate_param_file": _param_file.but(help="Read the new value from here."),
    "show_component_dir": Option(
        "--component-dir",
        "-C",
        "component_dirs",
        scope="connection show",
        multiple=True,
        type=_DIRECTORY,
        help="List the components in these directories whose manifests use it (repeatable).",
    ),
    # ------------------------------------------------ diagram (plus backend, project, env and REACH)
    "diagram_format": Option(
        "--format",
        "output_format",
        scope="diagram",
        type=ChoiceType(["html", "svg", "mermaid", "dot"]),
        default="html",
        show_default=True,
        help="html: one self-contained page; svg; mermaid (Markdown); dot (Graphviz).",
    ),
    "diagram_output": Option("--output", "-o", scope="diagram", type=_FILE, help="Write to FILE instead of stdout."),
}

# The options every command of the launch pipeline (run, check, plan, export) takes, in --help order.
PIPELINE = (
    "component_dir",
    "manifest",
    "backend",
    "project",
    "component",
    "env",
    "env_file",
    "allow_variable",
    "token_file",
    "ca_file",
    "timeout",
    "deadline",
    "etcd_allow_no_auth",
    "cache",
    "cache_dir",
    "cache_max_age",
    "cache_key_file",
    "debug",
    "quiet",
)
# The options of `run` after PIPELINE, in --help order (launcher.cli.commands; launcher.cli.argv parses them).
RUN = (
    "supervise",
    "signal_group",
    "stop_signal",
    "rewrite_signal",
    "grace_period",
    "keep_descendants",
    "watch",
    "watch_interval",
    "reload_signal",
    "reload_env_file",
    "mask_output",
    "mount_root",
    "no_override",
)
# How a store, etcd or a local file, is reached: `store` and `connection` subcommands.
REACH = ("ca_file", "timeout", "deadline")
# Where the store of the `connection` subcommands is, and whose connections they mean.
CONNECTION_STORE = ("connection_backend", "connection_project", "connection_component", *REACH)
# The values one `connection create` or `update` sets.
CONNECTION_VALUES = ("values_env", "param", "secret", "param_file")
