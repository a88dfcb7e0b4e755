"""Running the real launcher as a subprocess and reading what the child saw; paths the tests share."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_MANIFESTS = REPO.parent / "shared" / "choreo-manifests"
EXAMPLE = REPO / "examples" / "orders-service"
# A child that prints its whole environment as JSON: how tests read back what was injected.
DUMP_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def env(self) -> dict[str, str]:
        assert self.returncode == 0, self.stderr
        return json.loads(self.stdout.strip().splitlines()[-1])


# Fast-path records (launcher.launch.fastpath) and parse caches go here, not into the user's
# ~/.cache; removed when the test run ends, so runs do not pile directories up in /tmp.
CACHE_HOME = tempfile.mkdtemp(prefix="choreo-run-tests-cache-")
atexit.register(shutil.rmtree, CACHE_HOME, ignore_errors=True)


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any CHOREO_RUN_* setting leaking in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHOREO_")}
    base["XDG_CACHE_HOME"] = CACHE_HOME
    base.update(extra or {})
    return base


def example_launch(component: str | Path, mount_root: str | Path, *options: str, command: list[str]) -> list[str]:
    """`choreo-run` (`python -m launcher`) for the example's bookstore/orders-service in `component`,
    its files under `mount_root`, `options` before `-- command`: how the integration tests start a
    launcher that stays (Popen) to be watched, signalled or read through /proc."""
    return [
        sys.executable,
        "-m",
        "launcher",
        *("-C", str(component), "-p", "bookstore", "-c", "orders-service", "--mount-root", str(mount_root)),
        *options,
        "--",
        *command,
    ]


def run_launcher(
    args: list[str],
    *,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    stdin: str | None = None,
) -> Result:
    """`choreo-run ARGS` as a real process (`python -m launcher`, the same entry point)."""
    completed = subprocess.run(
        [sys.executable, "-m", "launcher", *args],
        cwd=cwd,
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def require_shared_manifests() -> Path:
    if not SHARED_MANIFESTS.is_dir():
        pytest.skip(f"real manifests not available at {SHARED_MANIFESTS} (../shared is beside the checkout)")
    return SHARED_MANIFESTS


# A sitecustomize under which the full path cannot run: the command line (launcher.cli, which a full launch
# needs with or without click) and click fail to import; the start-up fast path needs neither.
_FULL_PATH_REFUSED = """
import sys


class RefuseTheFullPath:
    def find_spec(self, name, path=None, target=None):
        if name in ("click", "launcher.cli") or name.startswith(("click.", "launcher.cli.")):
            raise ImportError(name + " is not for the fast path")
        return None


sys.meta_path.insert(0, RefuseTheFullPath())
"""


def fast_path_only(directory: Path) -> str:
    """A PYTHONPATH under which only the start-up fast path can launch (the full path fails to import)."""
    write(directory / "sitecustomize.py", _FULL_PATH_REFUSED)
    return str(directory)
