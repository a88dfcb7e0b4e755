"""--watch: notice changes to what the component uses, resolve again, hand a new environment over.

Runs in one background thread beside the supervisor (docs/watch.md):

* what may have changed: the stamps of every local input (manifest, store files, .env overlays),
  etcd's watch streams on the component's prefixes, and for an HTTP backend a conditional GET
  each interval (an unchanged answer is a 304 and the same snapshot);
* a burst of changes is debounced into one resolution;
* a resolution that fails (a required value removed, access revoked) is reported once and changes
  nothing: the service keeps its last good environment until the store is fixed;
* a resolution whose environment and files equal the running ones does nothing;
* otherwise files are rewritten, the env file (for reload-by-signal services) is rewritten
  atomically, and the supervisor is woken with `notify` to restart or signal the service;
* an unreachable or too slow backend is reported once ("... unreachable (...); retrying in 1.3 s")
  and tried again after pauses from the shared retry policy until it answers ("... reachable
  again"), then resolved again, so nothing that changed meanwhile is missed; each resolution is
  bounded by the fetch deadline, as a launch is, even when a backend would hang;
* the live watches' own problems (etcd streams that cannot reconnect) are part of the same state:
  "unreachable" is said once, when the first of them starts, and "reachable again" once, when all
  are over; nothing escapes the thread as a traceback: an unexpected error is one line, and
  watching goes on.

State is a handful of fields replaced on each change, so memory stays flat however long it runs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from launcher.backends import Backend, Watching
from launcher.backends.retry import DEFAULT_POLICY, Attempts
from launcher.errors import BackendUnavailable, LauncherError
from launcher.model import Plan
from launcher.records import Record, field
from launcher.resolve.pipeline import Settings, build_plan, local_inputs

ENV_FILE_VARIABLE = "CHOREO_RELOAD_ENV_FILE"
HARD_DEADLINE_MARGIN = 0.5  # as for a launch: the backend reports its own deadline first


class WatchOptions(Record):
    interval: float = 1.0  # how often local stamps and HTTP backends are looked at
    debounce: float = 0.5  # a burst of changes within this quiet time is one change
    env_file: str | None = None  # rewritten on every change, for services reloaded by a signal
    mount_root: str | None = None
    override: bool = True
    base_environment: dict[str, str] = field(default_factory=dict, repr=False)


class Reloader:
    """Watches in a thread; `take()` hands the newest valid environment to the supervisor."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        plan: Plan,
        options: WatchOptions,
        warn: Callable[[str], None],
        debug: Callable[[str], None],
    ) -> None:
        self.settings, self.backend, self.options = settings, backend, options
        self.warn, self.debug = warn, debug
        self.running = self._outcome(plan)
        self.pending: dict[str, str] | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.remote_changed = threading.Event()
        self.last_problem: str | None = None
        # While the backend is unreachable: the failed attempts (the pause grows) and when to try again.
        self.outage: Attempts | None = None
        self.outage_problem: str | None = None
        self.retry_at = 0.0
        self.reported_down = False  # "unreachable" was said, "reachable again" not yet
        self.straggler: threading.Thread | None = None  # a resolution that outlived its deadline
        self.inputs = local_inputs(settings.replace(cache=None, backends=()))  # manifest and .env files
        self.stamps = self._stamps()
        self.identity = plan.identity
        # Live watches (etcd) start in the watch thread (`_loop`): never before the supervisor has
        # taken over the signals, and without holding up the service's first start.
        self.remote_watches: list[Watching] = []

    def environment(self, plan: Plan) -> dict[str, str]:
        from launcher.launch.environment import child_environment

        environment = child_environment(
            plan, self.options.base_environment, override=self.options.override, mount_root=self.options.mount_root
        )
        if self.options.env_file:
            environment[ENV_FILE_VARIABLE] = self.options.env_file
        return environment

    def current_environment(self) -> dict[str, str]:
        """The environment of the running service (the first start's, until a change is taken)."""
        with self.lock:
            return dict(self.running[0])

    def prepare(self) -> None:
        """Before the service starts: its reload env file exists from its first instant."""
        self.write_env_file(self.running[2])

    def start(self, notify: Callable[[], None]) -> None:
        threading.Thread(target=self._loop, args=(notify,), daemon=True, name="choreo-run watch").start()

    def stop(self) -> None:
        self.stopped.set()
        for watch in self.remote_watches:
            watch.stop()
        self.remove_env_file()

    def take(self) -> dict[str, str] | None:
        with self.lock:
            pending, self.pending = self.pending, None
        return pending

    # ------------------------------------------------------------ the thread

    def _loop(self, notify: Callable[[], None]) -> None:
        try:
            _leave_signals_to_the_supervisor()
            self.remote_watches = self._start_remote_watches()
            while not self.stopped.wait(self.options.interval):
                try:
                    self._look(notify)
                except Exception as error:  # the last resort: one line, and watching goes on
                    self._unexpected(error)
        except BaseException as error:  # never a traceback, even on the way out
            self._unexpected(error, ending=True)
        finally:
            for watch in self.remote_watches:  # also those that finished starting after stop()
                watch.stop()

    def _look(self, notify: Callable[[], None]) -> None:
        self._report_state()
        if not self._maybe_changed():
            return
        self._settle()
        if self._resolve_again():
            notify()

    def _maybe_changed(self) -> bool:
        if self.outage is not None:  # unreachable: nothing is looked at before the pause is over
            return time.monotonic() >= self.retry_at
        if self.remote_changed.is_set() or self._stamps() != self.stamps:
            return True
        return self._polls_remote()

    def _settle(self) -> None:
        """Wait until the burst is over: no new change for one debounce period (bounded)."""
        for _ in range(20):
            self.remote_changed.clear()
            before = self._stamps()
            if self.stopped.wait(self.options.debounce):
                return
            self._report_state()
            if before == self._stamps() and not self.remote_changed.is_set():
                return

    def _resolve_again(self) -> bool:
        """True when a new, valid and different environment is pending for the supervisor."""
        self.stamps = self._stamps()
        try:
            plan = self._plan_within_deadline()
        except BackendUnavailable as error:
            self._unreachable(error)
            return False
        except LauncherError as error:
            self._reachable()  # it answered, if only to refuse
            self._report(error)
            return False
        self._reachable()
        if self.last_problem is not None:
            self.warn("watch: the store resolves again")
            self.last_problem = None
        outcome = self._outcome(plan)
        if outcome == self.running:
            return False
        try:
            self._apply(plan, outcome)
        except LauncherError as error:  # a file that cannot be written: reported, the service keeps running
            self._report(error)
            return False
        return True

    def _apply(self, plan: Plan, outcome: tuple[dict[str, str], tuple, tuple]) -> None:
        from launcher.launch.mounts import write_files

        write_files(plan.files, self.settings.component_dir, self.options.mount_root)
        self.write_env_file(outcome[2])
        with self.lock:
            self.running, self.pending = outcome, outcome[0]
        changed = len(plan.assignments)
        self.debug(f"watch: new environment ({changed} variables); handing it to the supervisor")

    def _plan_within_deadline(self) -> Plan:
        """build_plan, bounded as a launch is: the backends end at their deadline; should one hang
        anyway, the resolution is left behind (one at most) and counted as the backend not answering."""
        deadline = self.settings.backend_settings.deadline
        if self.straggler is not None and self.straggler.is_alive():
            raise BackendUnavailable(f"{self.backend.description}: an earlier request is still unanswered")
        result: list[Plan | BaseException] = []

        def resolve() -> None:
            try:
                result.append(build_plan(self.settings, self.warn, self.debug, self.backend))
            except BaseException as error:  # handed to the watch thread, which reports it
                result.append(error)

        worker = threading.Thread(target=resolve, daemon=True, name="choreo-run watch resolve")
        worker.start()
        ends = time.monotonic() + deadline + HARD_DEADLINE_MARGIN if deadline > 0 else float("inf")
        while worker.is_alive() and time.monotonic() < ends:
            worker.join(min(self.options.interval, max(ends - time.monotonic(), 0.0)))
            self._report_state()  # a watch stream that breaks meanwhile is said now, not at the end
        if not result:
            self.straggler = worker
            raise BackendUnavailable(f"{self.backend.description}: no answer within the {deadline:g}s deadline")
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _unreachable(self, error: BackendUnavailable) -> None:
        """Report the outage once, then try again after a pause of the shared policy (growing)."""
        first = self.outage is None
        if self.outage is None:
            self.outage = Attempts(DEFAULT_POLICY, None)
        self.outage.started()
        if self.outage.count >= DEFAULT_POLICY.max_attempts:
            self.outage.count = 1  # an outage may last: go on for ever at the capped pause
        pause = self.outage.next_pause() or DEFAULT_POLICY.max_delay
        self.retry_at = time.monotonic() + pause
        if first:
            problem = "; ".join(str(problem) for problem in error.problems)
            self.outage_problem = (
                f"watch: {self.backend.description} unreachable ({problem}); "
                f"the service keeps its last good environment; retrying in {pause:.1f} s"
            )
        self.debug(f"watch: {self.backend.description} unreachable; retrying in {pause:.1f} s")
        self._report_state()

    def _reachable(self) -> None:
        self.outage = self.outage_problem = None
        self._report_state()

    def _report_state(self) -> None:
        """Say when the backend goes away (the first problem, from a live watch or a resolution) and
        when it is back (no problem left): once each, never once per attempt."""
        problem = next((p for watch in self.remote_watches if (p := watch.problem()) is not None), None)
        problem = problem or self.outage_problem
        if problem is not None and not self.reported_down:
            self.reported_down = True
            self.warn(problem)
        elif problem is None and self.reported_down:
            self.reported_down = False
            self.warn(f"watch: {self.backend.description} reachable again")

    def _unexpected(self, error: BaseException, ending: bool = False) -> None:
        """An error no rule foresaw: one line (its type: a message might hold a value), the trace for --debug."""
        import traceback

        message = f"watch: unexpected {type(error).__name__}" + (
            "; watching stopped" if ending else "; the service keeps its last good environment, watching goes on"
        )
        if message != self.last_problem:
            self.last_problem = message
            self.warn(message)
        self.debug("".join(traceback.format_exception(error)).rstrip())

    def _report(self, error: LauncherError) -> None:
        message = "; ".join(str(problem) for problem in error.problems)
        if message != self.last_problem:  # once per distinct problem, not once per interval
            self.last_problem = message
            for problem in error.problems:
                self.warn(f"watch: {problem}; the service keeps its last good environment")

    # ------------------------------------------------------------ helpers

    def _outcome(self, plan: Plan) -> tuple[dict[str, str], tuple, tuple]:
        """(the service's environment, the files, the resolved variables): all three decide a change."""
        files = tuple((f.target, f.content, f.secret) for f in plan.files)
        return self.environment(plan), files, tuple((a.variable, a.value) for a in plan.assignments)

    def _stamps(self) -> list:
        from launcher.files.stamps import stamp

        paths = [*(self.inputs or []), *self._local_store_paths()]
        return [stamp(path) for path in paths]

    # What the backend offers for watching is its declared contract (launcher.backends.base.Backend;
    # a layered backend answers for all its layers): watched_paths(), polled_for_changes, watch().

    def _local_store_paths(self) -> list[str]:
        """Every path a local layer reads (store files, binding directories), listed afresh each look."""
        return self.backend.watched_paths()

    def _polls_remote(self) -> bool:
        return self.backend.polled_for_changes

    def _start_remote_watches(self) -> list[Watching]:
        # Waits until the streams are confirmed, for at most one request's timeout: a stream that
        # cannot start by then is failing, says so through problem(), and sets `remote_changed`
        # when it is back, so nothing written meanwhile is missed either way.
        watch = self.backend.watch(self.identity, self.remote_changed, self.settings.backend_settings.timeout)
        if watch is None:
            return []
        if self.stopped.is_set():  # stopped while the watch was starting
            watch.stop()
            return []
        self.remote_changed.set()  # anything written between the first fetch and the watch is caught
        return [watch]

    def write_env_file(self, assigned: tuple[tuple[str, str], ...]) -> None:
        """The resolved variables as a .env file (mode 0600), for services that reload on a signal.

        The file is sourced by shells, so no other user may be able to replace it: its directory
        must be one only we (or root) can change (launcher.files.private); a directory the launcher chose
        must be private (0700, ours). Raises OutputError (73) naming the directory otherwise.
        """
        if not self.options.env_file:
            return
        from launcher.errors import OutputError
        from launcher.files.atomic import write_at
        from launcher.files.private import private_directory
        from launcher.resolve.output import dotenv_file

        text = dotenv_file(assigned)  # read back exactly by sh, bash and python-dotenv (docs/security.md, 2)
        path = self.options.env_file
        try:
            chosen = path in _chosen_env_files  # by default_env_file: private, and it exists already
            directory = private_directory(os.path.dirname(os.path.abspath(path)), create=not chosen, trusted=not chosen)
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                write_at(descriptor, os.path.basename(path), text.encode(), 0o600)
            finally:
                os.close(descriptor)
        except OSError as error:
            raise OutputError(f"{path}: cannot write the reload env file: {error.strerror}") from None

    def remove_env_file(self) -> None:
        """Remove the env file and its directory when the launcher chose them (never a --reload-env-file)."""
        if self.options.env_file in _chosen_env_files:
            _remove_chosen(self.options.env_file)


def _leave_signals_to_the_supervisor() -> None:
    """Block every signal in this thread and the threads it starts: the supervisor (the main thread)
    waits for them, and one delivered here would be lost, or would end the launcher by its default action."""
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())


# Env files default_env_file chose (path -> the directory it created for them, or None).
_chosen_env_files: dict[str, str | None] = {}


def default_env_file(environ: dict[str, str] | os._Environ) -> str:
    """Where the reload env file goes when --reload-env-file is not given; never a predictable path.

    In $XDG_RUNTIME_DIR when set (it must be private: ours, 0700, not a symlink), otherwise in a
    fresh directory from tempfile.mkdtemp (0700, unpredictable name), removed with the file when
    the launcher exits. Raises OutputError (73) when XDG_RUNTIME_DIR is not private.
    """
    import atexit

    from launcher.errors import OutputError
    from launcher.files.private import private_directory

    runtime = environ.get("XDG_RUNTIME_DIR")
    created: str | None = None
    if runtime:
        try:
            base = private_directory(runtime, create=False, repair=False)  # the system's: never chmod-ed
        except OSError as error:
            raise OutputError(
                f"XDG_RUNTIME_DIR={runtime}: not usable for the reload env file: {error.strerror}; "
                "fix it, unset it, or choose a file with --reload-env-file"
            ) from None
    else:
        import tempfile

        try:
            base = created = tempfile.mkdtemp(prefix="choreo-run-", dir=environ.get("TMPDIR") or None)
        except OSError as error:
            raise OutputError(
                f"cannot create a private directory for the reload env file: {error.strerror}; "
                "set XDG_RUNTIME_DIR or choose a file with --reload-env-file"
            ) from None
    path = os.path.join(base, f"choreo-run-{os.getpid()}.env")
    _chosen_env_files[path] = created
    atexit.register(_remove_chosen, path)  # also when the Reloader is never built (a later error)
    return path


def _remove_chosen(path: str) -> None:
    """Idempotent: the Reloader's stop and atexit both call it."""
    if path not in _chosen_env_files:
        return
    created = _chosen_env_files[path]
    try:
        os.unlink(path)
    except OSError:
        pass
    if created is not None:
        try:
            os.rmdir(created)
        except OSError:
            pass
