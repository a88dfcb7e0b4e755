"""A remote backend is asked before the manifest is read (launcher.resolve.pipeline.EarlyFetch), and
nothing a user sees changes: the manifest's problems are still reported first, and a launch that
fails on its manifest does not wait for a backend that never answers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from support.http_fixtures import silent_port
from support.process import run_launcher, write


@pytest.mark.parametrize("scheme", ["etcd", "http"])
def test_a_broken_manifest_is_reported_first_without_waiting_for_a_silent_backend(tmp_path: Path, scheme: str) -> None:
    component = tmp_path / "svc"
    write(component / ".choreo" / "component.yaml", "schemaVersion: [1.2\n")  # not YAML: an unclosed list
    with silent_port() as url:
        backend = url.replace("http://", f"{scheme}://") + "/choreo"
        started = time.monotonic()
        result = run_launcher(
            [
                "-C",
                str(component),
                "-p",
                "p",
                "-c",
                "svc",
                "--backend",
                backend,
                "--etcd-allow-no-auth",
                "--timeout",
                "20",
                "--deadline",
                "20",
                "--",
                "true",
            ],
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 65, result.stderr  # a manifest error (docs/exit-codes.md)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "component.yaml" in lines[0], result.stderr
    assert "127.0.0.1" not in result.stderr  # nothing about the backend: the manifest comes first
    assert elapsed < 15  # the silent backend's 20 s deadline was not waited for
