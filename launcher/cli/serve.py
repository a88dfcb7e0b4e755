"""`choreo-run serve-http`: serve a local store over the HTTP backend contract, to try `http://` backends."""

from __future__ import annotations

import logging

import click

from launcher.backends.http.server import serve
from launcher.cli.decorators import use


@click.command("serve-http")
@use("serve_store", "serve_tokens", "serve_host", "serve_port", "serve_tls_cert", "serve_tls_key")
def serve_command(
    store_path: str, tokens_path: str, host: str, port: int, tls_cert: str | None, tls_key: str | None
) -> None:
    """Serve STORE over the HTTP backend contract until interrupted. Not a production control plane."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("choreo-run serve-http: %(message)s"))
    logger = logging.getLogger("launcher.backends.http.server")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    serve(store_path, tokens_path, host, port, tls_cert=tls_cert, tls_key=tls_key)
