"""TLS verification for the remote backends: always on for TLS, a custom CA replaces the system bundle."""

from __future__ import annotations

import ssl

from launcher.errors import ConfigurationError


def verification(uses_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    """What httpx's `verify` gets. Plain HTTP builds no context: loading the CA bundle costs tens of ms."""
    if not uses_tls:
        return False
    if not ca_file:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or type(error).__name__
        raise ConfigurationError(f"{ca_file}: cannot load the CA file: {reason}") from None
