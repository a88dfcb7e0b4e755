"""The self-contained choreo-run (bundle/build, docs/bundle.md), run where no Python exists.

The bundle is built once per run (tests/support/bare_root.py caches it by the sources' hash) and run
inside a bare root filesystem: a static busybox, the C library and loader, the bundle, the example
component. Exec mode, supervise mode as PID 1 (in-process, and the lean supervisor's re-exec), signals, zombies,
`--watch` with its credential re-exec, every backend and the read-only commands all run from it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from launcher.entry import FROZEN_SUPERVISOR
from support.bare_root import (
    BINARY_IN_ROOT,
    GLIBC,
    build_bundle,
    in_root,
    make_root,
    missing_tools,
    root_environment,
    static_busybox,
)
from support.etcd_cluster import unique_prefix
from support.http_fixtures import TOKEN, contract
from support.process import EXAMPLE, run_launcher

MISSING = missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

IDENTITY = ["-C", "/app", "-p", "bookstore", "-c", "orders-service"]
TIMEOUT = 60


@pytest.fixture(scope="session")
def bundle() -> Path:
    return build_bundle()


@pytest.fixture(scope="session")
def root(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    busybox = static_busybox()
    assert busybox is not None
    return make_root(tmp_path_factory.mktemp("bare-root") / "root", bundle, busybox)


def run_in_root(
    root: Path, args: list[str], *, pid1: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        in_root(root, [BINARY_IN_ROOT, *args], pid1=pid1),
        env=root_environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def expected_environment() -> dict[str, str]:
    """What the installed launcher injects for the example (the reference the bundle must match)."""
    result = run_launcher(
        ["-C", str(EXAMPLE), "-p", "bookstore", "-c", "orders-service", "export", "--format", "json", "--reveal"]
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def parse_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


# ---------------------------------------------------------------- the root itself


def test_the_root_holds_no_python_and_nothing_but_glibc_besides_busybox(root: Path) -> None:
    assert not (root / "usr").exists()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        assert not path.name.startswith("python") or relative.parts[:2] == ("opt", "choreo-run"), relative
        if relative.parts[0] in ("lib", "lib64"):
            assert path.is_dir() or GLIBC.match(path.name), f"{relative}: the bundle should carry it"
    probe = subprocess.run(
        in_root(root, ["/bin/sh", "-c", "command -v python3 python || echo none"]),
        env=root_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert probe.stdout.strip() == "none", probe


# ---------------------------------------------------------------- exec mode


def test_exec_mode_injects_the_examples_connections(root: Path) -> None:
    process = subprocess.Popen(
        in_root(
            root,
            [BINARY_IN_ROOT, *IDENTITY, "--mount-root", "/tmp/exec", "--", "/bin/sh", "-c", "echo pid=$$; env"],
        ),
        env=root_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert out.splitlines()[0] == f"pid={process.pid}"  # exec: the service took the launcher's process
    seen = parse_env("\n".join(out.splitlines()[1:]))
    expected = expected_environment()
    assert expected and {name: seen.get(name) for name in expected} == expected
    assert not [name for name in seen if name.startswith("CHOREO_RUN_")]
    assert_nothing_of_the_bundles_own(seen, expected)
    assert (root / "tmp/exec/app/config/settings.json").is_file()


def assert_nothing_of_the_bundles_own(seen: dict[str, str], expected: dict[str, str]) -> None:
    """The bootloader's LD_LIBRARY_PATH (the bundle's libraries) and _PYI_* markers stay out."""
    extra = set(seen) - set(expected) - set(root_environment()) - {"PWD", "SHLVL", "_", "CHOREO_MOUNT_ROOT"}
    assert not extra, extra


def test_read_only_commands_from_the_bundle(root: Path) -> None:
    plan = run_in_root(root, [*IDENTITY, "plan"])
    assert plan.returncode == 0, plan.stderr
    assert "CHOREO_ORDERS_DB_HOSTNAME" in plan.stdout and "********" in plan.stdout
    check = run_in_root(root, [*IDENTITY, "check"])
    assert check.returncode == 0, check.stderr
    export = run_in_root(root, [*IDENTITY, "export", "--format", "json", "--reveal"])
    assert export.returncode == 0, export.stderr
    assert json.loads(export.stdout) == expected_environment()
    listed = run_in_root(root, ["connection", "list", "--store", "/app/connections.yaml"])
    assert listed.returncode == 0, listed.stderr
    assert "orders-db" in listed.stdout
    assert run_in_root(root, ["--version"]).stdout.startswith("choreo-run, version")


# ---------------------------------------------------------------- PID 1


@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 0", 0), ("exit 7", 7), ("kill -TERM $$", 143), ("kill -KILL $$", 137)],
)
def test_pid1_exit_codes_pass_through(root: Path, script: str, code: int) -> None:
    result = run_in_root(root, [*IDENTITY, "--mount-root", "/tmp/codes", "--", "/bin/sh", "-c", script], pid1=True)
    assert result.returncode == code, result.stderr


@pytest.mark.parametrize("credential", [False, True])
def test_pid1_supervises_in_process_or_through_the_bundles_hidden_mode(root: Path, credential: bool) -> None:
    """Holding no credential of its own, PID 1 supervises from its own process; holding one (a token
    here), it re-executes into the lean supervisor through the bundle's hidden entry mode."""
    script = 'echo "pid=$$"; tr "\\0" " " < /proc/1/cmdline; echo; env'
    result = run_in_root(
        root,
        [*IDENTITY, "--mount-root", "/tmp/lean", "--", "/bin/sh", "-c", script],
        pid1=True,
        env={"CHOREO_RUN_TOKEN": "bundle-token-not-used"} if credential else None,
    )
    assert result.returncode == 0, result.stderr
    pid, cmdline = result.stdout.splitlines()[:2]
    assert pid == "pid=2"  # the service is the supervisor's child
    expected_command = f"{BINARY_IN_ROOT} {FROZEN_SUPERVISOR} " if credential else f"{BINARY_IN_ROOT} {IDENTITY[0]} "
    assert cmdline.startswith(expected_command)
    seen, expected = parse_env("\n".join(result.stdout.splitlines()[2:])), expected_environment()
    assert {name: seen.get(name) for name in expected} == expected
    assert_nothing_of_the_bundles_own(seen, expected)
    assert "bundle-token-not-used" not in result.stdout


def test_the_services_python_variables_do_not_reach_the_bundled_interpreter(root: Path) -> None:
    """As `python -I` for the installed launcher: PYTHON* (meant for the service) change nothing."""
    meant_for_the_service = {"PYTHONVERBOSE": "1", "PYTHONPATH": "/nowhere", "PYTHONHOME": "/nowhere"}
    script = 'echo "$PYTHONVERBOSE $PYTHONHOME"'
    result = run_in_root(
        root,
        [*IDENTITY, "--mount-root", "/tmp/isolated", "--", "/bin/sh", "-c", script],
        pid1=True,
        env=meant_for_the_service,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1 /nowhere\n"  # the service has them
    assert "import" not in result.stderr  # neither the launcher nor the supervisor was verbose


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; killed (the whole namespace goes with its PID 1) if still running."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
        process.wait(timeout=TIMEOUT)


def start_in_root(root: Path, args: list[str], started: list, *, pid1: bool, env: dict[str, str] | None = None):
    process = subprocess.Popen(
        in_root(root, [BINARY_IN_ROOT, *args], pid1=pid1),
        env=root_environment(**(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    return process


def read_line(process: subprocess.Popen[str], expected: str, timeout: float = 30) -> str:
    """The service's next stdout line, which must start with `expected`."""
    import select

    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output within {timeout} s (waiting for {expected!r})"
    line = process.stdout.readline().rstrip("\n")
    assert line.startswith(expected), (
        line,
        process.poll(),
        process.stderr.read() if process.poll() is not None else "",
    )
    return line


def launcher_pid(process: subprocess.Popen[str]) -> int:
    """The host PID of the namespace's PID 1: unshare --fork's child, which became the launcher."""
    (child,) = psutil.Process(process.pid).children()
    return child.pid


def test_a_signal_reaches_the_service_through_pid1(root: Path, started: list) -> None:
    script = "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done"
    process = start_in_root(
        root, [*IDENTITY, "--mount-root", "/tmp/signal", "--", "/bin/sh", "-c", script], started, pid1=True
    )
    read_line(process, "ready")
    pid = launcher_pid(process)
    os.kill(pid, signal.SIGUSR1)
    read_line(process, "got USR1")
    os.kill(pid, signal.SIGTERM)
    read_line(process, "got TERM")
    assert process.wait(timeout=TIMEOUT) == 3


def test_orphaned_zombies_are_reaped_by_pid1(root: Path) -> None:
    # Each orphan is re-parented to PID 1 (the launcher) and exits after 0.6 s: a zombie unless reaped.
    script = (
        "for i in 1 2 3 4 5; do (sleep 0.6 & echo $! >> /tmp/orphans); done; "
        "for o in $(cat /tmp/orphans); do echo \"parent $(cut -d' ' -f4 /proc/$o/stat)\"; done; "
        "sleep 2; for o in $(cat /tmp/orphans); do [ -e /proc/$o ] && echo \"left $o $(cut -d' ' -f3 /proc/$o/stat)\"; done; "
        "echo done"
    )
    result = run_in_root(root, [*IDENTITY, "--mount-root", "/tmp/zombies", "--", "/bin/sh", "-c", script], pid1=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("parent 1") == 5, lines  # orphans really were PID 1's
    assert lines[5:] == ["done"], lines  # and none is left, zombie or not


# ---------------------------------------------------------------- --watch


def test_watch_restarts_from_the_bundle_and_keeps_its_secret_out_of_environ(root: Path, started: list) -> None:
    """--watch re-executes the launcher (launcher/credentials.py) to keep CHOREO_RUN_* secrets out of
    its environment block: from the bundle too. Then an edit of the store restarts the service."""
    secret = "cache-key-for-the-bundle-4d1e"
    script = (
        'echo "start $CHOREO_ORDERS_DB_HOSTNAME"; '
        'echo "parent $(readlink /proc/$PPID/exe) $(tr "\\0" "\\n" < /proc/$PPID/environ | grep -c CHOREO_RUN_CACHE_KEY)"; '
        "exec sleep 60"
    )
    component = root / "watched"
    shutil.copytree(root / "app", component)
    process = start_in_root(
        root,
        [
            "-C",
            "/watched",
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--mount-root",
            "/tmp/watch",
            "--watch",
            "--watch-interval",
            "0.1",
            "--",
            "/bin/sh",
            "-c",
            script,
        ],
        started,
        pid1=True,
        env={"CHOREO_RUN_CACHE_KEY": secret},
    )
    assert read_line(process, "start ") == "start localhost"
    assert read_line(process, "parent ") == f"parent {BINARY_IN_ROOT} 0"
    store = component / "connections.yaml"
    store.write_text(store.read_text().replace("development: localhost", "development: db.internal", 1))
    assert read_line(process, "start ") == "start db.internal"
    os.kill(launcher_pid(process), signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT) == 143


# ---------------------------------------------------------------- backends


def test_http_backend_and_the_encrypted_cache_from_the_bundle(root: Path, tmp_path: Path) -> None:
    """httpx (http) and cryptography (the last-known-good cache, --cache) from the bare root."""
    settings = {"CHOREO_RUN_TOKEN": TOKEN, "CHOREO_RUN_CACHE_KEY": "bundle-cache-key-0123456789abcdef"}
    with contract(tmp_path, str(EXAMPLE / "connections.yaml")) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        export = [*IDENTITY, "--backend", url, "--cache", "--deadline", "2", "export", "--format", "json", "--reveal"]
        result = run_in_root(root, export, env=settings)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected_environment()
    cached = run_in_root(root, export, env=settings)  # the server is gone: the cache answers
    assert cached.returncode == 0, cached.stderr
    assert "last-known-good" in cached.stderr and json.loads(cached.stdout) == expected_environment()


def test_etcd_backend_from_the_bundle(root: Path, etcd_single) -> None:
    member = etcd_single.members[0]
    url = f"etcd://127.0.0.1:{member.client_port}/{unique_prefix()}"
    no_auth = {"CHOREO_RUN_ETCD_ALLOW_NO_AUTH": "1"}  # etcd_single runs without authentication
    push = run_in_root(root, ["store", "push", "--store", "/app/connections.yaml", url], env=no_auth)
    assert push.returncode == 0, push.stderr
    result = run_in_root(
        root,
        [*IDENTITY, "--backend", url, "export", "--format", "json", "--reveal"],
        env=no_auth,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected_environment()


def test_servicebinding_backend_from_the_bundle(root: Path) -> None:
    binding = root / "bindings" / "orders-db"
    binding.mkdir(parents=True, exist_ok=True)
    for name, value in {
        "type": "postgresql",
        "host": "db.cluster.local",
        "port": "5432",
        "username": "orders",
        "password": "binding-secret",
        "database": "orders",
    }.items():
        (binding / name).write_text(value + "\n")
    result = run_in_root(
        root,
        [
            *IDENTITY,
            "--backend",
            "/app/connections.yaml",
            "--backend",
            "servicebinding:///bindings",
            "export",
            "--format",
            "json",
            "--reveal",
        ],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["CHOREO_ORDERS_DB_HOSTNAME"] == "db.cluster.local"


# ---------------------------------------------------------------- the examples in other languages


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (.ci/run installs nodejs)")
def test_the_node_example_runs_under_the_bundle(bundle: Path, tmp_path: Path) -> None:
    """examples/node-service as its image runs it (the bundle as PID 1, supervising), on this host's node."""
    example = EXAMPLE.parent / "node-service"
    result = subprocess.run(
        [
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            str(bundle / "choreo-run"),
            "-C",
            str(example),
            "--",
            shutil.which("node") or "node",
            str(example / "app.js"),
            "--once",
        ],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "XDG_CACHE_HOME": str(tmp_path),
            "CHOREO_RUN_PROJECT": "bookstore",
            "CHOREO_RUN_COMPONENT": "storefront",
            "CHOREO_RUN_ENV": "production",
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "CHOREO_SESSIONS_DB_HOSTNAME=sessions-db.internal" in result.stdout.splitlines()
    assert "CHOREO_SESSIONS_DB_PASSWORD: 27 characters" in result.stdout.splitlines()
