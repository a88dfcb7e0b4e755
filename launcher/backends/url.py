"""Backend URLs: the one place that splits `scheme://rest`, `scheme:rest` or a bare path.

Every backend, the writer and the pipeline ask this module which scheme a URL has, so they can never
disagree about it (a disagreement once made `connection add ... --backend servicebinding:` create a
store file literally named `servicebinding:`). Imports nothing heavy: it runs at every start-up.
"""

from __future__ import annotations

from launcher.errors import ConfigurationError
from launcher.records import Record, field

FILE = "file"

# scheme -> "module:Class"; the class is a launcher.backends.base.Backend. Imported only when used,
# so `file:` never pays for httpx.
REGISTRY: dict[str, str] = {
    FILE: "launcher.backends.local.backend:LocalStore",
    "http": "launcher.backends.http.backend:HttpBackend",
    "https": "launcher.backends.http.backend:HttpBackend",
    "etcd": "launcher.backends.etcd.backend:EtcdBackend",
    "etcds": "launcher.backends.etcd.backend:EtcdBackend",
    "servicebinding": "launcher.backends.servicebinding:ServiceBindings",
}


class BackendURL(Record):
    """A backend URL split once: `scheme` (lower case, `file` for a bare path) and what follows it."""

    scheme: str
    rest: str  # after `scheme://` or `scheme:`; the whole text for a bare path
    slashes: bool  # `scheme://...` rather than `scheme:...` (network schemes require it)
    original: str = field(repr=False)  # may hold user:password@; show `shown` instead

    def __repr__(self) -> str:
        return f"BackendURL({self.shown!r})"  # `rest` may hold user:password@

    @property
    def shown(self) -> str:
        """The URL for messages: any user:password@ in the authority becomes ***@."""
        if not self.slashes:
            return self.original
        authority, slash, path = self.rest.partition("/")
        if "@" not in authority:
            return self.original
        return f"{self.original[: len(self.original) - len(self.rest)]}***@{authority.rsplit('@', 1)[1]}{slash}{path}"

    @property
    def authority(self) -> str:
        """`host:port[,host:port]` of a `scheme://authority/path` URL ('' for the short forms)."""
        return self.rest.partition("/")[0] if self.slashes else ""

    def require_slashes(self, expected: str) -> None:
        """Network schemes name a host: `etcd:host` is a typo of `etcd://host`, refused as one."""
        if not self.slashes:
            raise ConfigurationError(f"backend URL {self.shown!r}: expected {expected}")


def parse_backend_url(url: str) -> BackendURL:
    """`etcd://h/p` -> (etcd, h/p); `servicebinding:` -> (servicebinding, ''); `a/b.yaml` -> (file, a/b.yaml).

    `scheme://` is a scheme whatever it is (an unknown one is refused when opened); the short form
    `scheme:rest` only for a registered scheme, so a file named `my:store.yaml` stays a file.
    """
    head, separator, tail = url.partition("://")
    if separator and _is_scheme(head):
        return BackendURL(head.lower(), tail, True, url)
    head, separator, tail = url.partition(":")
    if separator and head.lower() in REGISTRY:
        return BackendURL(head.lower(), tail, False, url)
    return BackendURL(FILE, url, False, url)


def redact(url: str) -> str:
    """Any URL (a backend's, a redirect's Location) fit for a message."""
    return parse_backend_url(url).shown


def _is_scheme(text: str) -> bool:
    """RFC 3986: a letter, then letters, digits, `+`, `-`, `.`; so `./a://b` is a path, not a scheme."""
    return (
        bool(text)
        and text[0].isascii()
        and text[0].isalpha()
        and all(c.isascii() and (c.isalnum() or c in "+-.") for c in text)
    )
