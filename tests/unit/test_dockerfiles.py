"""The Dockerfiles, checked without a Docker engine (CI has none).

What can go wrong without anyone noticing until an image build: a COPY of a path that does not
exist, an ENTRYPOINT in shell form (which would make /bin/sh PID 1 and swallow signals), a base
image tag the example does not use, and a COPY set too small for `pip install` to build the
package. The last is checked by building from exactly the files the Dockerfile copies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.process import REPO

BASE = REPO / "Dockerfile.base"
EXAMPLE = REPO / "examples" / "orders-service" / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, pending = [], ""
    for line in path.read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            joined.append((keyword.upper(), rest.strip()))
            pending = ""
    return joined


def test_entrypoints_and_commands_use_the_exec_form() -> None:
    for path in (BASE, EXAMPLE):
        for keyword, rest in instructions(path):
            if keyword in ("ENTRYPOINT", "CMD"):
                assert isinstance(json.loads(rest), list), f"{path.name}: {keyword} must be a JSON list"
    assert ("ENTRYPOINT", '["choreo-run", "--"]') in instructions(BASE)


def test_every_copied_path_exists_in_the_build_context() -> None:
    for path in (BASE, EXAMPLE):
        for keyword, rest in instructions(path):
            if keyword == "COPY":
                *sources, _ = rest.split()
                for source in sources:
                    assert (REPO / source).exists(), f"{path.name}: COPY {source}: not in the repository"


def test_the_example_is_built_from_the_base_image() -> None:
    base_tag = next(
        line.split("-t", 1)[1].split()[0] for line in BASE.read_text().splitlines() if "docker build" in line
    )
    assert ("FROM", base_tag) in instructions(EXAMPLE)


def test_the_copied_files_are_enough_to_build_the_package(tmp_path: Path) -> None:
    context = tmp_path / "src"
    context.mkdir()
    for keyword, rest in instructions(BASE):
        if keyword == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                copy = shutil.copytree if (REPO / source).is_dir() else shutil.copy
                copy(REPO / source, context / Path(source).name)
    target = tmp_path / "installed"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(context)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0 and "Could not find a version that satisfies" in result.stderr:
        pytest.skip("pip cannot fetch the build backend (setuptools) from a package index here")
    assert result.returncode == 0, result.stderr
    assert (target / "bin" / "choreo-run").exists()
    assert (target / "launcher" / "launch" / "supervisor_main.py").exists()
