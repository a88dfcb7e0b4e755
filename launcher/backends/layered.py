"""Several backends as one: later layers override earlier ones (docs/backends/README.md, "Layering").

A typical stack during development: the shared store first, a personal file store after it, so a
developer can point one connection at a local service without touching the shared values.
"""

from __future__ import annotations

import threading

from launcher.backends.base import Backend, BackendSettings, Watching
from launcher.backends.url import BackendURL
from launcher.errors import ConfigurationError
from launcher.model import Identity, Snapshot
from launcher.records import Record


class LayeredBackend(Backend):
    """Fetches from every layer and merges; a connection is replaced whole, by name and by ID.

    Each capability is the union of the layers' (paths, polling, live watches). Never writable:
    a write names one store (`--backend`), not a stack."""

    def __init__(self, layers: list[Backend] | tuple[Backend, ...]) -> None:
        if not layers:
            raise ValueError("a layered backend needs at least one layer")
        self._layers = tuple(layers)
        self.description = " + ".join(layer.description for layer in self._layers)
        self.polled_for_changes = any(layer.polled_for_changes for layer in self._layers)
        self.fetches_over_network = any(layer.fetches_over_network for layer in self._layers)

    @classmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> LayeredBackend:
        raise ConfigurationError(f"backend URL {url.shown!r}: layers are given as several --backend options")

    @property
    def layers(self) -> tuple[Backend, ...]:
        return self._layers

    def fetch(self, identity: Identity) -> Snapshot:
        snapshots = [layer.fetch(identity) for layer in self._layers]
        merged = snapshots[0]
        for snapshot in snapshots[1:]:
            merged = merge(merged, snapshot)
        return merged.replace(backend=self.description)  # the answer is the stack's, not its top layer's

    def guess_identity(self, directory_name: str) -> tuple[str | None, str | None]:
        """The first layer that makes a guess decides (normally a local store)."""
        for layer in self._layers:
            project, component = layer.guess_identity(directory_name)
            if project is not None or component is not None:
                return project, component
        return None, None

    def watched_paths(self) -> list[str]:
        return [path for layer in self._layers for path in layer.watched_paths()]

    def watch(self, identity: Identity, changed: threading.Event, timeout: float) -> Watching | None:
        watches = [w for layer in self._layers if (w := layer.watch(identity, changed, timeout)) is not None]
        return _AllWatches(tuple(watches)) if watches else None

    def close(self) -> None:
        for layer in self._layers:
            layer.close()


class _AllWatches(Record):
    watches: tuple[Watching, ...]

    def stop(self) -> None:
        for watch in self.watches:
            watch.stop()

    def problem(self) -> str | None:
        return next((problem for watch in self.watches if (problem := watch.problem()) is not None), None)


def merge(lower: Snapshot, upper: Snapshot) -> Snapshot:
    """`upper` wins: its connections replace `lower`'s with the same name or Connection ID."""
    replaced_names = {c.name for c in upper.connections}
    replaced_ids = {c.connection_id for c in upper.connections}
    kept = tuple(c for c in lower.connections if c.name not in replaced_names and c.connection_id not in replaced_ids)
    visible = {c.connection_id for c in kept + upper.connections}
    return upper.replace(
        connections=kept + upper.connections,
        oauth_apps={**lower.oauth_apps, **upper.oauth_apps},
        config_groups={**lower.config_groups, **upper.config_groups},
        config_form={**lower.config_form, **upper.config_form},
        file_values={**lower.file_values, **upper.file_values},
        foreign=tuple(f for f in lower.foreign + upper.foreign if f.connection_id not in visible),
        warnings=lower.warnings + upper.warnings,
    )
