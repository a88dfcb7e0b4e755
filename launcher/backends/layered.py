"""Several backends as one: later layers override earlier ones (docs/backends.md).

A typical stack during development: the shared store first, a personal file store after it, so a
developer can point one connection at a local service without touching the shared values.
"""

from __future__ import annotations

from dataclasses import replace

from launcher.backends import Backend
from launcher.model import Identity, Snapshot


class LayeredBackend:
    """Fetches from every layer and merges; a connection is replaced whole, by name and by ID."""

    def __init__(self, layers: list[Backend]) -> None:
        self.layers = layers
        self.description = " + ".join(layer.description for layer in layers)

    def fetch(self, identity: Identity) -> Snapshot:
        snapshots = [layer.fetch(identity) for layer in self.layers]
        merged = snapshots[0]
        for snapshot in snapshots[1:]:
            merged = merge(merged, snapshot)
        return merged

    def guess_identity(self, directory_name: str) -> tuple[str | None, str | None]:
        """The first layer that can guess decides (normally a local store)."""
        for layer in self.layers:
            guess = getattr(layer, "guess_identity", None)
            if guess is not None:
                return guess(directory_name)
        return None, None


def merge(lower: Snapshot, upper: Snapshot) -> Snapshot:
    """`upper` wins: its connections replace `lower`'s with the same name or Connection ID."""
    replaced_names = {c.name for c in upper.connections}
    replaced_ids = {c.connection_id for c in upper.connections}
    kept = tuple(c for c in lower.connections if c.name not in replaced_names and c.connection_id not in replaced_ids)
    visible = {c.connection_id for c in kept + upper.connections}
    return replace(
        upper,
        connections=kept + upper.connections,
        oauth_apps={**lower.oauth_apps, **upper.oauth_apps},
        config_groups={**lower.config_groups, **upper.config_groups},
        config_form={**lower.config_form, **upper.config_form},
        file_values={**lower.file_values, **upper.file_values},
        foreign=tuple(f for f in lower.foreign + upper.foreign if f.connection_id not in visible),
        warnings=lower.warnings + upper.warnings,
    )
