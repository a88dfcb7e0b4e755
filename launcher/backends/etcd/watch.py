"""Watching a component's etcd keys (`--watch`): one watch stream per prefix the component reads.

Uses etcd's watch API through the JSON gateway (`POST /v3/watch`, a stream of JSON lines), so a
change is noticed when it happens, with no polling of values. Any event under one of the
component's three prefixes sets `changed`; whether it matters is decided by resolving again. A
broken stream (member down, idle timeout) is re-created from the last revision seen, on the next
member, after a pause from the shared retry policy (growing while streams keep breaking, short again
once one was confirmed), so no event is lost and a dead cluster is not hammered; the threads are
daemons and end with the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from launcher.backends.etcd import layout
from launcher.backends.etcd.backend import EtcdBackend, EtcdSession, prefix_range
from launcher.backends.retry import DEFAULT_POLICY, Attempts
from launcher.backends.tls import verification
from launcher.model import Identity

IDLE_SECONDS = 60.0  # with progress notifications on, a silent stream this long is a dead one


class EtcdWatch:
    """Sets `changed` on any change under the component's prefixes."""

    def __init__(self, backend: EtcdBackend, identity: Identity, changed: threading.Event) -> None:
        self.backend = backend
        self.changed = changed
        prefixes = layout.component_prefixes(backend.target.prefix, identity.project, identity.component)
        self.prefixes = (prefixes.shared, prefixes.component, prefixes.org)
        self.stopped = threading.Event()
        self.ready = threading.Event()  # every stream confirmed by etcd
        self._unconfirmed = set(self.prefixes)
        self._lock = threading.Lock()

    def start(self, timeout: float) -> None:
        """Start the streams and wait (up to `timeout`) until etcd confirmed each of them."""
        for prefix in self.prefixes:
            threading.Thread(target=self._run, args=(prefix,), daemon=True, name=f"etcd-watch {prefix}").start()
        # If a member is down the streams keep trying; the launch does not wait longer for them.
        self.ready.wait(timeout)

    def stop(self) -> None:
        self.stopped.set()

    def _run(self, prefix: str) -> None:
        next_revision: int | None = None
        member = 0
        # No deadline: a watch lives as long as the launcher. `stopped.wait` sleeps, so stop() is prompt.
        failures = Attempts(DEFAULT_POLICY, None, sleep=self.stopped.wait)
        while not self.stopped.is_set():
            failures.started()
            try:
                next_revision = self._stream(self.backend.target.members[member], prefix, next_revision, failures.reset)
            except (httpx.HTTPError, ValueError, KeyError):
                member = (member + 1) % len(self.backend.target.members)
            if failures.count >= DEFAULT_POLICY.max_attempts:
                failures.reset()  # keep trying for ever, at the capped pause
            failures.pause()

    def _stream(self, member: str, prefix: str, start: int | None, confirmed: Callable[[], None]) -> int | None:
        """Follow one watch stream until it breaks; return the revision to resume from."""
        request: dict[str, Any] = {**prefix_range(prefix), "progress_notify": True}
        if start:
            request["start_revision"] = str(start)
        with EtcdSession(self.backend.target, self.backend.settings, self.backend.requests) as session:
            headers = session.auth_headers(member)
        timeout = httpx.Timeout(self.backend.settings.timeout, read=IDLE_SECONDS)
        verify = verification(self.backend.target.scheme == "https", self.backend.settings.ca_file)
        url = f"{self.backend.target.scheme}://{member}/v3/watch"
        with (
            httpx.Client(verify=verify, trust_env=False, timeout=timeout) as client,
            client.stream("POST", url, json={"create_request": request}, headers=headers) as response,
        ):
            response.raise_for_status()
            for line in response.iter_lines():
                result = json.loads(line).get("result", {})
                if result.get("created"):
                    confirmed()  # this member works: the next break starts with a short pause again
                start = self._event(prefix, result, start)
                if self.stopped.is_set():
                    break
        return start

    def _event(self, prefix: str, result: dict[str, Any], start: int | None) -> int | None:
        if result.get("created"):
            self._confirm(prefix)
        events = result.get("events") or []
        if events:
            self.changed.set()
            return max(int(event["kv"]["mod_revision"]) for event in events) + 1
        header_revision = int(result.get("header", {}).get("revision", 0))
        return start if start else (header_revision + 1 if header_revision else None)

    def _confirm(self, prefix: str) -> None:
        with self._lock:
            self._unconfirmed.discard(prefix)
            if not self._unconfirmed:
                self.ready.set()
