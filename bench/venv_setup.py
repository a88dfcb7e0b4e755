"""The bench venv: choreo-run installed non-editable from a clean export of a commit, plus
python-dotenv's CLI, with bytecode compiled for everything in site-packages."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VENV = Path("/tmp/choreo-bench-venv")


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    @property
    def choreo_run(self) -> str:
        return str(self.root / "bin" / "choreo-run")

    @property
    def dotenv(self) -> str:
        return str(self.root / "bin" / "dotenv")

    def site_packages(self) -> Path:
        return next((self.root / "lib").glob("python3*/site-packages"))


def export_commit(repo: Path, commit: str, target: Path) -> None:
    """`git archive` of `commit`: what is committed, never the working tree's edits in progress."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def build(repo: Path, commit: str, python: str, root: Path = DEFAULT_VENV) -> Venv:
    """A fresh venv at `root` with the package installed (not editable) from `commit` of `repo`."""
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(root)], check=True)
    venv = Venv(root)
    with tempfile.TemporaryDirectory(prefix="choreo-bench-src-") as source:
        export_commit(repo, commit, Path(source))
        subprocess.run(
            [venv.python, "-m", "pip", "install", "-q", source, "python-dotenv[cli]"],
            check=True,
            stderr=subprocess.DEVNULL,
        )
    compile_site_packages(venv)
    return venv


def compile_site_packages(venv: Venv) -> int:
    """Write .pyc files (PYTHONDONTWRITEBYTECODE=1 would stop imports from doing it); returns how
    many .py files still lack one (0 expected)."""
    site = venv.site_packages()
    subprocess.run([venv.python, "-m", "compileall", "-q", "-j", "0", str(site)], stdout=subprocess.DEVNULL)
    return missing_bytecode(site)


def missing_bytecode(site: Path) -> int:
    return sum(
        1
        for source in site.rglob("*.py")
        if not list((source.parent / "__pycache__").glob(f"{source.stem}.cpython-*.pyc"))
    )


def is_editable(venv: Venv) -> bool:
    """True when the package is an editable install (a .pth or finder pointing at a checkout)."""
    site = venv.site_packages()
    return not (site / "launcher" / "__init__.py").is_file() or any(site.glob("__editable__*"))
