"""Fixtures shared by every test folder; helpers live in tests/support (import them from there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.process import write


@pytest.fixture
def component(tmp_path: Path):
    """A factory for a component directory: (manifest text, store text) -> directory."""

    def make(manifest: str, store: str, *, name: str = "svc", manifest_name: str = "component.yaml") -> Path:
        directory = tmp_path / name
        write(directory / ".choreo" / manifest_name, manifest)
        write(directory / "connections.yaml", store)
        return directory

    return make


# Real etcd members, started once per session and shared by every module that asks for them.
from support.etcd_cluster import etcd_auth, etcd_single, etcd_three  # noqa: E402,F401
