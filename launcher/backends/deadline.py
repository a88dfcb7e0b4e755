"""A total deadline for one HTTP request, over httpx (docs/failure-modes.md, "Slow answers").

Used where httpx is: etcd's watch streams (`launcher.backends.etcd.watch`), until etcd confirms them.
The launch-time requests go through `launcher.backends.minihttp`, which bounds a whole request itself.

httpx's timeouts bound each socket operation (connect, one read, one write), never a whole request: a
server dripping one header byte per second never trips a five-second read timeout, and the request
never ends. Clients made by `bounded_client` read and write through streams that cap every socket
operation at what is left of the deadline set with `within(expires)` in the calling thread, and
fail once it has passed; httpx reports that as a `ReadTimeout` (a `TransportError`), so callers
retry it like any other timeout. Without a deadline set, the streams behave exactly as httpx's own.

The deadline is per thread (a context variable): each request is made in the thread that waits for it.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from launcher.backends.minihttp import DEADLINE_PASSED

_expires: contextvars.ContextVar[float | None] = contextvars.ContextVar("choreo_run_request_deadline", default=None)


@contextmanager
def within(expires: float | None) -> Iterator[None]:
    """Requests made by this thread inside the block end by `expires` (time.monotonic); None: no deadline."""
    token = _expires.set(expires)
    try:
        yield
    finally:
        _expires.reset(token)


def bounded_client(**options: Any) -> httpx.Client:
    """An httpx.Client whose requests (proxied ones included) keep the deadline set with `within`."""
    client = httpx.Client(**options)
    # httpx builds one transport per route (direct, and one per proxy from the environment) and offers
    # no public way to give them a network backend; each keeps an httpcore pool that takes one.
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if inner is not None and not isinstance(inner, _Backend):
            pool._network_backend = _Backend(inner)  # type: ignore[union-attr]
    return client


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout for one socket operation: httpx's own, capped by what is left of the deadline."""
    expires = _expires.get()
    if expires is None:
        return timeout
    remaining = expires - time.monotonic()
    if remaining <= 0:
        raise error(DEADLINE_PASSED)
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))
        except httpcore.ReadTimeout:
            _bounded(timeout, httpcore.ReadTimeout)  # say so when it was the deadline, not one slow read
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
