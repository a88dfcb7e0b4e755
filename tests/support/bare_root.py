"""The self-contained bundle (bundle/build), built once, and a bare root filesystem to run it in.

The root holds a static busybox (its applets linked in /bin), the C library and loader the bundle
links against (what `ldd` lists for its ELF files and the bundle does not carry itself), the bundle
in /opt/choreo-run and the example component in /app: no Python, no /usr. The tests run it with
`chroot`, under `unshare --pid --fork --mount-proc` when the launcher must be PID 1.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support.process import EXAMPLE, REPO

BUILD = REPO / "bundle" / "build"
# What the bundle is made from: a change to any of these builds it again.
SOURCES = ("launcher", "bundle", "pyproject.toml")
CACHE_PREFIX = "choreo-run-bundle-"
BUNDLE_IN_ROOT = "/opt/choreo-run"
BINARY_IN_ROOT = f"{BUNDLE_IN_ROOT}/choreo-run"
# The C library's own files: what an image must provide, and all the root may hold besides busybox.
GLIBC = re.compile(r"^(ld-linux[-\w.]*\.so\.\d+|lib(c|m|dl|pthread|rt|util|resolv|anl)\.so\.\d+)$")
BUILD_TIMEOUT = 600


def source_hash() -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.executable}\0{sys.version}\0".encode())
    for top in SOURCES:
        base = REPO / top
        paths = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_bundle() -> Path:
    """DIR/choreo-run: built by bundle/build with this interpreter, or reused from an earlier run
    of the same sources (a directory under the temporary directory, keyed by their hash)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.skip("PyInstaller is not installed: pip install -e '.[bundle]' (.ci/run does)")
    if shutil.which("objdump") is None:
        pytest.skip("PyInstaller needs objdump: apt-get install binutils (.ci/run does)")
    cache = Path(tempfile.gettempdir()) / f"{CACHE_PREFIX}{source_hash()}"
    bundle = cache / "choreo-run"
    if (bundle / "choreo-run").is_file():
        os.utime(cache)  # recently used: kept by _forget_old_builds
        return bundle
    _forget_old_builds()
    scratch = Path(tempfile.mkdtemp(prefix=f"{CACHE_PREFIX}build-"))
    try:
        completed = subprocess.run(
            [str(BUILD), "--dist", str(scratch / "dist"), "--work", str(scratch / "work"), "--python", sys.executable],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
        )
        if completed.returncode != 0:
            pytest.fail(f"bundle/build failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
        try:
            os.rename(scratch / "dist", cache)  # whole, or not at all
        except OSError:
            if not (bundle / "choreo-run").is_file():  # not another run's identical build
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return bundle


def _forget_old_builds(keep: int = 3) -> None:
    """Only the few most recently used builds stay (each is ~45 MB, and every edit of launcher/ makes
    a new one); a run in progress uses one of those. Abandoned scratch directories go too."""
    now = time.time()
    builds, scratch = [], []
    for path in Path(tempfile.gettempdir()).glob(f"{CACHE_PREFIX}*"):
        try:
            (scratch if path.name.startswith(f"{CACHE_PREFIX}build-") else builds).append((path.stat().st_mtime, path))
        except OSError:
            pass
    stale = sorted(builds, reverse=True)[keep:] + [
        (mtime, path) for mtime, path in scratch if now - mtime > 2 * BUILD_TIMEOUT
    ]
    for _, path in stale:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- the root


def static_busybox() -> str | None:
    """A busybox that needs no C library (Debian's busybox-static), or None."""
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and os.path.isfile(candidate) and not _interpreter_of(candidate):
            return candidate
    return None


def _interpreter_of(path: str) -> bool:
    """Whether an executable needs a dynamic loader (ldd refuses a static one: "not a dynamic executable")."""
    return subprocess.run(["ldd", path], capture_output=True).returncode == 0


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def libraries_needed(bundle: Path) -> set[str]:
    """Absolute paths of what the bundle's ELF files link against and the bundle does not carry."""
    carried = {path.name for path in bundle.rglob("*")}
    needed: set[str] = set()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not is_elf(path):
            continue
        listing = subprocess.run(["ldd", str(path)], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            match = re.match(r"\s*(\S+)(?: => (\S+))? \(0x", line)
            if not match:
                continue
            name, found = match.group(1), match.group(2) or match.group(1)
            if found.startswith("/") and Path(name).name not in carried:
                needed.add(found)
    return needed


def make_root(root: Path, bundle: Path, busybox: str) -> Path:
    (root / "bin").mkdir(parents=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    shutil.copytree(bundle, root / BUNDLE_IN_ROOT.lstrip("/"), symlinks=True)
    for library in libraries_needed(bundle):
        target = root / library.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library, target)  # the file itself, not the host's symlink
    shutil.copytree(EXAMPLE, root / "app")
    for directory in ("proc", "tmp", "root", "dev"):
        (root / directory).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    # Every container has /dev/null (a shell starts background jobs with it as standard input).
    os.mknod(root / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (root / "dev" / "null").chmod(0o666)
    return root


def root_environment(**extra: str) -> dict[str, str]:
    """A container's environment: nothing from the test process."""
    return {"PATH": "/bin", "HOME": "/root", "XDG_CACHE_HOME": "/tmp/cache", **extra}


def in_root(root: Path, argv: list[str], *, pid1: bool = False) -> list[str]:
    """The command line that runs argv inside root: a new mount namespace with its own /proc (the
    bundle's loader resolves $ORIGIN through /proc/self/exe, as it would in any container), and with
    pid1 a new PID namespace whose PID 1 is argv[0]."""
    namespaces = ["--pid", "--fork"] if pid1 else ["--mount"]
    return [
        "unshare",
        *namespaces,
        f"--mount-proc={root / 'proc'}",
        shutil.which("chroot") or "chroot",
        str(root),
        *argv,
    ]


def missing_tools() -> str | None:
    """Why the bare-root tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "chroot and unshare need root"
    for tool in ("chroot", "unshare", "ldd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if static_busybox() is None:
        return "no static busybox (Debian: apt-get install busybox-static; .ci/run does)"
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare --pid --fork --mount-proc does not work here: {probe.stderr.decode().strip()}"
    return None
