"""What the numbers were measured on: machine, interpreter, tools and the installed package."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from venv_setup import Venv, is_editable, missing_bytecode


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def version_of(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "not installed"


def commit_of(repo: Path, rev: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%h %s", rev], capture_output=True, text=True)
    return done.stdout.strip()[:100]


def describe(venv: Venv, repo: Path, rev: str) -> list[str]:
    """Markdown bullet lines."""
    site = venv.site_packages()
    return [
        f"* commit: `{commit_of(repo, rev)}`",
        f"* CPUs: {len(os.sched_getaffinity(0))} usable (`nproc`), {cpu_model()}; kernel {platform.release()}",
        f"* Python: {version_of([venv.python, '--version'])} (the venv's own interpreter, {venv.python})",
        f"* package installed {'EDITABLE' if is_editable(venv) else 'non-editable'} in {site}; "
        f"{missing_bytecode(site)} .py files there without .pyc",
        f"* PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} in the environment "
        f"(bytecode was compiled ahead with compileall)",
        f"* tools: {version_of(['hyperfine', '--version'])}, {version_of(['etcd', '--version'])}",
        f"* load average when the report was written: {load_average()} (1, 5, 15 min)",
    ]


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())
