"""docs/security.md, class B: configuration files stay inside their root.

A manifest comes with a cloned repository; its `configurations.file[].mountPath` must not write
outside `--mount-root` (or, for relative paths, the component directory): not with `..`, not
through a symlink on the way, not even when the symlink appears after the fast path recorded the
launch. Real files, the launcher as a real process.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.process import DUMP_ENV, EXAMPLE, fast_path_only, run_launcher


@pytest.fixture
def component(tmp_path: Path) -> Path:
    copy = tmp_path / "work" / "orders-service"
    shutil.copytree(EXAMPLE, copy)
    return copy


def with_mount_path(component: Path, mount_path: str) -> None:
    manifest = component / ".choreo" / "component.yaml"
    manifest.write_text(manifest.read_text().replace("mountPath: /app/config", f"mountPath: {mount_path!r}"))


def launch(component: Path, *extra: str, env: dict[str, str] | None = None):
    return run_launcher(
        ["-C", str(component), *extra, "--", *DUMP_ENV],
        env={"XDG_CACHE_HOME": str(component.parent / "cache"), **(env or {})},
    )


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 73, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("choreo-run: error: configurations.file[0]")
    for fragment in fragments:
        assert fragment in line, line
    assert "Traceback" not in result.stderr


def test_a_relative_mount_path_cannot_climb_out_of_the_component(component: Path, tmp_path: Path) -> None:
    with_mount_path(component, "../../x")
    result = launch(component)
    assert_one_line_error(result, "'../../x/settings.json' (mountPath/name)", "leads out of the component directory")
    assert not (tmp_path / "x").exists() and not (tmp_path / "work" / "x").exists()


def test_a_relative_mount_path_inside_the_component_is_written(component: Path) -> None:
    with_mount_path(component, "config/../generated")
    launch(component).env()
    assert json.loads((component / "generated" / "settings.json").read_text())["currency"] == "EUR"


def test_dot_dot_cannot_climb_out_of_the_mount_root(component: Path, tmp_path: Path) -> None:
    with_mount_path(component, "/app/../../etc/x")
    root = tmp_path / "root"
    result = launch(component, "--mount-root", str(root))
    assert_one_line_error(result, "'/app/../../etc/x/settings.json'", f"leads out of --mount-root {root}")
    assert not (tmp_path / "etc").exists() and not root.exists()


def test_dot_dot_within_the_mount_root_is_normalised(component: Path, tmp_path: Path) -> None:
    with_mount_path(component, "/app/../etc/x")
    root = tmp_path / "root"
    launch(component, "--mount-root", str(root)).env()
    assert files_under(root) == [root / "etc" / "x" / "settings.json"]


def test_a_symlink_inside_the_mount_root_pointing_outside_is_refused(component: Path, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "app").symlink_to(outside)
    result = launch(component, "--mount-root", str(root))
    assert_one_line_error(result, f"{root}/app is a symlink", "refusing to write through it")
    assert files_under(outside) == []


def test_a_symlink_in_the_repository_cannot_redirect_a_relative_mount_path(component: Path, tmp_path: Path) -> None:
    outside = tmp_path / "home" / ".ssh"
    outside.mkdir(parents=True)
    (component / "config").symlink_to(outside)  # shipped in the cloned repository
    with_mount_path(component, "config")
    result = launch(component)
    assert_one_line_error(result, "config is a symlink")
    assert files_under(outside) == []


def test_the_fast_path_does_not_follow_a_symlink_planted_after_recording(component: Path, tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    launch(component, "--mount-root", str(root)).env()  # recorded
    shutil.rmtree(root / "app")
    (root / "app").symlink_to(outside)
    replayed = launch(
        component, "--mount-root", str(root), env={"PYTHONPATH": fast_path_only(tmp_path / "no-full-path")}
    )
    assert replayed.returncode != 0  # the fast path refused to replay, and the full path cannot run here
    assert files_under(outside) == []
    full = launch(component, "--mount-root", str(root))
    assert_one_line_error(full, "is a symlink")
    assert files_under(outside) == []


def test_without_mount_root_an_absolute_mount_path_is_written_as_is(component: Path, tmp_path: Path) -> None:
    target = tmp_path / "image" / "app" / "config"
    with_mount_path(component, str(target))
    launch(component).env()
    assert (target / "settings.json").is_file()
