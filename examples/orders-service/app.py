"""The example orders service: reads its connections from the environment, as on Choreo.

It never learns where the values came from. Run it through choreo-run (see the README).
With --serve it answers GET / on port 8080; without, it prints its configuration and exits.
"""

import json
import os
import sys

CATALOG_URL = os.environ["CHOREO_BOOK_CATALOG_SERVICEURL"]
CLIENT_ID = os.environ["CHOREO_BOOK_CATALOG_CONSUMERKEY"]
CLIENT_SECRET = os.environ["CHOREO_BOOK_CATALOG_CONSUMERSECRET"]
TOKEN_URL = os.environ["CHOREO_BOOK_CATALOG_TOKENURL"]
DB_HOST = os.environ["CHOREO_ORDERS_DB_HOSTNAME"]
DB_PORT = int(os.environ["CHOREO_ORDERS_DB_PORT"])
DB_USER = os.environ["CHOREO_ORDERS_DB_USERNAME"]
DB_PASSWORD = os.environ["DATABASE_PASSWORD"]
DB_NAME = os.environ["CHOREO_ORDERS_DB_DATABASENAME"]
LOG_LEVEL = os.environ.get("LOG_LEVEL", "info")
# configurations.file mounts settings.json at /app/config; a local run re-roots it with
# --mount-root DIR and tells us where through CHOREO_MOUNT_ROOT.
SETTINGS_FILE = os.environ.get("CHOREO_MOUNT_ROOT", "") + "/app/config/settings.json"


def masked(secret: str) -> str:
    return f"<{len(secret)} characters>"


def describe() -> str:
    with open(SETTINGS_FILE, encoding="utf-8") as handle:
        settings = json.load(handle)
    return "\n".join(
        [
            "orders-service is configured:",
            f"  catalog        {CATALOG_URL} (OAuth client {CLIENT_ID}, "
            f"secret {masked(CLIENT_SECRET)}, token {TOKEN_URL})",
            f"  database       {DB_USER}@{DB_HOST}:{DB_PORT}/{DB_NAME} (password {masked(DB_PASSWORD)})",
            f"  log level      {LOG_LEVEL}",
            f"  feature flags  {os.environ.get('FEATURE_FLAGS', '')}",
            f"  settings file  currency {settings['currency']}, payment provider {settings['payment']['provider']}",
        ]
    )


def serve() -> None:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (describe() + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(body)

    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8080"))
    print(f"orders-service listening on {host}:{port}", flush=True)
    HTTPServer((host, port), Handler).serve_forever()


if __name__ == "__main__":
    print(describe(), flush=True)
    if "--serve" in sys.argv:
        serve()
