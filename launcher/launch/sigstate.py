"""The signal state a service starts with, and how to start it that way.

A shell starts a program with every signal at its default disposition and nothing blocked. The
launcher is a Python process: CPython ignores SIGPIPE and SIGXFSZ, and supervise mode blocks almost
every signal while it waits for them. Dispositions set to a handler are reset by execve, but
ignored signals and the signal mask survive it, so both are reset explicitly right before exec.
"""

from __future__ import annotations

import _signal  # the C module; `signal.py` (with `enum`) only where a name is looked up
import errno
import os

from launcher.errors import CommandNotExecutable, CommandNotFound, LauncherError, UsageError
from launcher.launch.cleanexec import CATCHABLE, exec_failure, execvpe, reset_signals_for_exec

TYPE_CHECKING = False  # not typing's: the resident supervisor spawns through this module
if TYPE_CHECKING:
    from collections.abc import Mapping

# The clean start itself lives in launcher.launch.cleanexec, which the start-up fast path shares.
__all__ = [
    "CATCHABLE",
    "exec_error",
    "parse_rewrite",
    "parse_signal",
    "reset_signals_for_exec",
    "signal_name",
    "spawn",
]


def spawn(
    argv: list[str],
    env: Mapping[str, str],
    terminal_fd: int | None = None,
    outputs: tuple[int | None, int | None] = (None, None),
    cwd: str | None = None,
) -> int:
    """Start argv (searched on env's PATH) in a new process group with a clean signal state.

    With terminal_fd, the child also takes that terminal's foreground before it execs, so it can
    read the terminal at once (no SIGTTIN race with the parent). Returns only once the exec has
    succeeded: a close-on-exec pipe reports the exec error, as posix_spawn would.
    `outputs` replaces the child's stdout and stderr (for --mask-output); `cwd`, when given, is the
    directory the child starts in (the resident supervisor itself has moved to `/`).
    Raises CommandNotFound or CommandNotExecutable.
    """
    read_end, write_end = os.pipe()  # non-inheritable (PEP 446): closes on a successful exec
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _become_service(argv, dict(env), terminal_fd, write_end, outputs, cwd)
    os.close(write_end)
    with open(read_end, "rb") as report:
        failure = report.read()
    if failure:
        os.waitpid(pid, 0)
        if terminal_fd is not None:
            os.tcsetpgrp(terminal_fd, os.getpgrp())  # the child took it before it failed to exec
        raise exec_error(argv[0], int(failure))
    return pid


def _become_service(
    argv: list[str],
    env: dict[str, str],
    terminal_fd: int | None,
    report: int,
    outputs: tuple[int | None, int | None],
    cwd: str | None,
) -> None:
    """Runs in the forked child: never returns, never raises into the caller's code."""
    code = errno.EIO
    try:
        for target, replacement in enumerate(outputs, start=1):
            if replacement is not None:
                os.dup2(replacement, target)
        if cwd is not None:
            os.chdir(cwd)
        os.setpgid(0, 0)
        if terminal_fd is not None:
            os.tcsetpgrp(terminal_fd, os.getpid())  # SIGTTOU is still blocked here, so this works
        reset_signals_for_exec()
        execvpe(argv[0], argv, env)
    except OSError as error:
        code = error.errno or errno.EIO
    finally:
        try:
            os.write(report, str(code).encode())
        finally:
            os._exit(127)


def exec_error(command: str, code: int) -> LauncherError:
    """The error for a failed exec of command, with the exit codes `env` uses (127 and 126)."""
    exit_code, message = exec_failure(command, code)
    return (CommandNotFound if exit_code == 127 else CommandNotExecutable)(message)


def parse_signal(text: str) -> int:
    """A signal from `TERM`, `SIGTERM`, `term`, `15` or `RTMIN+2`; UsageError for anything else."""
    name = text.strip().upper()
    if name.isdigit():
        number = int(name)
        if number in CATCHABLE:
            return number
        raise UsageError(f"invalid signal '{text}': {number} is not a signal that can be sent and caught")
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name.startswith("SIGRT"):
        found = _realtime(name)
    else:
        import signal

        found = signal.Signals.__members__.get(name)
    if found is None or found not in CATCHABLE:
        raise UsageError(f"invalid signal '{text}': expected a name like TERM or SIGTERM, or a number")
    return int(found)


def _realtime(name: str) -> int | None:
    """SIGRTMIN, SIGRTMIN+N, SIGRTMAX, SIGRTMAX-N: the spellings kill(1) and tini accept."""
    for base, sign in (("SIGRTMIN", "+"), ("SIGRTMAX", "-")):
        if name == base:
            return int(getattr(_signal, base))
        offset = name.removeprefix(base + sign)
        if offset != name and offset.isdigit():
            return int(getattr(_signal, base)) + int(offset) * (1 if sign == "+" else -1)
    return None


def parse_rewrite(text: str) -> tuple[int, int]:
    """A rewrite rule `FROM:TO` such as `SIGTERM:SIGQUIT` or `15:3`."""
    source, sep, target = text.partition(":")
    if not sep or not source.strip() or not target.strip():
        raise UsageError(f"invalid signal rewrite '{text}': expected FROM:TO, e.g. SIGTERM:SIGQUIT")
    return parse_signal(source), parse_signal(target)


def signal_name(signo: int) -> str:
    """SIGTERM for 15; SIGRTMIN+3 style for real-time signals, which have no member name."""
    import signal

    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"SIGRTMIN+{signo - _signal.SIGRTMIN}"
