"""TLS verification for the remote backends: always on for TLS, a custom CA replaces the default bundle.

One rule for both HTTP clients (`launcher.backends.minihttp` for the launch-time requests, httpx for
etcd's watch streams): the CA file given (`--ca-file`), else `SSL_CERT_FILE` or `SSL_CERT_DIR`, else
certifi's bundle (the one httpx uses, and the one the self-contained bundle carries), else the system
store. Host names are always checked. `ssl` is imported only when TLS is used (~10 ms).
"""

from __future__ import annotations

import os

from launcher.errors import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context (hostname checked, system-default protocols and ciphers)."""
    import ssl

    try:
        if ca_file:
            return ssl.create_default_context(cafile=ca_file)
        if os.environ.get("SSL_CERT_FILE"):
            return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        if os.environ.get("SSL_CERT_DIR"):
            return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or type(error).__name__
        raise ConfigurationError(
            f"{ca_file or 'SSL_CERT_FILE/SSL_CERT_DIR'}: cannot load the CA file: {reason}"
        ) from None
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def verification(uses_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    """What httpx's `verify` gets. Plain HTTP builds no context: loading the CA bundle costs tens of ms."""
    return tls_context(ca_file) if uses_tls else False
