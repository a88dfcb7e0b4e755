"""prctl(2), the one way the launcher calls it: `os` has no prctl, and the `ctypes` package would cost
the resident supervisor's start about a millisecond more than the C `_ctypes` module used here.

Used for the child subreaper (launcher.launch.reaper) and for making a supervisor non-dumpable
(`forbid_inspection`). Imports only `os` at the top.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: the resident supervisor does not import typing
if TYPE_CHECKING:
    from collections.abc import Callable

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


_PRCTL: list[tuple[Callable[..., int], Callable[[], object], Callable[..., object]] | None] = []


def prctl_call() -> tuple[Callable[..., int], Callable[[], object], Callable[..., object]] | None:
    """(prctl, a new C int, a pointer to one), from libc through the C `_ctypes` module directly.

    What `ctypes.CDLL(None, use_errno=True).prctl` builds, without importing the `ctypes` package
    (which costs the resident supervisor's start about a millisecond more than `_ctypes` alone);
    `os` has no prctl. None where there is no prctl (not Linux) or no `_ctypes`. Built once.
    """
    if not _PRCTL:
        _PRCTL.append(_load_prctl())
    return _PRCTL[0]


def _load_prctl() -> tuple[Callable[..., int], Callable[[], object], Callable[..., object]] | None:
    try:
        import _ctypes
    except ImportError:
        return None

    class Int(_ctypes._SimpleCData):
        _type_ = "i"

    class Function(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    class Library:
        _handle = _ctypes.dlopen(None, os.RTLD_LOCAL)  # type: ignore[arg-type]  # dlopen(NULL): the program

    try:
        return Function(("prctl", Library)), Int, _ctypes.byref  # type: ignore[arg-type]  # has a `_handle`
    except (OSError, AttributeError):  # not Linux
        return None


def forbid_inspection() -> bool:
    """Make this process non-dumpable; False where that cannot be done (no prctl).

    Then no other process without CAP_SYS_PTRACE may read its /proc/PID/environ or /proc/PID/mem
    or attach to it, a service running as the same user included (and a root one without that
    capability, as in a default container), and it never dumps core. What lets a supervisor that
    holds a credential of the launcher's stay resident beside the service (docs/security.md).
    The service itself is dumpable again: execve resets the flag.
    """
    found = prctl_call()
    return found is not None and found[0](PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
