"""The Dockerfiles, checked without a Docker engine (CI has none).

What can go wrong without anyone noticing until an image build: a COPY of a path that does not
exist, an ENTRYPOINT in shell form (which would make /bin/sh PID 1 and swallow signals), a base
image tag the examples do not use, an example that does not add choreo-run the documented way, a
component whose ENV identity does not resolve, and a COPY set too small to build the package and
the bundle. The package is checked by building from exactly the files the Dockerfile copies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.process import REPO, run_launcher

BASE = REPO / "Dockerfile.base"
EXAMPLE = REPO / "examples" / "orders-service" / "Dockerfile"  # a Python service, built FROM the base
# Services in other languages: choreo-run added to their own base image with one COPY --from line.
ADDED_TO = [REPO / "examples" / name / "Dockerfile" for name in ("go-service", "node-service")]
DOCKERFILES = [BASE, EXAMPLE, *ADDED_TO]
BUNDLE_ENTRYPOINT = '["/opt/choreo-run/choreo-run", "--"]'
ADD_LINE = "--from=choreo-run-base /opt/choreo-run /opt/choreo-run"


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


def copies(path: Path) -> list[list[str]]:
    """The source paths of each COPY from the build context (COPY --from copies from an image)."""
    found = []
    for keyword, rest in instructions(path):
        if keyword == "COPY" and "--from=" not in rest:
            *sources, _ = [word for word in rest.split() if not word.startswith("--")]
            found.append(sources)
    return found


def test_entrypoints_and_commands_use_the_exec_form() -> None:
    for path in DOCKERFILES:
        for keyword, rest in instructions(path):
            if keyword in ("ENTRYPOINT", "CMD"):
                assert isinstance(json.loads(rest), list), f"{path}: {keyword} must be a JSON list"
    assert ("ENTRYPOINT", BUNDLE_ENTRYPOINT) in instructions(BASE)


def test_every_copied_path_exists_in_the_build_context() -> None:
    for path in DOCKERFILES:
        for sources in copies(path):
            for source in sources:
                assert (REPO / source).exists(), f"{path}: COPY {source}: not in the repository"


def test_the_example_is_built_from_the_base_image() -> None:
    assert ("FROM", base_tag()) in instructions(EXAMPLE)


def base_tag() -> str:
    return next(line.split("-t", 1)[1].split()[0] for line in BASE.read_text().splitlines() if "docker build" in line)


def test_the_base_publishes_the_bundle_built_in_its_builder_stage() -> None:
    steps = instructions(BASE)
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS bundle"), froms  # build stage, then the published image
    build = next(rest for keyword, rest in steps if keyword == "RUN" and "bundle/build" in rest)
    assert "--dist /opt" in build  # bundle/build writes DIST/choreo-run
    assert ("COPY", "--from=bundle /opt/choreo-run /opt/choreo-run") in steps
    assert "bundle" in {source for sources in copies(BASE) for source in sources}


@pytest.mark.parametrize("dockerfile", ADDED_TO, ids=lambda path: path.parent.name)
def test_other_languages_add_choreo_run_with_one_copy_line(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    final_stage = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]
    assert final_stage[0][1].split()[0] != base_tag()  # their own base image, not choreo-run's
    assert ("COPY", ADD_LINE) in final_stage
    assert base_tag() in ADD_LINE
    entrypoints = [rest for keyword, rest in final_stage if keyword == "ENTRYPOINT"]
    assert entrypoints == [BUNDLE_ENTRYPOINT]
    assert [keyword for keyword, _ in final_stage if keyword == "CMD"] == ["CMD"]


@pytest.mark.parametrize("dockerfile", [EXAMPLE, *ADDED_TO], ids=lambda path: path.parent.name)
def test_each_examples_image_identity_resolves(dockerfile: Path) -> None:
    """The ENV lines name a project and component the example's store and manifest agree on."""
    settings: dict[str, str] = {}
    for keyword, rest in instructions(dockerfile):
        if keyword == "ENV":
            settings.update(word.split("=", 1) for word in rest.split() if "=" in word)
    directory = dockerfile.parent
    assert (directory / ".choreo" / "component.yaml").is_file() and (directory / "connections.yaml").is_file()
    identity = {name: value for name, value in settings.items() if name.startswith("CHOREO_RUN_")}
    identity.pop("CHOREO_RUN_COMPONENT_DIR", None)
    assert {"CHOREO_RUN_PROJECT", "CHOREO_RUN_COMPONENT"} <= identity.keys()
    result = run_launcher(["check", "-C", str(directory)], env=identity)
    assert result.returncode == 0, result.stderr


def test_the_copied_files_are_enough_to_build_the_package(tmp_path: Path) -> None:
    context = tmp_path / "src"
    context.mkdir()
    for sources in copies(BASE):
        for source in sources:
            copy = shutil.copytree if (REPO / source).is_dir() else shutil.copy
            copy(REPO / source, context / Path(source).name)
    assert (context / "bundle" / "build").is_file() and (context / "bundle" / "choreo-run.spec").is_file()
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
