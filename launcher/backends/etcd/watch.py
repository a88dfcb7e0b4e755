"""Watching a component's etcd keys (`--watch`): one watch stream per prefix the component reads.

Uses etcd's watch API through the JSON gateway (`POST /v3/watch`, a stream of JSON lines), so a
change is noticed when it happens, with no polling of values. Any event under one of the
component's three prefixes sets `changed`; whether it matters is decided by resolving again.

A stream lives as long as the launcher, through member restarts and outages (docs/watch.md):

* a broken stream (member down or restarted, idle timeout, a watch etcd cancelled) is re-created
  from the last revision seen, on the next member, after a pause from the shared retry policy
  (growing while attempts keep failing, short again once etcd confirmed a stream), so no event is
  lost and a dead cluster is not hammered;
* every attempt authenticates afresh: etcd's tokens do not survive a restart and expire;
* until etcd confirms a stream, the attempt has a deadline (--timeout), even against a member that
  drips its answer; a confirmed stream is idle-bounded (progress notifications keep it talking);
* `problem()` is one line on what keeps the streams from working (`watch: etcd://... unreachable
  (...); retrying in 1.3 s`), the same text for as long as that lasts, None once every stream is
  back; the Reloader reports each change of state once, never each attempt. Once back, `changed`
  is set so the component is resolved again, whatever the streams may have missed;
* nothing escapes a thread: an unexpected error is one more failed attempt, never a traceback.

The threads are daemons and end with the process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import httpx

from launcher.backends.deadline import bounded_client, within
from launcher.backends.etcd import layout
from launcher.backends.etcd.backend import EtcdBackend, EtcdSession, prefix_range
from launcher.backends.retry import DEFAULT_POLICY, Attempts
from launcher.backends.tls import verification
from launcher.errors import AccessDenied, LauncherError
from launcher.model import Identity

IDLE_SECONDS = 60.0  # with progress notifications on, a silent stream this long is a dead one
UNREACHABLE, REFUSED = "unreachable", "refused"


class _Broken(Exception):
    """The stream was refused or cancelled by etcd (an error line, a cancelled watch)."""


class EtcdWatch:
    """Sets `changed` on any change under the component's prefixes; keeps watching through outages."""

    def __init__(self, backend: EtcdBackend, identity: Identity, changed: threading.Event) -> None:
        self.backend = backend
        self.changed = changed
        prefixes = layout.component_prefixes(backend.target.prefix, identity.project, identity.component)
        self.prefixes = (prefixes.shared, prefixes.component, prefixes.org)
        self.stopped = threading.Event()
        self.ready = threading.Event()  # every stream confirmed by etcd
        self._unconfirmed = set(self.prefixes)
        self._failing: dict[str, str] = {}  # prefix -> UNREACHABLE | REFUSED, while its stream cannot start
        self._state: str | None = None  # None (working), UNREACHABLE or REFUSED
        self._problem: str | None = None  # what problem() says, fixed when the state changes
        self._lock = threading.Lock()

    def start(self, timeout: float) -> None:
        """Start the streams and wait (up to `timeout`) until etcd confirmed each of them."""
        for prefix in self.prefixes:
            threading.Thread(target=self._run, args=(prefix,), daemon=True, name=f"etcd-watch {prefix}").start()
        # If a member is down the streams keep trying; the launch does not wait longer for them.
        self.ready.wait(timeout)

    def stop(self) -> None:
        self.stopped.set()

    def problem(self) -> str | None:
        """Why the streams are not all working now (one line, stable while it lasts), or None."""
        with self._lock:
            return self._problem

    # ------------------------------------------------------------ one thread per prefix

    def _run(self, prefix: str) -> None:
        try:
            self._follow(prefix)
        except BaseException as error:  # the last resort: one line, never a traceback
            with self._lock:
                self._failing[prefix] = UNREACHABLE
                self._state = UNREACHABLE
                self._problem = f"watch: {self.backend.description}: the watch on {prefix} stopped ({_reason(error)})"

    def _follow(self, prefix: str) -> None:
        next_revision: int | None = None
        member = 0
        # No deadline: a watch lives as long as the launcher. `stopped.wait` sleeps, so stop() is prompt.
        failures = Attempts(DEFAULT_POLICY, None, sleep=self.stopped.wait)

        def confirmed() -> None:
            failures.reset()  # this member works: the next break starts with a short pause again
            self._recovered(prefix)

        while not self.stopped.is_set():
            failures.started()
            members = self.backend.target.members
            try:
                next_revision = self._stream(members[member % len(members)], prefix, next_revision, confirmed)
            except _Compacted:
                next_revision = None  # what happened before the compaction is gone: resume from now,
                self.changed.set()  # and resolve again to catch it
                failures.pause()
                continue
            except Exception as error:  # every failure means: another attempt, later
                member = (member + 1) % len(members)
                if failures.count >= DEFAULT_POLICY.max_attempts:
                    failures.reset()  # keep trying for ever, at the capped pause
                pause = failures.next_pause() or DEFAULT_POLICY.max_delay
                if not self.stopped.is_set():
                    self._failed(prefix, error, pause)
                self.stopped.wait(pause)
                continue
            failures.pause()  # a stream that ended normally (idle, or stopped): resume after a short pause

    def _stream(self, member: str, prefix: str, start: int | None, confirmed: Callable[[], None]) -> int | None:
        """Follow one watch stream until it breaks; return the revision to resume from."""
        request: dict[str, Any] = {**prefix_range(prefix), "progress_notify": True}
        if start:
            request["start_revision"] = str(start)
        settings = self.backend.settings
        # Until etcd confirms the stream, the attempt has a deadline (authentication: the session's timeouts).
        expires = time.monotonic() + settings.timeout
        timeout = httpx.Timeout(settings.timeout, read=IDLE_SECONDS)
        verify = verification(self.backend.target.scheme == "https", settings.ca_file)
        url = f"{self.backend.target.scheme}://{member}/v3/watch"
        with EtcdSession(self.backend.target, settings, self.backend.requests) as session:
            headers = session.auth_headers(member)  # a fresh token each attempt: none survives a restart
        with bounded_client(verify=verify, trust_env=False, timeout=timeout) as client, ExitStack() as unconfirmed:
            unconfirmed.enter_context(within(expires))
            with client.stream("POST", url, json={"create_request": request}, headers=headers) as response:
                if response.status_code != 200:
                    raise _Broken(f"HTTP {response.status_code}")
                created = False
                for line in response.iter_lines():
                    result = self._result(line)
                    if result.get("created"):
                        created = True
                        unconfirmed.close()  # confirmed: from now on only an idle read ends the stream
                        self._confirm(prefix)
                        confirmed()
                    start = self._event(result, start)
                    if self.stopped.is_set():
                        break
        if not created and not self.stopped.is_set():
            raise _Broken("the stream ended before etcd confirmed it")
        return start

    @staticmethod
    def _result(line: str) -> dict[str, Any]:
        """One line of the stream; an error or a cancelled watch breaks it."""
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise _Broken("not an etcd watch answer")
        if "error" in answer:
            error = answer["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise _Broken(str(message or "error"))
        result = answer.get("result") or {}
        if result.get("canceled"):
            if result.get("compact_revision"):  # our revision is gone: resume from now, and re-read
                raise _Compacted(int(result["compact_revision"]))
            raise _Broken(str(result.get("cancel_reason") or "the watch was cancelled"))
        return dict(result)

    def _event(self, result: dict[str, Any], start: int | None) -> int | None:
        events = result.get("events") or []
        if events:
            self.changed.set()
            return max(int(event["kv"]["mod_revision"]) for event in events) + 1
        header_revision = int(result.get("header", {}).get("revision", 0))
        return start if start else (header_revision + 1 if header_revision else None)

    # ------------------------------------------------------------ shared state

    def _confirm(self, prefix: str) -> None:
        with self._lock:
            self._unconfirmed.discard(prefix)
            if not self._unconfirmed:
                self.ready.set()

    def _failed(self, prefix: str, error: BaseException, pause: float) -> None:
        kind = REFUSED if isinstance(error, AccessDenied) else UNREACHABLE
        with self._lock:
            self._failing[prefix] = kind
            state = REFUSED if REFUSED in self._failing.values() else UNREACHABLE
            if state == self._state:
                return
            self._state = state
            what = "refused the watch" if state == REFUSED else "unreachable"
            self._problem = f"watch: {self.backend.description} {what} ({_reason(error)}); retrying in {pause:.1f} s"

    def _recovered(self, prefix: str) -> None:
        with self._lock:
            self._failing.pop(prefix, None)
            if self._failing or self._state is None:
                return
            self._state = self._problem = None
        self.changed.set()  # whatever happened while it was away: resolve again


class _Compacted(_Broken):
    """etcd compacted the revision the stream was to resume from."""

    def __init__(self, revision: int) -> None:
        super().__init__(f"revision compacted up to {revision}")
        self.revision = revision


def _reason(error: BaseException) -> str:
    """A short, value-free account of a failure: launcher errors say it themselves, others by type."""
    if isinstance(error, LauncherError) or type(error).__module__.startswith("launcher."):
        return str(error) or type(error).__name__  # the launcher's own messages never carry a value
    if isinstance(error, httpx.HTTPError):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return type(error).__name__
