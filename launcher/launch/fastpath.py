"""The start-up fast path: replay a launch the full path already resolved, when nothing changed.

Every start of a service goes through the launcher, and importing click, pyyaml and the resolver
costs several times the interpreter's own start-up. So after a successful exec-mode launch against
local store files, the full path records what it did (the variables, the files it wrote, the
warnings it gave) together with a stamp of every input it read. The next identical invocation
(`choreo-run [OPTIONS] -- CMD` with the same options, directory and CHOREO_RUN_* settings) checks
the stamps and, if every input is unchanged, replays the record and execs, importing nothing but
`os`, `sys`, `marshal` and `_signal`. Anything unusual falls back to the full path, which is always
right; the fast path only ever repeats what the full path did.

Records hold resolved values, secrets included, so they live in a 0700 directory as 0600 files
owned by the user (`$XDG_CACHE_HOME/choreo-run/plans`), are only ever made for local store files
(whose values are on this machine in plain text already), and are never made when
CHOREO_RUN_FAST=0. See docs/performance.md.
"""

from __future__ import annotations

import marshal
import os
import sys

from launcher.atomic import atomic_write
from launcher.launch.cleanexec import exec_failure, reset_signals_for_exec
from launcher.launch.environment import LAUNCHER_PREFIX, apply_assignments
from launcher.launch.modes import mode_from

RECORD_FORMAT = 1
# The CLI's command words (launcher.cli.main routes with the same list): a launch naming one is not a replay.
COMMANDS = ("run", "check", "plan", "export", "store", "serve-http", "connection")
COMMAND_WORDS = frozenset(COMMANDS) | {"-h", "--help", "--version"}
SECRET_SETTING_PARTS = ("TOKEN", "PASSWORD", "KEY")


def plan_directory(environ: dict[str, str] | os._Environ) -> str:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "choreo-run", "plans")


def signature(launcher_args: list[str], environ: dict[str, str] | os._Environ) -> str:
    """Everything that decides a resolution besides file contents: options, directory, settings."""
    settings = sorted((name, value) for name, value in environ.items()
                      if name.startswith(LAUNCHER_PREFIX) and not any(p in name for p in SECRET_SETTING_PARTS))
    return repr((RECORD_FORMAT, sys.executable, os.getcwd(), launcher_args, settings))


def record_path(signature_text: str, environ: dict[str, str] | os._Environ) -> str:
    """A stable file name from the signature: 64-bit FNV-1a (no hashlib import on the fast path)."""
    digest = 0xCBF29CE484222325
    for byte in signature_text.encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(plan_directory(environ), f"{digest:016x}.plan")


def stamp(path: str) -> tuple[int, ...] | None:
    """What changes when a file is edited, replaced, created, deleted or chmod-ed."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino, info.st_mode)


# ---------------------------------------------------------------- replay


def try_fast_launch(argv: list[str]) -> None:
    """Exec the recorded launch for `argv` if it is still valid; otherwise return to the full path."""
    environ = os.environ
    split = _split(argv, environ)
    if split is None:
        return
    launcher_args, command = split
    expected = signature(launcher_args, environ)
    record = _load(record_path(expected, environ))
    if record is None or record.get("signature") != expected:
        return
    if any(stamp(path) != expected for path, expected in record["stamps"]):
        return
    try:
        for path, content, mode in record["files"]:
            atomic_write(path, content, mode=mode)
    except OSError:
        return  # the full path reports it properly
    if not ("-q" in launcher_args or "--quiet" in launcher_args or _truthy(environ.get("CHOREO_RUN_QUIET"))):
        for warning in record["warnings"]:
            sys.stderr.write(f"choreo-run: warning: {warning}\n")
    environment = apply_assignments(environ, record["assignments"], override=record["override"],
                                    mount_root=record["mount_root"])
    _exec(command, environment)


def _split(argv: list[str], environ: dict[str, str] | os._Environ) -> tuple[list[str], list[str]] | None:
    """(launcher options, command) for an exec-mode `choreo-run [OPTIONS] -- CMD`; None otherwise."""
    if "--" not in argv or environ.get("CHOREO_RUN_FAST") == "0":
        return None
    index = argv.index("--")
    launcher_args, command = argv[:index], argv[index + 1:]
    if not command or COMMAND_WORDS.intersection(launcher_args):
        return None
    if {"--supervise", "--debug", "--mask-output", "--watch"}.intersection(launcher_args) or any(
            _truthy(environ.get(name)) for name in ("CHOREO_RUN_DEBUG", "CHOREO_RUN_MASK_OUTPUT", "CHOREO_RUN_WATCH")):
        return None
    if "--exec" not in launcher_args and mode_from(environ) != "exec":
        return None
    return launcher_args, command


def _load(path: str) -> dict | None:
    """The record, if it is ours and private; marshal data must come only from a trusted file."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & 0o077:
                return None
            record = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return record if isinstance(record, dict) and record.get("format") == RECORD_FORMAT else None


def _exec(command: list[str], environment: dict[str, str]) -> None:
    sys.stdout.flush()
    reset_signals_for_exec()
    try:
        os.execvpe(command[0], command, environment)
    except OSError as error:
        code, message = exec_failure(command[0], error.errno or 5)
        sys.stderr.write(f"choreo-run: error: {message}\n")
        sys.stderr.flush()
        os._exit(code)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "yes", "y", "on")  # as click reads flags


# ---------------------------------------------------------------- recording (called by the full path)


def stamp_inputs(paths: list[str]) -> list[tuple[str, tuple[int, ...] | None]]:
    """Taken before the full path reads its inputs, so an edit made meanwhile invalidates the record."""
    return [(path, stamp(path)) for path in paths]


def record_launch(argv: list[str], stamps: list[tuple[str, tuple[int, ...] | None]],
                  assignments: list[tuple[str, str]], override: bool, mount_root: str | None,
                  files: list[tuple[str, bytes, int]], warnings: list[str]) -> str | None:
    """Record a successful exec-mode launch for replay; return the record's path (None when not made)."""
    environ = os.environ
    split = _split(argv, environ)
    if split is None:
        return None
    text = signature(split[0], environ)
    # An upgraded launcher may resolve differently: its own package is an input too.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stamps = [*stamps, *((path, stamp(path)) for path in (package, os.path.join(package, "__init__.py"), __file__))]
    record = {"format": RECORD_FORMAT, "signature": text, "stamps": stamps,
              "assignments": assignments, "override": override, "mount_root": mount_root, "files": files,
              "warnings": warnings}
    path = record_path(text, environ)
    atomic_write(path, marshal.dumps(record), mode=0o600, directory_mode=0o700)
    return path
