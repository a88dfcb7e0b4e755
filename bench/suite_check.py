"""`choreo-run check` over a generated repository of 50 component directories sharing one store.

Timed two ways: one `check DIR...` process for all of them (when the installed version accepts
several directories), and one `check -C DIR` process per directory, as a CI script had to before.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from measure import Timing, time_commands
from venv_setup import Venv
from workload import make_repository


def supports_many(venv: Venv, store: Path, directories: list[Path]) -> bool:
    """True when one `check` accepts every directory and reports each as ok."""
    done = subprocess.run(
        [venv.choreo_run, "check", "--backend", str(store), *map(str, directories)], capture_output=True, text=True
    )
    return done.returncode == 0 and done.stdout.count("ok: ") == len(directories)


def loop_script(venv: Venv, store: Path, directories: list[Path], path: Path) -> Path:
    """A shell script running one `check -C DIR` per directory, stopping at the first failure."""
    lines = ["set -e"] + [
        shlex.join([venv.choreo_run, "check", "-q", "-C", str(directory), "--backend", str(store)]) + " >/dev/null"
        for directory in directories
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(venv: Venv, root: Path, runs: int, warmup: int, loop_runs: int = 3) -> tuple[dict[str, Timing], bool, int]:
    """(timings, whether `check DIR...` works, number of directories). The loop is slow (one process
    per directory), so it gets `loop_runs` runs and no warm-up."""
    store, directories = make_repository(root)
    script = loop_script(venv, store, directories, root / "check-loop.sh")
    timings = time_commands({f"check: {len(directories)} processes (loop)": ["sh", str(script)]}, loop_runs, 0)
    many = supports_many(venv, store, directories)
    if many:
        argv = [venv.choreo_run, "check", "-q", "--backend", str(store), *map(str, directories)]
        timings.update(time_commands({f"check: one process, {len(directories)} dirs": argv}, runs, warmup))
    return timings, many, len(directories)
