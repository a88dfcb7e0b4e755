"""`choreo-run serve-http`: serve a local store over the HTTP backend contract, to try `http://` backends."""

from __future__ import annotations

import logging

import click

from launcher.backends.http.server import serve


@click.command("serve-http")
@click.option("--store", "store_path", required=True, type=click.Path(dir_okay=False),
              help="The local store file to serve (docs/store.md).")
@click.option("--tokens", "tokens_path", required=True, type=click.Path(dir_okay=False),
              help="Which bearer token may read which component (docs/backends/http.md).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8421, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="Serve HTTPS with this certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="The certificate's private key, if not in --tls-cert.")
def serve_command(store_path: str, tokens_path: str, host: str, port: int, tls_cert: str | None,
                  tls_key: str | None) -> None:
    """Serve STORE over the HTTP backend contract until interrupted. Not a production control plane."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("choreo-run serve-http: %(message)s"))
    logger = logging.getLogger("launcher.backends.http.server")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    serve(store_path, tokens_path, host, port, tls_cert=tls_cert, tls_key=tls_key)
