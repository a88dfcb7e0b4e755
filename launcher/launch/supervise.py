"""Supervise mode: stay resident as the service's parent and behave like a proper init.

The launcher blocks every signal it handles *before* it starts the child and then takes them one
at a time with sigwaitinfo/sigtimedwait. A signal that arrives while the child is starting stays
pending until the child's pid is known, SIGCHLD is just another signal in the same queue, and the
grace period is the timeout of that same wait: no handler, no race, no polling. The contract is
docs/supervise.md.
"""

from __future__ import annotations

import _signal as signal  # the C module: `signal.py` would import `enum` into the resident supervisor
import os
import sys
import time

from launcher.errors import UsageError
from launcher.launch import reaper
from launcher.launch.cleanexec import CATCHABLE
from launcher.launch.service import ServiceStarter

# The resident supervisor imports neither `typing`, `contextlib`, `collections` nor `types`
# (docs/performance.md): what only the type checker needs is imported for it alone.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from signal import struct_siginfo
    from types import MappingProxyType
    from typing import NoReturn, Protocol
else:
    MappingProxyType = type(type.__dict__)

#: Faults the kernel raises in the launcher's own code. Blocking them does not stop a real fault
#: (the kernel forces a synchronous fault's default action, so a launcher bug still dumps core),
#: but it does catch the same signals *sent* with kill(1): those are forwarded like any other, or
#: their default action would kill the launcher and orphan the service.
SYNCHRONOUS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP, signal.SIGSYS, signal.SIGABRT}
)
#: Every signal that is passed on to the service.
FORWARDED = CATCHABLE - SYNCHRONOUS - {signal.SIGCHLD}
#: Signals the kernel also raises about the launcher's *own* pipes, sockets, limits and timers.
#: They are forwarded only when another process sent them on purpose (kill, sigqueue).
NOISE = frozenset(
    {signal.SIGPIPE, signal.SIGURG, signal.SIGIO, signal.SIGXFSZ, signal.SIGXCPU, signal.SIGPROF, signal.SIGVTALRM}
)
JOB_CONTROL_STOPS = frozenset({signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
WAITED = FORWARDED | SYNCHRONOUS | {signal.SIGCHLD}

SI_USER, SI_QUEUE, SI_TKILL, SI_KERNEL = 0, -1, -6, 0x80
SENT_BY_A_PROCESS = frozenset({SI_USER, SI_QUEUE, SI_TKILL})
#: After SIGKILL, how long to wait for the tree to vanish (a process stuck in the kernel cannot be
#: killed) before exiting anyway.
KILL_WAIT = 5.0
#: How the --watch thread wakes the supervisor (sent by ourselves; never forwarded).
WATCH_SIGNAL = signal.SIGRTMAX - 1


if TYPE_CHECKING:

    class Reloader(Protocol):
        """What --watch provides (launcher.launch.watch.Reloader): wakes us, then hands over a new environment."""

        def current_environment(self) -> dict[str, str]: ...

        def prepare(self) -> None: ...

        def start(self, notify: Callable[[], None]) -> None: ...

        def take(self) -> dict[str, str] | None: ...

        def stop(self) -> None: ...


_OPTION_FIELDS = (
    "forward_to_group",
    "stop_signal",
    "rewrites",
    "grace_period",
    "keep_descendants",
    "mask_variables",
    "reload_signal",
)


class SuperviseOptions:
    """How to supervise. Holds no environment, so its repr can never show a secret.

    Immutable, compared by value (and hashed without `rewrites`). A plain class rather than a
    dataclass: the resident supervisor imports this module, and `dataclasses` (with `inspect`) is
    most of what its start-up would import otherwise (docs/performance.md).
    """

    __slots__ = _OPTION_FIELDS
    forward_to_group: bool
    stop_signal: int
    rewrites: Mapping[int, int]
    grace_period: float
    keep_descendants: bool  # the service's exit ends supervision; its descendants are left running
    mask_variables: tuple[str, ...]  # --mask-output: names (never values) of secret variables
    reload_signal: int | None  # --watch: signal the service instead of restarting it

    def __init__(
        self,
        forward_to_group: bool = False,
        stop_signal: int = signal.SIGTERM,
        rewrites: Mapping[int, int] | None = None,
        grace_period: float = 10.0,
        keep_descendants: bool = False,
        mask_variables: tuple[str, ...] = (),
        reload_signal: int | None = None,
    ) -> None:
        values = (
            forward_to_group,
            stop_signal,
            MappingProxyType(dict(rewrites or {})),
            grace_period,
            keep_descendants,
            mask_variables,
            reload_signal,
        )
        for name, value in zip(_OPTION_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)
        if self.grace_period < 0:
            raise UsageError(f"invalid grace period {self.grace_period}: must be 0 or more seconds")
        for signo in (self.stop_signal, *self.rewrites):
            if signo not in FORWARDED:
                raise UsageError(f"signal {signo} cannot be forwarded to the service")
        for signo in self.rewrites.values():
            if signo not in CATCHABLE:
                raise UsageError(f"signal {signo} cannot be sent to the service")

    def target(self, signo: int) -> int:
        """The signal the service receives for signo, after rewriting."""
        return self.rewrites.get(signo, signo)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _OPTION_FIELDS)

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if type(other) is SuperviseOptions else NotImplemented

    def __hash__(self) -> int:
        return hash(
            tuple(value for name, value in zip(_OPTION_FIELDS, self._values(), strict=True) if name != "rewrites")
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(_OPTION_FIELDS, self._values(), strict=True))
        return f"SuperviseOptions({shown})"


DEFAULT_OPTIONS = SuperviseOptions()


def supervise(
    argv: list[str],
    env: dict[str, str],
    options: SuperviseOptions = DEFAULT_OPTIONS,
    *,
    warn: Callable[[str], None] | None = None,
    reloader: Reloader | None = None,
    cwd: str | None = None,
) -> int:
    """Run argv with env as our child until it exits; return the exit code the launcher exits with.

    Raises CommandNotFound / CommandNotExecutable when argv cannot be started. Must be called from
    the main thread; warn receives one-line warnings (never anything from env). With `cwd`, the
    service starts (and restarts) there whatever our own working directory is.
    """
    if not argv:
        raise UsageError("no command to run")
    threading = sys.modules.get("threading")  # not imported: no thread was started through it
    if threading is not None and threading.active_count() > 1 and warn is not None:
        warn("other threads are running: signals they receive cannot be forwarded to the service")
    with _SignalsBlocked(WAITED), reaper.child_subreaper(warn), _ControllingTerminal() as terminal:
        handoff = terminal.fd if terminal is not None and terminal.is_ours() else None
        service = ServiceStarter(argv, handoff, options.mask_variables, cwd)
        try:
            supervisor = _Supervisor(service, service.start(env), terminal, options)
            supervisor.restarts = _Restarts(reloader) if reloader is not None else None
            try:
                return supervisor.run()
            finally:
                supervisor.close()
                if reloader is not None:
                    reloader.stop()
        finally:
            service.finish()


def supervise_from_root(
    argv: list[str], env: dict[str, str], options: SuperviseOptions, *, warn: Callable[[str], None] | None = None
) -> int:
    """`supervise`, staying resident in `/` rather than in the invocation's directory: a supervisor
    that lives as long as the service must not keep a mount busy. The service still starts where
    it was asked to. (Not for --watch, which reads its inputs again by their relative paths.)"""
    try:
        service_directory: str | None = os.getcwd()
    except OSError:  # our directory was removed: the service inherits it as it is
        service_directory = None
    if service_directory is not None:
        os.chdir("/")
    return supervise(argv, env, options, warn=warn, cwd=service_directory)


def exit_at_once(code: int) -> NoReturn:
    """Exit with `code` without tearing the interpreter down: supervision is over, the service and
    our threads are gone and nothing is left to close but stdout and stderr, while finalizing every
    module and object would add milliseconds to every supervised start-to-exit (docs/performance.md)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more can be said on it
            pass
    os._exit(code)


class _Restarts:
    """Where new environments come from (--watch); restarts start the service as the first start did."""

    __slots__ = ("next_env", "reloader")

    def __init__(self, reloader: Reloader, next_env: dict[str, str] | None = None) -> None:
        self.reloader = reloader
        self.next_env = next_env  # set while a restart is under way


class _SignalsBlocked:
    """Block signals for the duration; those still pending at the end concern a child that is
    gone, so they are discarded rather than acted on by the launcher itself. (The context managers
    here are classes: contextlib would import functools and collections into the supervisor.)"""

    __slots__ = ("previous", "signals")

    def __init__(self, signals: frozenset[int]) -> None:
        self.signals = signals
        self.previous: set[int] = set()

    def __enter__(self) -> None:
        self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)

    def __exit__(self, *exc_info: object) -> None:
        while signal.sigtimedwait(self.signals, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


class _Terminal:
    """Our controlling terminal, if any, and whose process group owns its foreground."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def foreground(self) -> int | None:
        try:
            return os.tcgetpgrp(self.fd)
        except OSError:
            return None

    def is_ours(self) -> bool:
        return self.foreground() == os.getpgrp()

    def give(self, pgid: int) -> None:
        """SIGTTOU is blocked while we supervise, so this works from a background group too."""
        try:
            os.tcsetpgrp(self.fd, pgid)
        except OSError:  # the terminal hung up, or the group is gone
            pass


class _ControllingTerminal:
    """Our controlling terminal for the duration, or None without one."""

    __slots__ = ("terminal",)

    def __init__(self) -> None:
        self.terminal: _Terminal | None = None

    def __enter__(self) -> _Terminal | None:
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)  # fails without a controlling tty
        except OSError:
            return None
        self.terminal = _Terminal(fd)
        return self.terminal

    def __exit__(self, *exc_info: object) -> None:
        if self.terminal is not None:
            os.close(self.terminal.fd)
            self.terminal = None


class _Supervisor:
    """The wait loop. Mutable on purpose: it is the state of one running child."""

    def __init__(
        self, service: ServiceStarter, child: int, terminal: _Terminal | None, options: SuperviseOptions
    ) -> None:
        self.service = service  # starts the service: the first time and on every restart
        self.child = child  # also the child's process group id: spawn() makes it a group leader
        self.terminal = terminal
        self.options = options
        self.status: int | None = None  # the main child's exit code, once reaped
        self.deadline: float | None = None  # when the grace period (or the kill wait) ends
        self.killed = False
        self.leftovers_asked = False
        self.tree_gone = False
        self.gave_up = False
        self.restarts: _Restarts | None = None  # --watch
        self.stop_requested = False  # a stop signal from outside: never restart after it

    def run(self) -> int:
        if self.restarts is not None:
            self.restarts.reloader.start(lambda: os.kill(os.getpid(), WATCH_SIGNAL))
        while True:
            while not (self.status is not None and self.tree_gone) and not self.gave_up:
                info = self._next_signal()
                if info is None:
                    self._deadline_passed()
                else:
                    self._dispatch(info)
            if not self._restart_due():
                return 128 + signal.SIGKILL if self.status is None else self.status
            self._respawn()

    def _restart_due(self) -> bool:
        return (
            self.restarts is not None
            and self.restarts.next_env is not None
            and not self.stop_requested
            and not self.gave_up
        )

    def _respawn(self) -> None:
        """The old tree is gone: start the service again with the new environment. Never overlaps."""
        assert self.restarts is not None and self.restarts.next_env is not None
        environment, self.restarts.next_env = self.restarts.next_env, None
        if self.terminal is not None and self.service.terminal_fd is not None:
            self.terminal.give(os.getpgrp())  # spawn hands it to the new child
        self.child = self.service.start(environment)
        self.status, self.deadline = None, None
        self.killed = self.leftovers_asked = self.tree_gone = False

    def _on_change(self) -> None:
        """--watch found a new valid environment: signal the service, or restart it gracefully."""
        assert self.restarts is not None
        environment = self.restarts.reloader.take()
        if environment is None or self.stop_requested:
            return
        if self.options.reload_signal is not None:
            if self.status is None:
                self._forward(self.options.reload_signal)
            return
        self.restarts.next_env = environment  # a newer change while stopping simply replaces it
        if self.status is None and self.deadline is None:
            self._forward(self.options.stop_signal)
            self._start_grace()

    def close(self) -> None:
        """Leave nothing behind, even if run() failed, and give the terminal back to our group."""
        if not self.tree_gone:
            reaper.kill_tree()
        if self.terminal is not None and self.terminal.foreground() == self.child:
            self.terminal.give(os.getpgrp())

    def _next_signal(self) -> struct_siginfo | None:
        if self.deadline is None:
            return signal.sigwaitinfo(WAITED)
        return signal.sigtimedwait(WAITED, max(0.0, self.deadline - time.monotonic()))

    def _dispatch(self, info: struct_siginfo) -> None:
        signo = info.si_signo
        if signo == WATCH_SIGNAL and info.si_pid == os.getpid() and self.restarts is not None:
            self._on_change()
        elif signo == signal.SIGCHLD:
            self._reap()
        elif self.status is not None or not self._should_forward(info):
            return  # never signal a reaped pid: it may already belong to someone else
        elif signo == signal.SIGCONT:
            self._continue()
        else:
            self._forward(signo)
            if signo == self.options.stop_signal:
                self.stop_requested = True
                self._start_grace()

    def _should_forward(self, info: struct_siginfo) -> bool:
        from_process = info.si_code in SENT_BY_A_PROCESS
        if from_process and info.si_pid == os.getpid():
            return False  # our own job-control stop of our process group, see _child_stopped
        if info.si_signo in NOISE | SYNCHRONOUS and not from_process:
            return False
        # The terminal signals its whole foreground group; if that is the child's, it already has it.
        return not (info.si_code == SI_KERNEL and self._child_has_terminal())

    def _forward(self, signo: int, to_group: bool | None = None) -> None:
        to_group = self.options.forward_to_group if to_group is None else to_group
        try:
            (os.killpg if to_group else os.kill)(self.child, self.options.target(signo))
        except ProcessLookupError:
            pass

    def _start_grace(self) -> None:
        """Idempotent: a second stop signal is forwarded again but does not extend the grace."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.options.grace_period

    def _deadline_passed(self) -> None:
        if self.killed:
            self.gave_up = True  # something survives SIGKILL; exit rather than hang forever
            return
        self.killed = True
        reaper.kill_tree()
        self.deadline = time.monotonic() + KILL_WAIT

    def _reap(self) -> None:
        self.tree_gone = reaper.reap_all(self._collected)
        if self.status is not None and self.options.keep_descendants and not self._restart_due():
            self.tree_gone = True  # not ours to stop: the service's exit is the end of supervision
            return
        if self.tree_gone or self.status is None:
            return
        if self.killed:
            reaper.kill_tree()  # catch anything forked after the last kill
        elif not self.leftovers_asked:
            self._stop_leftovers()

    def _collected(self, pid: int, status: int) -> None:
        if pid != self.child:
            return  # an adopted orphan: reaping it was the whole point
        if os.WIFSTOPPED(status):
            self._child_stopped(os.WSTOPSIG(status))
        else:
            self.status = reaper.exit_code(status)

    def _stop_leftovers(self) -> None:
        """The main child exited on its own but left descendants: stop them as if we had been
        asked to stop (stop signal, grace period, SIGKILL), then exit with the child's status."""
        self.leftovers_asked = True
        target = self.options.target(self.options.stop_signal)
        reaper.signal_all(reaper.descendants(), target)
        self._start_grace()

    def _child_has_terminal(self) -> bool:
        return self.terminal is not None and self.terminal.foreground() == self.child

    def _child_stopped(self, signo: int) -> None:
        """Ctrl-Z stopped the child: stop ourselves too, as its job, so the shell above us sees
        the job stop and can resume it with fg or bg; a debugger's SIGSTOP leaves us running."""
        if signo not in JOB_CONTROL_STOPS:
            return
        had_terminal = self._child_has_terminal()
        if os.getpid() == 1:
            if had_terminal:  # no shell above PID 1 could ever resume it; Ctrl-Z is a no-op there
                self._forward(signal.SIGCONT, to_group=True)
            return
        if had_terminal and self.terminal is not None:
            self.terminal.give(os.getpgrp())
            os.killpg(os.getpgrp(), signo)  # the rest of our job stops too, as the terminal would
        else:
            os.kill(os.getpid(), signo)
        _stop_with(signo)
        # Running again: the SIGCONT that woke us is pending and handled by _continue().

    def _continue(self) -> None:
        """fg/bg resumed us: if we are in the foreground again, so is the child (fg); then wake
        the child's whole group, which the terminal stopped as a whole."""
        if self.terminal is not None and self.terminal.is_ours():
            self.terminal.give(self.child)
        self._forward(signal.SIGCONT, to_group=True if self.terminal is not None else None)


def _stop_with(signo: int) -> None:
    """Take the pending signo with its default action: we stop *with that signal*, so the shell
    reports "Stopped" or "Stopped (tty input)" exactly as it would without the launcher. In an
    orphaned process group the kernel discards the stop, and so should we: nobody could resume us."""
    previous = signal.signal(signo, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})  # the pending signal stops us right here
    signal.pthread_sigmask(signal.SIG_BLOCK, {signo})
    signal.signal(signo, previous)
