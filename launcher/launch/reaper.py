"""The duties of an init towards the process tree: adopt orphans, reap them, stop what is left.

As PID 1 the kernel re-parents every orphan of the namespace to us. Anywhere else we ask for the
same with PR_SET_CHILD_SUBREAPER, so orphans of the service (double-forked daemons, children of a
crashed worker) become our children instead of escaping to the host's init: we reap them, and we
can find and stop them, whether or not we are PID 1.
"""

from __future__ import annotations

import _signal
import os

from launcher.launch.prctl import PR_GET_CHILD_SUBREAPER, PR_SET_CHILD_SUBREAPER, prctl_call

TYPE_CHECKING = False  # not typing's: the resident supervisor does not import typing
if TYPE_CHECKING:
    from collections.abc import Callable

    import psutil


class child_subreaper:
    """Be a child subreaper for the duration; a no-op as PID 1, which already adopts orphans.

    A class rather than a @contextmanager: the resident supervisor does not import contextlib
    (with functools and collections) for it.
    """

    __slots__ = ("previous", "warn")

    def __init__(self, warn: Callable[[str], None] | None = None) -> None:
        self.warn = warn
        self.previous: int | None = None

    def __enter__(self) -> None:
        if os.getpid() == 1:
            return
        self.previous = _get_subreaper()
        if not _set_subreaper(1) and self.warn is not None:
            self.warn("cannot become a child subreaper: orphans of the service will not be reaped or stopped")

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is not None:
            _set_subreaper(self.previous)


def _get_subreaper() -> int | None:
    found = prctl_call()
    if found is None:
        return None
    prctl, new_int, pointer = found
    value = new_int()
    if prctl(PR_GET_CHILD_SUBREAPER, pointer(value), 0, 0, 0) != 0:
        return None
    return value.value  # type: ignore[attr-defined,no-any-return]


def _set_subreaper(value: int) -> bool:
    found = prctl_call()
    return found is not None and found[0](PR_SET_CHILD_SUBREAPER, value, 0, 0, 0) == 0


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
    signal_all(descendants(), _signal.SIGKILL)
