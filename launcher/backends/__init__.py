"""Backends: where connection values live. One small interface, chosen by a URL.

A backend answers one question, "what may (project, component, environment) use?", with a
`Snapshot`, in as few round trips as it allows. The resolver never knows which backend answered.
Implementations are imported only when their scheme is used, so `file:` never pays for httpx.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

from launcher.errors import ConfigurationError
from launcher.model import Identity, Snapshot


class Backend(Protocol):
    """What every backend provides."""

    description: str  # for `plan` and messages; never contains credentials

    def fetch(self, identity: Identity) -> Snapshot:
        """Everything `identity` may use. Raises AccessDenied, BackendUnavailable, ConfigurationError."""
        ...


@dataclass(frozen=True)
class BackendSettings:
    """Options that apply to remote backends; the local store ignores them."""

    token: str | None = field(default=None, repr=False)  # HTTP bearer token; never printed
    username: str | None = None  # etcd user
    password: str | None = field(default=None, repr=False)  # etcd password; never printed
    ca_file: str | None = None  # custom CA bundle; TLS verification stays on
    timeout: float = 5.0  # one request
    deadline: float = 15.0  # the whole fetch, retries included, in seconds


# scheme -> "module:factory". A factory takes (url, settings) and returns a Backend.
REGISTRY: dict[str, str] = {
    "file": "launcher.backends.local.backend:open_local",
    "http": "launcher.backends.http.backend:open_http", "https": "launcher.backends.http.backend:open_http",
    "etcd": "launcher.backends.etcd.backend:open_etcd", "etcds": "launcher.backends.etcd.backend:open_etcd",
    "servicebinding": "launcher.backends.servicebinding:open_bindings",
}


def scheme_of(url: str) -> str:
    """`etcd` for etcd://..., `servicebinding` for servicebinding:..., `file` for a plain path."""
    if "://" in url:
        return url.split("://", 1)[0].lower()
    prefix = url.split(":", 1)[0].lower()
    return prefix if ":" in url and prefix in REGISTRY else "file"


def open_backend(url: str, settings: BackendSettings) -> Backend:
    """The backend for `url`; a bare path means the local store file."""
    scheme = scheme_of(url)
    target = REGISTRY.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in sorted(REGISTRY))
        raise ConfigurationError(f"backend URL {_redact(url)!r}: unknown scheme {scheme!r} (known: {known})")
    module_name, factory_name = target.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory(url, settings)


def _redact(url: str) -> str:
    """Drop any user:password@ part before a URL goes into a message."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
