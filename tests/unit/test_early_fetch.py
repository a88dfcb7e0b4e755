"""EarlyFetch (launcher.resolve.pipeline): a backend that waits on the network is asked at once in
another thread, its answer or its error handed to the caller's thread; a local one runs when asked.
The launch-level behaviour is tests/integration/test_early_fetch_launch.py."""

from __future__ import annotations

import threading

import pytest

from launcher.backends.base import Backend
from launcher.errors import AccessDenied
from launcher.model import Identity, Snapshot
from launcher.resolve.pipeline import EarlyFetch


class _Recording(Backend):
    """Pure logic: records in which thread, and when, fetch ran; raises or answers as told."""

    description = "recording"

    def __init__(self, over_network: bool, error: Exception | None = None) -> None:
        self.fetches_over_network = over_network
        self.error = error
        self.threads: list[int] = []

    @classmethod
    def from_url(cls, url, settings):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def fetch(self, identity: Identity) -> Snapshot:
        self.threads.append(threading.get_ident())
        if self.error is not None:
            raise self.error
        return Snapshot(identity, self.description)


IDENTITY = Identity("p", "c", "development")


def test_a_network_fetch_starts_at_once_in_another_thread_and_its_answer_is_handed_over() -> None:
    backend = _Recording(over_network=True)
    early = EarlyFetch(backend, IDENTITY)
    assert early.result().backend == "recording"
    assert backend.threads and backend.threads[0] != threading.get_ident()


def test_a_network_fetch_raises_its_error_in_the_callers_thread() -> None:
    backend = _Recording(over_network=True, error=AccessDenied("etcd m: permission denied reading /p/"))
    early = EarlyFetch(backend, IDENTITY)
    with pytest.raises(AccessDenied, match="permission denied reading /p/"):
        early.result()


def test_a_local_fetch_runs_only_when_asked_in_the_callers_thread() -> None:
    backend = _Recording(over_network=False)
    early = EarlyFetch(backend, IDENTITY)
    assert backend.threads == []  # local work: nothing to overlap, so nothing runs early
    early.result()
    assert backend.threads == [threading.get_ident()]
