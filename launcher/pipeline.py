"""The one pipeline every command shares: manifest + identity + backends -> Plan.

I/O happens here and at the CLI; `launcher.resolve` stays pure.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable

from launcher.backends import Backend, BackendSettings, open_backend
from launcher.errors import ConfigurationError
from launcher.identity import decide_identity
from launcher.manifest import discover, load_manifest
from launcher.model import Manifest, Plan
from launcher.yamlfile import describe_file

DEFAULT_STORE_NAMES = ("connections.yaml", os.path.join(".choreo", "connections.yaml"))


@dataclass(frozen=True)
class Settings:
    """Everything the CLI gathered from flags and CHOREO_RUN_* variables."""

    component_dir: str = "."
    manifest: str | None = None
    backends: tuple[str, ...] = ()
    project: str | None = None
    component: str | None = None
    environment: str | None = None
    env_files: tuple[str, ...] = ()
    backend_settings: BackendSettings = field(default_factory=BackendSettings)


Reporter = Callable[[str], None]


def build_plan(settings: Settings, warn: Reporter, debug: Reporter) -> Plan:
    """Read, fetch and resolve; warnings go to `warn`, progress and timing to `debug`."""
    from launcher.resolve import resolve

    started = time.perf_counter()
    manifest = read_manifest(settings, warn)
    debug(f"manifest {manifest.file} ({manifest.kind} {manifest.schema_version}) read in {_ms(started)}")
    backend = open_backends(settings)
    identity = decide_identity(settings.project, settings.component, settings.environment,
                               settings.component_dir, backend)
    fetched = time.perf_counter()
    snapshot = backend.fetch(identity)
    debug(f"fetched {len(snapshot.connections)} connections for {identity.project}/{identity.component} "
          f"({identity.environment}) from {backend.description} in {_ms(fetched)}")
    plan = resolve(manifest, snapshot, tuple(read_env_files(settings.env_files)))
    for warning in plan.warnings:
        warn(warning)
    debug(f"resolved {len(plan.assignments)} variables and {len(plan.files)} files in {_ms(started)} in all")
    return plan


def read_manifest(settings: Settings, warn: Reporter) -> Manifest:
    if settings.manifest:
        return load_manifest(settings.manifest)
    path, warnings = discover(settings.component_dir)
    for warning in warnings:
        warn(warning)
    return load_manifest(path)


def open_backends(settings: Settings) -> Backend:
    urls = settings.backends or (default_store(settings.component_dir),)
    layers = [open_backend(url, settings.backend_settings) for url in urls]
    if len(layers) == 1:
        return layers[0]
    from launcher.backends.layered import LayeredBackend

    return LayeredBackend(layers)


def default_store(component_dir: str) -> str:
    """With no --backend: connections.yaml in the component directory (or its .choreo/)."""
    for name in DEFAULT_STORE_NAMES:
        candidate = os.path.join(component_dir, name)
        if os.path.isfile(candidate):
            return candidate
    looked = " or ".join(describe_file(os.path.join(component_dir, name)) for name in DEFAULT_STORE_NAMES)
    raise ConfigurationError(f"no backend given and no local store at {looked}: pass --backend URL "
                             "(or set CHOREO_RUN_BACKEND)")


def read_env_files(paths: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    """Each .env file as an overlay layer, read with python-dotenv; later files win."""
    if not paths:
        return []
    from dotenv import dotenv_values

    layers = []
    for path in paths:
        if not os.path.isfile(path):
            raise ConfigurationError(f"{describe_file(path)}: env file not found")
        values = {name: value for name, value in dotenv_values(path).items() if value is not None}
        layers.append((describe_file(path), values))
    return layers


def _ms(since: float) -> str:
    return f"{(time.perf_counter() - since) * 1000:.1f} ms"
