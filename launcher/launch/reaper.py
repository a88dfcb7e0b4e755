"""The duties of an init towards the process tree: adopt orphans, reap them, stop what is left.

As PID 1 the kernel re-parents every orphan of the namespace to us. Anywhere else we ask for the
same with PR_SET_CHILD_SUBREAPER, so orphans of the service (double-forked daemons, children of a
crashed worker) become our children instead of escaping to the host's init: we reap them, and we
can find and stop them, whether or not we are PID 1.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

TYPE_CHECKING = False  # not typing's: the resident supervisor does not import typing
if TYPE_CHECKING:
    import psutil

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


@contextmanager
def child_subreaper(warn: Callable[[str], None] | None = None) -> Iterator[None]:
    """Be a child subreaper for the duration; a no-op as PID 1, which already adopts orphans."""
    if os.getpid() == 1:
        yield
        return
    previous = _get_subreaper()
    if not _set_subreaper(1) and warn is not None:
        warn("cannot become a child subreaper: orphans of the service will not be reaped or stopped")
    try:
        yield
    finally:
        if previous is not None:
            _set_subreaper(previous)


def _prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not Linux
        return None


def _get_subreaper() -> int | None:
    prctl, value = _prctl(), ctypes.c_int(0)
    if prctl is None or prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return None
    return value.value


def _set_subreaper(value: int) -> bool:
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_CHILD_SUBREAPER, value, 0, 0, 0) == 0


def reap_all(on_exit: Callable[[int, int], None]) -> bool:
    """Collect every child that has exited or stopped, calling on_exit(pid, wait status) for each.

    Returns True when no child is left at all. As a subreaper, a descendant whose parent dies becomes
    our child, so "no child left" means the whole tree is gone.
    """
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG | os.WUNTRACED)
        except ChildProcessError:
            return True
        if pid == 0:
            return False
        on_exit(pid, status)


def exit_code(status: int) -> int:
    """The shell's convention: the exit code itself, or 128+N for a death by signal N."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _psutil():  # type: ignore[no-untyped-def]
    """psutil, imported only when a tree must be stopped: a resident launcher stays small without it."""
    import psutil

    return psutil


def descendants() -> list[psutil.Process]:
    """Every live process below us: the service, its children, and orphans we adopted."""
    psutil = _psutil()
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def signal_all(processes: list[psutil.Process], signo: int) -> None:
    """Send signo to each process; psutil checks it is still the same process (no pid reuse)."""
    psutil = _psutil()
    for process in processes:
        try:
            process.send_signal(signo)
        except psutil.Error:  # already gone
            pass


def kill_tree() -> None:
    """SIGKILL everything below us. A process forked in the meantime is caught by the next call."""
    signal_all(descendants(), signal.SIGKILL)
