"""The last steps before exec, with nothing heavier than `os` and the C `_signal` module.

Shared by every way the launcher starts a service (exec mode, supervise mode, the start-up fast
path), so the service always starts as a shell would start it: default dispositions, nothing
blocked. `signal.py` is not imported on purpose: it pulls in `enum`, which costs the fast path
milliseconds, while `_signal` (the module it wraps) is built into the interpreter.
"""

from __future__ import annotations

import _signal
import errno
import os

#: Every signal whose disposition can be changed (SIGKILL and SIGSTOP cannot).
CATCHABLE: frozenset[int] = frozenset(_signal.valid_signals()) - {_signal.SIGKILL, _signal.SIGSTOP}


def reset_signals_for_exec() -> None:
    """Give this process the signal state of a fresh shell child; call right before os.exec*.

    Handlers are reset by execve anyway, but ignored signals (CPython ignores SIGPIPE and SIGXFSZ)
    and the signal mask survive it. Dispositions go first and the mask last: a signal already
    pending then acts with its default action, as it would have without the launcher.
    """
    for signo in sorted(CATCHABLE):
        _signal.signal(signo, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_SETMASK, ())


def execvpe(file: str, argv: list[str], env: dict[str, str]) -> None:
    """os.execvpe(file, argv, env), without what `os.get_exec_path` costs a freshly forked child: it
    imports `warnings` (about a millisecond) to search PATH. The same search and the same error:
    a name with a slash is run as it is; otherwise each directory of env's PATH (os.defpath when
    unset) is tried in turn, and the first error other than "not found" wins over "not found"."""
    if os.path.dirname(file):
        os.execve(file, argv, env)
    directories = env.get("PATH")
    saved: OSError | None = None
    last: OSError = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), file)
    for directory in (os.defpath if directories is None else directories).split(os.pathsep):
        try:
            os.execve(os.path.join(directory, file), argv, env)
        except (FileNotFoundError, NotADirectoryError) as error:
            last = error
        except OSError as error:
            last = error
            saved = saved or error
    raise saved or last


def exec_failure(command: str, code: int) -> tuple[int, str]:
    """(exit code, message) for a failed exec, with the codes `env` uses: 127 not found, 126 otherwise."""
    if code == errno.ENOENT:
        if os.sep in command and os.path.exists(command):
            return 127, f"cannot run '{command}': its interpreter or loader was not found"
        return 127, f"cannot run '{command}': command not found"
    return 126, f"cannot run '{command}': {os.strerror(code).lower()}"
