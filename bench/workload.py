"""Generated inputs: stores with N connections, manifests referencing them, a 50-component repository.

Everything is written as JSON, which is YAML too, so the harness needs no YAML library. All files go
under a directory the caller owns (a temporary directory); nothing here is meant to be committed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = "bench"
COMPONENT = "svc"
ENVIRONMENT = "development"
# A launcher credential as a variable (any CHOREO_RUN_* name with TOKEN, PASSWORD or KEY): it is in
# the environment block, so the launcher supervises through the lean supervisor re-exec, and no
# credential stays resident (docs/supervise.md). As a file (credential_file) it supervises in-process.
CREDENTIAL = "CHOREO_RUN_TOKEN=bench-not-a-real-token"


def credential_file(directory: Path) -> str:
    """The same credential as a file (the Docker and Kubernetes secrets convention), for `env`."""
    path = directory / "launcher-token"
    path.write_text("bench-not-a-real-token\n", encoding="utf-8")
    return f"CHOREO_RUN_TOKEN_FILE={path}"


@dataclass(frozen=True)
class Workload:
    """One component directory whose manifest references `size` connections of `store`."""

    size: int
    directory: Path  # holds .choreo/component.yaml and connections.yaml
    store: Path

    def identity_args(self) -> list[str]:
        return ["-C", str(self.directory), "-p", PROJECT, "-c", COMPONENT]


def connection_name(index: int) -> str:
    return f"conn-{index:04d}"


def connection(index: int, component: str | None) -> dict[str, Any]:
    """A database connection with three parameters (three variables), one of them secret."""
    item: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "name": connection_name(index),
        "type": "database",
        "visibility": "component" if component else "project",
        "parameters": {
            "HostName": f"db-{index}.internal",
            "Port": str(5000 + index % 1000),
            "Password": {"secret": True, "value": f"pw-{index:06d}-x"},
        },
    }
    if component:
        item["component"] = component
    return item


def store_document(components: dict[str, list[int]], shared: list[int]) -> dict[str, Any]:
    """One project: `components` maps a name to its own connection indexes; `shared` are project ones."""
    connections = [connection(i, None) for i in shared]
    connections += [connection(i, name) for name, indexes in components.items() for i in indexes]
    project = {"name": PROJECT, "components": [{"name": name} for name in components], "connections": connections}
    return {"version": 1, "projects": [project]}


def manifest_document(names: list[str]) -> dict[str, Any]:
    references = [{"name": name, "resourceRef": f"database:bench-server/{name}"} for name in names]
    return {"schemaVersion": "1.2", "dependencies": {"connectionReferences": references}}


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)  # the store holds (fake) secrets; a world-readable store draws a warning
    return path


def make_component(root: Path, size: int) -> Workload:
    """`root/n{size}/svc` with `size` connections, alternately project and component visibility."""
    indexes = list(range(1, size + 1))
    own, shared = [i for i in indexes if i % 2], [i for i in indexes if not i % 2]
    directory = root / f"n{size}" / COMPONENT
    store = write_json(directory / "connections.yaml", store_document({COMPONENT: own}, shared))
    write_json(directory / ".choreo" / "component.yaml", manifest_document([connection_name(i) for i in indexes]))
    return Workload(size, directory, store)


def make_repository(root: Path, components: int = 50, own: int = 4, shared: int = 10) -> tuple[Path, list[Path]]:
    """A repository of `components` directories sharing one store; each references its `own`
    component connections and two of the `shared` project connections. Returns (store, dirs)."""
    names = [f"comp-{number:02d}" for number in range(1, components + 1)]
    owned = {name: list(range(shared + 1 + k * own, shared + 1 + (k + 1) * own)) for k, name in enumerate(names)}
    store = write_json(root / "repo-store.yaml", store_document(owned, list(range(1, shared + 1))))
    directories = []
    for k, name in enumerate(names):
        picks = owned[name] + [1 + k % shared, 1 + (k + 1) % shared]
        manifest = manifest_document([connection_name(i) for i in picks])
        directories.append(write_json(root / "repo" / name / ".choreo" / "component.yaml", manifest).parents[1])
    return store, directories


def write_tokens(path: Path, token: str) -> Path:
    grant = {"name": "bench", "token": token, "project": PROJECT, "component": COMPONENT}
    return write_json(path, {"version": 1, "tokens": [grant]})
