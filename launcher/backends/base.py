"""The backend contract, written once (docs/backends/README.md).

Every backend subclasses `Backend` and overrides only what it offers; everything else has a safe
default declared here, so no caller ever probes a backend with hasattr/getattr:

| capability | default | who overrides |
|---|---|---|
| `fetch(identity)` | (required) | every backend |
| `guess_identity(directory)` | no guess: (None, None) | the local store |
| `watched_paths()` | none | the local store, Service Binding directories, layered |
| `polled_for_changes` | False | HTTP (a conditional GET each --watch interval), layered |
| `watch(identity, changed, timeout)` | None: no live watch | etcd, layered |
| `layers` | (self,) | layered |
| `writable` / `store_target()` | read-only: `store_target` refuses (exit 64) | the local store, etcd |

Imports nothing heavy: `launcher.backends` is imported at every start-up.
"""

from __future__ import annotations

import abc

from launcher.errors import UsageError
from launcher.records import Record, field

TYPE_CHECKING = False  # `typing` is not imported at start-up (docs/performance.md, issue 16)
if TYPE_CHECKING:
    import threading
    from typing import ClassVar, Protocol

    from launcher.backends.url import BackendURL
    from launcher.backends.writer import StoreTarget
    from launcher.model import Identity, Snapshot
else:
    Protocol = object  # Watching is a protocol for type checkers only: nothing tests isinstance against it


class BackendSettings(Record):
    """Options that apply to remote backends; the local ones ignore them."""

    token: str | None = field(default=None, repr=False)  # HTTP bearer token; never printed
    username: str | None = None  # etcd user
    password: str | None = field(default=None, repr=False)  # etcd password; never printed
    ca_file: str | None = None  # custom CA bundle; TLS verification stays on
    timeout: float = 5.0  # one request
    deadline: float = 15.0  # the whole fetch, retries included, in seconds
    # etcd: read from a cluster with authentication disabled, where nothing keeps components apart
    etcd_allow_no_auth: bool = False


class Watching(Protocol):
    """A live watch started by `Backend.watch`; it sets its `changed` event until stopped.

    It keeps watching through outages of its backend; `problem()` says what keeps it from watching
    right now, which --watch reports once per change of state (docs/watch.md)."""

    def stop(self) -> None: ...

    def problem(self) -> str | None:
        """One line on why the watch is not working now (the same text for as long as it lasts), or None."""
        ...


class Backend(abc.ABC):
    """What every backend is. Subclasses set `description` in their constructor."""

    description: str  # for `plan` and messages; never contains credentials
    # Whether `choreo-run connection ...` / `store push` may write through `store_target()`.
    writable: ClassVar[bool] = False
    # --watch fetches again every interval (cheap when the backend answers "unchanged").
    polled_for_changes: bool = False
    # `fetch` mostly waits on the network: a launch starts it early, in a thread, and reads the
    # manifest meanwhile (launcher.resolve.pipeline.EarlyFetch). False: it is local work.
    fetches_over_network: bool = False

    @classmethod
    @abc.abstractmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> Backend:
        """The backend a parsed URL names; raises ConfigurationError for a URL it cannot use."""

    @abc.abstractmethod
    def fetch(self, identity: Identity) -> Snapshot:
        """Everything `identity` may use. Raises AccessDenied, BackendUnavailable, ConfigurationError."""

    def guess_identity(self, directory_name: str) -> tuple[str | None, str | None]:
        """(project, component) this backend makes obvious for a component directory; none by default."""
        return None, None

    def watched_paths(self) -> list[str]:
        """Local paths whose stamps --watch compares, listed afresh at each look."""
        return []

    def watch(self, identity: Identity, changed: threading.Event, timeout: float) -> Watching | None:
        """Start a live watch that sets `changed`, waiting up to `timeout` for it; None when not offered."""
        return None

    @property
    def layers(self) -> tuple[Backend, ...]:
        """The backends this one is made of, in order (itself, unless layered)."""
        return (self,)

    def store_target(self) -> StoreTarget:
        """Where connection commands write. Read-only backends refuse: see `refuse_read_only`."""
        raise read_only_error(self.description)

    def close(self) -> None:  # noqa: B027 - an optional hook: most backends hold nothing to release
        """Release connections; nothing to release by default."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"  # the description never holds secrets


def read_only_error(shown: str) -> UsageError:
    """Writing through a read-only backend is a misuse of the command (exit 64, docs/exit-codes.md)."""
    return UsageError(
        f"backend {shown!r} is read-only: connections are written to a store file or to "
        "etcd (an HTTP control plane or Service Binding directories are managed elsewhere)"
    )
