"""Backends: where connection values live. One contract, chosen by a URL (docs/backends/README.md).

A backend answers one question, "what may (project, component, environment) use?", with a
`Snapshot`, in as few round trips as it allows. The resolver never knows which backend answered.
The contract is `launcher.backends.base.Backend`; URLs are split by `launcher.backends.url` only.
Implementations are imported only when their scheme is used, so `file:` never pays for httpx.
"""

from __future__ import annotations

import importlib

from launcher.backends.base import Backend, BackendSettings, Watching, read_only_error
from launcher.backends.url import REGISTRY, BackendURL, parse_backend_url, redact
from launcher.errors import ConfigurationError

__all__ = [
    "REGISTRY",
    "Backend",
    "BackendSettings",
    "BackendURL",
    "Watching",
    "backend_class",
    "open_backend",
    "parse_backend_url",
    "redact",
    "refuse_read_only",
]


def backend_class(url: BackendURL) -> type[Backend]:
    """The class serving `url`'s scheme (imported now); ConfigurationError for an unknown scheme."""
    target = REGISTRY.get(url.scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in sorted(REGISTRY))
        raise ConfigurationError(f"backend URL {url.shown!r}: unknown scheme {url.scheme!r} (known: {known})")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def open_backend(url: str, settings: BackendSettings) -> Backend:
    """The backend for `url`; a bare path means the local store file."""
    parsed = parse_backend_url(url)
    return backend_class(parsed).from_url(parsed, settings)


def refuse_read_only(url: str) -> BackendURL:
    """Before any write: the parsed URL of a writable backend, or UsageError (exit 64) naming it."""
    parsed = parse_backend_url(url)
    if not backend_class(parsed).writable:
        raise read_only_error(parsed.shown)
    return parsed
