"""Run inside the bench venv: fetch once through the etcd backend and print its request counter.

Usage: python count_requests.py ETCD_URL PROJECT COMPONENT  ->  {"/v3/kv/txn": 1}
"""

from __future__ import annotations

import json
import sys

from launcher.backends import BackendSettings, open_backend
from launcher.model import Identity


def main(url: str, project: str, component: str) -> None:
    try:
        settings = BackendSettings(etcd_allow_no_auth=True)  # the bench's member has no auth
    except TypeError:  # a launcher from before the option (measuring an older commit)
        settings = BackendSettings()
    backend = open_backend(url, settings)
    backend.fetch(Identity(project, component))
    print(json.dumps(dict(getattr(backend, "requests", {}))))


if __name__ == "__main__":
    main(*sys.argv[1:4])
