"""docs/security.md, class A: no file or directory another user can control.

The attacks are real: a second local user (uid 65534, through setpriv) pre-creates the directories
the launcher would use, in a shared sticky directory standing in for /tmp, and the launcher runs
as a real process. It must refuse or avoid them, and never write there.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from support.process import DUMP_ENV, EXAMPLE, clean_environment, example_launch, fast_path_only, run_launcher

OTHER = 65534
SETPRIV = shutil.which("setpriv")


def as_other_user(*command: str) -> None:
    subprocess.run([SETPRIV, f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups", *command], check=True)


needs_second_user = pytest.mark.skipif(
    SETPRIV is None or os.geteuid() != 0, reason="needs setpriv and root to act as a second local user"
)


@pytest.fixture
def shared_tmp():
    """A world-writable sticky directory under /tmp: what /tmp is, without touching /tmp's own entries."""
    directory = tempfile.mkdtemp(prefix="choreo-run-security-", dir="/tmp")
    os.chmod(directory, 0o1777)
    yield Path(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def component(tmp_path: Path) -> Path:
    copy = tmp_path / "orders-service"
    shutil.copytree(EXAMPLE, copy)
    return copy


# ---------------------------------------------------------------- the --reload-signal env file

RELOAD_SERVICE = (
    'printf "%s\\n" "$CHOREO_RELOAD_ENV_FILE" > "$OUT"; trap "exit 0" TERM; while true; do sleep 0.05; done'
)


def _watch(component: Path, tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "env-file-path"
    process = subprocess.Popen(
        example_launch(
            component,
            tmp_path / "m",
            *("--watch", "--watch-interval", "0.1", "--reload-signal", "HUP"),
            command=["sh", "-c", RELOAD_SERVICE],
        ),
        env=clean_environment({"OUT": str(out), **env}),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (out.exists() and out.read_text().strip()):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return process, Path(out.read_text().strip())


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


@needs_second_user
def test_a_predictable_directory_another_user_created_is_never_used(
    component: Path, tmp_path: Path, shared_tmp: Path
) -> None:
    planted = shared_tmp / f"choreo-run-{os.getuid()}"  # where the env file used to go without XDG_RUNTIME_DIR
    as_other_user("mkdir", "-m", "0777", str(planted))
    environment = {"TMPDIR": str(shared_tmp)}
    process, env_file = _watch(component, tmp_path, environment | {"XDG_RUNTIME_DIR": ""})
    try:
        assert env_file.parent != planted and planted not in env_file.parents
        directory = env_file.parent.stat()
        assert directory.st_uid == os.geteuid() and stat.S_IMODE(directory.st_mode) == 0o700
        assert env_file.stat().st_uid == os.geteuid() and stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert "CHOREO_ORDERS_DB_HOSTNAME" in env_file.read_text()
    finally:
        err = _stop(process)
    assert list(planted.iterdir()) == []
    assert not env_file.exists() and not env_file.parent.exists(), "the per-run directory is removed on exit"
    assert "Traceback" not in err


@needs_second_user
def test_an_xdg_runtime_dir_another_user_owns_is_refused(component: Path, tmp_path: Path, shared_tmp: Path) -> None:
    planted = shared_tmp / "runtime"
    as_other_user("mkdir", "-m", "0700", str(planted))
    result = run_launcher(
        [
            "-C",
            str(component),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--mount-root",
            str(tmp_path / "m"),
            "--watch",
            "--reload-signal",
            "HUP",
            "--",
            "true",
        ],
        env={"XDG_RUNTIME_DIR": str(planted)},
    )
    assert result.returncode == 73, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("choreo-run: error: XDG_RUNTIME_DIR=") and str(planted) in line
    assert f"owned by uid {OTHER}" in line and "Traceback" not in result.stderr


def test_a_symlinked_xdg_runtime_dir_is_refused(component: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-runtime"
    real.mkdir(mode=0o700)
    link = tmp_path / "runtime-link"
    link.symlink_to(real)
    result = run_launcher(
        [
            "-C",
            str(component),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--mount-root",
            str(tmp_path / "m"),
            "--watch",
            "--reload-signal",
            "HUP",
            "--",
            "true",
        ],
        env={"XDG_RUNTIME_DIR": str(link)},
    )
    assert result.returncode == 73, result.stderr
    assert "is a symlink" in result.stderr and str(link) in result.stderr
    assert list(real.iterdir()) == []


def test_a_private_xdg_runtime_dir_holds_the_env_file(component: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    process, env_file = _watch(component, tmp_path, {"XDG_RUNTIME_DIR": str(runtime)})
    try:
        assert env_file.parent == runtime
    finally:
        _stop(process)
    assert runtime.is_dir() and list(runtime.iterdir()) == []  # the file is removed, the directory is the user's


# ---------------------------------------------------------------- fast-path records


def _launch(component: Path, cache: Path, tmp_path: Path, *, fast_only: bool = False):
    environment = {"XDG_CACHE_HOME": str(cache)}
    if fast_only:  # the full path made unimportable: only the fast path can succeed
        environment["PYTHONPATH"] = fast_path_only(tmp_path / "no-full-path")
    return run_launcher(["-C", str(component), "--mount-root", str(tmp_path / "m"), "--", *DUMP_ENV], env=environment)


def test_the_fast_path_creates_its_records_directory_private(component: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _launch(component, cache, tmp_path).env()
    for directory in (cache, cache / "choreo-run", cache / "choreo-run" / "plans"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


@needs_second_user
def test_a_records_directory_another_user_owns_is_never_written_nor_read(
    component: Path, tmp_path: Path, shared_tmp: Path
) -> None:
    plans = shared_tmp / "choreo-run" / "plans"
    as_other_user("mkdir", "-m", "0777", "-p", str(plans))
    as_other_user("chmod", "0777", str(plans.parent))
    assert _launch(component, shared_tmp, tmp_path).returncode == 0  # the launch itself works
    assert list(plans.iterdir()) == []  # but nothing was recorded there
    assert _launch(component, shared_tmp, tmp_path, fast_only=True).returncode != 0  # and nothing replayed


def test_a_group_or_world_writable_records_directory_is_not_trusted(component: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _launch(component, cache, tmp_path).env()
    plans = cache / "choreo-run" / "plans"
    assert _launch(component, cache, tmp_path, fast_only=True).returncode == 0  # replayed while private
    os.chmod(plans, 0o777)
    assert _launch(component, cache, tmp_path, fast_only=True).returncode != 0  # no replay: full path needed
    before = sorted(p.stat().st_mtime_ns for p in plans.iterdir())
    assert _launch(component, cache, tmp_path).returncode == 0
    assert sorted(p.stat().st_mtime_ns for p in plans.iterdir()) == before  # and no new record


def test_a_symlinked_records_directory_is_refused(component: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (cache / "choreo-run").mkdir(parents=True, mode=0o700)
    (cache / "choreo-run" / "plans").symlink_to(elsewhere)
    assert _launch(component, cache, tmp_path).returncode == 0
    assert list(elsewhere.iterdir()) == []


def test_a_records_directory_of_ours_that_only_we_can_write_is_narrowed_not_refused(
    component: Path, tmp_path: Path
) -> None:
    """Older versions left ~/.cache/choreo-run 0755: ours, nobody else could write in it."""
    cache = tmp_path / "cache"
    plans = cache / "choreo-run" / "plans"
    plans.mkdir(parents=True)
    for directory in (cache / "choreo-run", plans):
        os.chmod(directory, 0o755)
    _launch(component, cache, tmp_path).env()
    assert stat.S_IMODE(plans.stat().st_mode) == 0o700 and len(list(plans.iterdir())) == 1
    assert _launch(component, cache, tmp_path, fast_only=True).returncode == 0
