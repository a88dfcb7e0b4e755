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
  atomically, and the supervisor is woken with `notify` to restart or signal the service.

State is a handful of fields replaced on each change, so memory stays flat however long it runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from launcher.backends import Backend, Watching
from launcher.errors import LauncherError
from launcher.model import Plan
from launcher.resolve.pipeline import Settings, build_plan, local_inputs

ENV_FILE_VARIABLE = "CHOREO_RELOAD_ENV_FILE"


@dataclass(frozen=True)
class WatchOptions:
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
        self.inputs = local_inputs(replace(settings, cache=None, backends=()))  # manifest and .env files
        self.stamps = self._stamps()
        self.remote_watches = self._start_remote_watches(plan)

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

    def start(self, notify: Callable[[], None]) -> None:
        self.write_env_file(self.running[2])
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
        while not self.stopped.wait(self.options.interval):
            if not self._maybe_changed():
                continue
            self._settle()
            if self._resolve_again():
                notify()

    def _maybe_changed(self) -> bool:
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
            if before == self._stamps() and not self.remote_changed.is_set():
                return

    def _resolve_again(self) -> bool:
        """True when a new, valid and different environment is pending for the supervisor."""
        self.stamps = self._stamps()
        try:
            plan = build_plan(self.settings, self.warn, self.debug, self.backend)
        except LauncherError as error:
            self._report(error)
            return False
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
        from launcher.stamps import stamp

        paths = [*(self.inputs or []), *self._local_store_paths()]
        return [stamp(path) for path in paths]

    # What the backend offers for watching is its declared contract (launcher.backends.base.Backend;
    # a layered backend answers for all its layers): watched_paths(), polled_for_changes, watch().

    def _local_store_paths(self) -> list[str]:
        """Every path a local layer reads (store files, binding directories), listed afresh each look."""
        return self.backend.watched_paths()

    def _polls_remote(self) -> bool:
        return self.backend.polled_for_changes

    def _start_remote_watches(self, plan: Plan) -> list[Watching]:
        watch = self.backend.watch(plan.identity, self.remote_changed, self.settings.backend_settings.deadline)
        if watch is None:
            return []
        self.remote_changed.set()  # anything written between the first fetch and the watch is caught
        return [watch]

    def write_env_file(self, assigned: tuple[tuple[str, str], ...]) -> None:
        """The resolved variables as a .env file (mode 0600), for services that reload on a signal.

        The file is sourced by shells, so no other user may be able to replace it: its directory
        must be one only we (or root) can change (launcher.private); a directory the launcher chose
        must be private (0700, ours). Raises OutputError (73) naming the directory otherwise.
        """
        if not self.options.env_file:
            return
        from launcher.errors import OutputError
        from launcher.private import private_directory, write_at
        from launcher.resolve.output import dotenv_line

        text = "".join(dotenv_line(name, value) for name, value in sorted(assigned))
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
    from launcher.private import private_directory

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
