"""The start-up fast path: replay a launch the full path already resolved, when nothing changed.

Every start of a service goes through the launcher, and importing click, pyyaml and the resolver
costs several times the interpreter's own start-up. So after a successful exec-mode launch against
local store files, the full path records what it did (the variables, the files it wrote, the
warnings it gave) together with a stamp of every input it read. The next identical invocation
(the same argv, directory and CHOREO_RUN_* settings) checks the stamps and, if every input is
unchanged, replays the recorded `Launch` (launcher.launch.decision) through the same orchestrator
the full path uses, importing nothing but `os`, `sys`, `marshal` and `_signal`. The fast path never
parses argv: the argv is only the key of a record, and every decision (mode, quiet, what to write)
is the one the full path made. Anything unusual falls back to the full path, which is always right.

Records hold resolved values, secrets included, so they live in a 0700 directory as 0600 files
owned by the user (`$XDG_CACHE_HOME/choreo-run/plans`), are only ever made for local store files
(whose values are on this machine in plain text already), and are never made when
CHOREO_RUN_FAST=0. See docs/performance.md.
"""

from __future__ import annotations

import marshal
import os
import sys

from launcher.files.atomic import atomic_write
from launcher.files.marshalled import load_private
from launcher.files.stamps import stamp
from launcher.launch.decision import EXEC, Launch
from launcher.settings import LAUNCHER_PREFIX, is_secret_setting

RECORD_FORMAT = 3
SWEEP_LIMIT = 256  # records looked at per sweep: a bound on the full path's extra work


def plan_directory(environ: dict[str, str] | os._Environ) -> str:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "choreo-run", "plans")


def signature(argv: list[str], environ: dict[str, str] | os._Environ) -> str:
    """Everything that decides a launch besides file contents: argv, directory, settings, PID 1."""
    settings = sorted(
        (name, value)
        for name, value in environ.items()
        if name.startswith(LAUNCHER_PREFIX) and not is_secret_setting(name)
    )
    # PID 1 supervises by default: a record made elsewhere must not be replayed as PID 1.
    return repr((RECORD_FORMAT, sys.executable, os.getcwd(), os.getpid() == 1, argv, settings))


def fingerprint(text: str) -> str:
    """64-bit FNV-1a (no hashlib import on the fast path): names records, compares variables."""
    digest = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def record_path(signature_text: str, environ: dict[str, str] | os._Environ) -> str:
    """A stable file name from the signature."""
    return os.path.join(plan_directory(environ), f"{fingerprint(signature_text)}.plan")


def environment_stamps(names: list[str], environ: dict[str, str] | os._Environ) -> list[tuple[str, str | None]]:
    """What the variables an env file interpolates (`${NAME}`) held: a change must not replay an old value."""
    return [(name, None if name not in environ else fingerprint(environ[name])) for name in names]


def is_current(record: dict, environ: dict[str, str] | os._Environ) -> bool:
    """Every file and every interpolated variable the recorded launch read is as it was then."""
    return all(stamp(path) == recorded for path, recorded in record["stamps"]) and (
        environment_stamps([name for name, _ in record["environment"]], environ) == record["environment"]
    )


def forget(path: str) -> None:
    """A stale record holds values that may since have been rotated: it does not stay on disk."""
    try:
        os.unlink(path)
    except OSError:
        pass


# ---------------------------------------------------------------- replay


def try_fast_launch(argv: list[str]) -> None:
    """Start the recorded launch for `argv` if it is still valid; otherwise return to the full path."""
    environ = os.environ
    if environ.get("CHOREO_RUN_FAST") == "0" or not argv:
        return
    expected = signature(argv, environ)
    path = record_path(expected, environ)
    record = _load(path)
    if record is None or record.get("signature") != expected:
        return
    if not is_current(record, environ):
        forget(path)  # the full path records the launch again, with the values of today
        return
    from launcher.launch.start import replay

    replay(Launch.from_record(record["launch"]), environ)  # returns only to fall back


def _load(path: str) -> dict | None:
    """The record, if it and its directory are ours and private (launcher.files.marshalled). A records
    directory another user owns, one with group or other bits, or a symlink is not trusted: no replay
    (the full path refuses to record there and says why under --debug)."""
    record = load_private(path)
    return record if record is not None and record.get("format") == RECORD_FORMAT else None


# ---------------------------------------------------------------- recording (called by the full path)


def record_launch(
    argv: list[str],
    stamps: list[tuple[str, tuple[int, ...] | None]],
    launch: Launch,
    interpolated: tuple[str, ...] = (),
) -> str | None:
    """Record a launch the full path made, for replay; return the record's path (None when not made).

    The caller decides what is replayable (exec mode, local inputs only, no --debug); this only
    refuses what must never be recorded. `interpolated` names the variables the env files expand.
    Records made stale by a change to their inputs (a rotated secret) are removed on the way.
    """
    environ = os.environ
    if environ.get("CHOREO_RUN_FAST") == "0" or launch.mode != EXEC:
        return None
    text = signature(argv, environ)
    # An upgraded launcher may resolve differently: its own package is an input too.
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stamps = [*stamps, *((path, stamp(path)) for path in (package, os.path.join(package, "__init__.py"), __file__))]
    record = {
        "format": RECORD_FORMAT,
        "signature": text,
        "stamps": stamps,
        "environment": environment_stamps(sorted(set(interpolated)), environ),
        "launch": launch.to_record(),
    }
    path = record_path(text, environ)
    _sweep(os.path.dirname(path), environ)
    # directory_mode 0700: the records directory is created private, or verified to be (ours, no
    # group/other bits, not a symlink); otherwise UnsafeDirectory (an OSError) and nothing is recorded.
    atomic_write(path, marshal.dumps(record), mode=0o600, directory_mode=0o700)
    return path


def _sweep(directory: str, environ: dict[str, str] | os._Environ) -> None:
    """Remove records whose inputs changed since: they would never be replayed, and hold old values."""
    try:
        names = [name for name in os.listdir(directory) if name.endswith(".plan")][:SWEEP_LIMIT]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        record = _load(path)
        if record is not None and not is_current(record, environ):
            forget(path)
