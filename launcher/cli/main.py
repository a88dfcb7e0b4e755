"""The `choreo-run` command line's entry: route argv, print errors as one line, exit with documented codes.

`choreo-run [OPTIONS] -- CMD ARGS` runs a service; the other commands are click's
(launcher.cli.commands). A launch whose argv launcher.cli.argv parses in full (the parser generated
from launcher.cli.options, proven equal to click's by tests/unit/test_cli_argv.py) runs without
importing click, which costs a container start more than resolving its values (docs/performance.md);
any other argv, help and every usage error are click's.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable

from launcher.cli.common import say, state, warn
from launcher.cli.options import OPTIONS, PIPELINE, RUN
from launcher.errors import LauncherError
from launcher.errors import write_line as echo_error

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any, NoReturn

# The command words; anything else first on the line is the program to run (see _route).
COMMANDS = ("run", "check", "plan", "export", "store", "serve-http", "connection", "diagram")

OPTIONAL_COMMANDS = {
    "store": ("launcher.cli.store", "store_command"),
    "serve-http": ("launcher.cli.serve", "serve_command"),
    "connection": ("launcher.cli.connection", "connection_command"),
    "diagram": ("launcher.cli.diagram", "diagram_command"),
}


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: route to a command, print errors as one line each, exit with documented codes."""
    state["argv"] = list(sys.argv[1:] if argv is None else argv)
    args = _route(list(state["argv"]))
    if args[0] == "run":
        from launcher.cli.argv import parse_run

        parsed = parse_run(args[1:], os.environ)
        if parsed is not None:
            sys.exit(_launch(*parsed))
    if args[0] != "run":  # not a launch: a command may run long (serve-http), so collect as usual
        gc.enable()
    if args[0] in OPTIONAL_COMMANDS or args[0] in ("-h", "--help"):
        _register_optional_commands()
    from launcher.cli.commands import invoke

    sys.exit(invoke(args))


def _launch(command: tuple[str, ...], options: dict[str, Any], callbacks: list[tuple[Callable[..., Any], Any]]) -> int:
    """The `run` command with argv parsed by launcher.cli.argv: what click would call, as click would."""

    def call() -> int:
        for callback, value in callbacks:  # --debug and --quiet (eager in click: before anything else)
            callback(None, None, value)
        try:
            from launcher.cli.run import launch

            launch(command, options)
        except (EOFError, KeyboardInterrupt):
            echo_error("")  # click's main: a blank line closes the terminal's ^C echo, then Abort
            return 130
        except OSError as error:
            import errno

            if error.errno != errno.EPIPE:
                raise
            return 1  # click's main: a closed pipe ends the command with 1, without a traceback
        return 0

    return guarded(call)


def _register_optional_commands() -> None:
    """Commands that live in their own modules, imported only when asked for (or for --help)."""
    import importlib

    from launcher.cli.commands import cli

    for module_name, attribute in OPTIONAL_COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cli.add_command(getattr(module, attribute))


def takes_value() -> set[str]:
    """The flags of `run` that take a value (every one but the flags), from the one option table."""
    words: set[str] = set()
    for name in (*PIPELINE, *RUN):
        option = OPTIONS[name]
        if option.attrs.get("is_flag") or any("/" in decl for decl in option.decls):
            continue
        words.update(decl for decl in option.decls if decl.startswith("-"))
    return words


def _route(args: list[str]) -> list[str]:
    """Put the command first: `choreo-run -C dir plan` is `plan -C dir`; no command means `run`.

    The first word that is neither an option nor an option's value names the command when it is
    one of COMMANDS; anything else (or anything after `--`) is the program to run.
    """
    if args and args[0] in ("-h", "--help", "--version"):
        return args
    valued = takes_value()
    index = 0
    while index < len(args) and args[index] != "--":
        word = args[index]
        if not word.startswith("-") or word == "-":
            if word in COMMANDS:
                return [word, *args[:index], *args[index + 1 :]]
            break
        index += 2 if word in valued else 1
    return ["run", *args]


def guarded(call: Callable[[], int]) -> int:
    """`call`'s exit code; a LauncherError as its lines and its code, anything else as exit code 70."""
    try:
        return call()
    except LauncherError as error:
        for warning in error.warnings:
            warn(warning)
        for problem in error.problems:
            say("error", str(problem))
        if state["debug"]:
            import traceback

            traceback.print_exc()
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        say("error", f"internal error ({type(error).__name__}); run with --debug for the traceback")
        if state["debug"]:
            import traceback

            traceback.print_exc()
        return 70
