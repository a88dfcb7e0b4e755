"""docs/security.md, class C: the launcher's credentials never reach the service, in any mode.

The service runs as the same user as the launcher, so it can read its parent's initial environment
block through /proc/$PPID/environ. These tests let a real service do exactly that.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.http_fixtures import TOKEN, contract
from support.process import DUMP_ENV, EXAMPLE, clean_environment, example_launch, run_launcher

SECRETS = {
    "CHOREO_RUN_TOKEN": "launcher-token-5e1f",
    "CHOREO_RUN_ETCD_PASSWORD": "etcd-password-77ab",
    "CHOREO_RUN_CACHE_KEY": "cache-key-0c3d",
}
# Prints the parent's environment block (NUL-separated) and its pid, then exits.
READ_PARENT = 'echo "parent $PPID"; tr "\\0" "\\n" < /proc/$PPID/environ; echo "own"; env'


@pytest.fixture
def component(tmp_path: Path) -> Path:
    copy = tmp_path / "orders-service"
    shutil.copytree(EXAMPLE, copy)
    return copy


def run_reading_parent(
    component: Path, tmp_path: Path, *mode: str, backend: list[str] = (), secrets: dict[str, str] = SECRETS
) -> tuple[int, str, str]:
    process = subprocess.Popen(
        example_launch(component, tmp_path / "m", *backend, *mode, command=["sh", "-c", READ_PARENT]),
        env=clean_environment(secrets),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    parent_line, _, rest = out.partition("\n")
    assert parent_line == f"parent {process.pid}"  # the service's parent is the launcher's own process
    return process.pid, rest, err


def assert_no_secret(text: str, secrets: dict[str, str] = SECRETS) -> None:
    for name, value in secrets.items():
        assert value not in text, name
        assert f"{name}=" not in text, name


def test_the_lean_supervisor_holds_no_launcher_secret(component: Path, tmp_path: Path) -> None:
    _, seen, _ = run_reading_parent(component, tmp_path, "--supervise")
    parent_block = seen.partition("own\n")[0]
    assert "CHOREO_ORDERS_DB_HOSTNAME=localhost" in parent_block  # it really is the supervisor's block
    assert_no_secret(seen)


def test_the_watching_launcher_holds_no_secret_in_its_environment_block(component: Path, tmp_path: Path) -> None:
    _, seen, err = run_reading_parent(component, tmp_path, "--watch", "--watch-interval", "0.1")
    parent_block = seen.partition("own\n")[0]
    assert "XDG_CACHE_HOME=" in parent_block and "CHOREO_RUN_HANDOVER_FD" not in seen.partition("own\n")[2]
    assert_no_secret(seen)
    assert "Traceback" not in err


def test_the_watching_launcher_still_uses_its_token(component: Path, tmp_path: Path) -> None:
    """The token is handed over to the re-executed launcher: resolution against an HTTP backend that
    requires it succeeds, and the token is in neither the launcher's block nor the service's env."""
    store = tmp_path / "served.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    with contract(tmp_path, str(store)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        _, seen, _ = run_reading_parent(
            component,
            tmp_path,
            "--watch",
            "--watch-interval",
            "0.1",
            backend=["--backend", url],
            secrets={"CHOREO_RUN_TOKEN": TOKEN},
        )
    assert "CHOREO_ORDERS_DB_HOSTNAME=localhost" in seen
    assert_no_secret(seen, {"CHOREO_RUN_TOKEN": TOKEN})


def watch_against_token_server(component: Path, tmp_path: Path, secrets: dict[str, str]) -> str:
    """--watch against an HTTP backend that requires TOKEN; what the service saw of its parent and itself."""
    store = tmp_path / "served.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    with contract(tmp_path, str(store)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        _, seen, _ = run_reading_parent(
            component, tmp_path, "--watch", "--watch-interval", "0.1", backend=["--backend", url], secrets=secrets
        )
    assert "CHOREO_ORDERS_DB_HOSTNAME=localhost" in seen  # resolved: the token reached the backend
    return seen


def test_a_watching_launcher_given_only_a_token_file_does_not_re_execute(component: Path, tmp_path: Path) -> None:
    """A _FILE setting's value is a path, not the secret: nothing to hand over, no interpreter start."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    seen = watch_against_token_server(component, tmp_path, {"CHOREO_RUN_TOKEN_FILE": str(token_file)})
    parent_block = seen.partition("own\n")[0]
    assert f"CHOREO_RUN_TOKEN_FILE={token_file}" in parent_block  # its first block: no re-exec
    assert "CHOREO_RUN_HANDOVER_FD" not in parent_block
    assert TOKEN not in seen


def test_a_handover_keeps_the_token_file_setting_beside_the_secrets_it_moves(component: Path, tmp_path: Path) -> None:
    """The cache key (a secret in the block) is handed over; the token file's path stays in the block,
    so the re-executed launcher still reads its token."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    key = SECRETS["CHOREO_RUN_CACHE_KEY"]
    seen = watch_against_token_server(
        component, tmp_path, {"CHOREO_RUN_CACHE_KEY": key, "CHOREO_RUN_TOKEN_FILE": str(token_file)}
    )
    parent_block = seen.partition("own\n")[0]
    assert "CHOREO_RUN_HANDOVER_FD" in parent_block  # the block after the re-exec
    assert f"CHOREO_RUN_TOKEN_FILE={token_file}" in parent_block
    assert_no_secret(seen, {"CHOREO_RUN_CACHE_KEY": key, "CHOREO_RUN_TOKEN": TOKEN})


def test_an_env_file_cannot_copy_the_launchers_secrets(component: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "overlay.env"
    env_file.write_text(
        textwrap.dedent("""\
        LEAKED=${CHOREO_RUN_TOKEN}
        ALSO_LEAKED="prefix-${CHOREO_RUN_ETCD_PASSWORD}"
        FROM_HOME=${HOME}/data
        FROM_ABOVE=${FROM_HOME}/more
    """)
    )
    result = run_launcher(
        ["-C", str(component), "--mount-root", str(tmp_path / "m"), "--env-file", str(env_file), "--", *DUMP_ENV],
        env={**SECRETS, "HOME": "/home/someone"},
    )
    env = result.env()
    assert env["LEAKED"] == "" and env["ALSO_LEAKED"] == "prefix-"
    assert env["FROM_HOME"] == "/home/someone/data" and env["FROM_ABOVE"] == "/home/someone/data/more"
    assert_no_secret(result.stdout)


RUN_CONNECTION = """
      - id: 01ef0000-0000-1000-8000-000000000001
        name: run
        type: service
        visibility: project
        parameters:
          BACKEND: {value: http://attacker.example}
          TOKEN: {value: planted}
"""


def _with_run_connection(component: Path) -> None:
    store = component / "connections.yaml"
    text = store.read_text()
    store.write_text(text.replace("    connections:\n", "    connections:" + RUN_CONNECTION, 1))
    manifest = component / ".choreo" / "component.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  connectionReferences:\n",
            "  connectionReferences:\n    - name: run\n      resourceRef: thirdparty:run/v1\n",
            1,
        )
    )


def test_a_connection_named_run_never_sets_launcher_settings_for_the_service(component: Path, tmp_path: Path) -> None:
    _with_run_connection(component)
    result = run_launcher(["-C", str(component), "--mount-root", str(tmp_path / "m"), "--", *DUMP_ENV])
    assert "Traceback" not in result.stderr
    assert result.returncode == 67, result.stderr  # refused at resolution (and never passed on anyway)
    assert "http://attacker.example" not in result.stdout


def test_a_connection_named_run_is_refused_at_resolution(component: Path, tmp_path: Path) -> None:
    _with_run_connection(component)
    result = run_launcher(["-C", str(component), "--mount-root", str(tmp_path / "m"), "--", *DUMP_ENV])
    assert result.returncode == 67, result.stderr
    assert "CHOREO_RUN_BACKEND is reserved" in result.stderr and "Traceback" not in result.stderr


LIST_DESCRIPTORS = (
    "import json, os; targets = lambda pid: {fd: os.readlink(f'/proc/{pid}/fd/{fd}') "
    "for fd in os.listdir(f'/proc/{pid}/fd') if os.path.exists(f'/proc/{pid}/fd/{fd}')}; "
    "print(json.dumps([targets(os.getppid()), targets(os.getpid())]))"
)


def test_the_handover_pipe_is_closed_before_the_service_starts(component: Path, tmp_path: Path) -> None:
    """The pipe that carried the secrets is read and closed: neither the launcher nor the service
    keeps a descriptor of it (their only pipes are the service's stdout and stderr)."""
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "launcher",
            "-C",
            str(component),
            "--mount-root",
            str(tmp_path / "m"),
            "--watch",
            "--",
            sys.executable,
            "-c",
            LIST_DESCRIPTORS,
        ],
        env=clean_environment(SECRETS),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    launcher, service = json.loads(process.stdout.strip().splitlines()[-1])
    stdio = {service["1"], service["2"]}
    assert {target for target in launcher.values() if target.startswith("pipe:")} <= stdio, launcher
    assert {target for target in service.values() if target.startswith("pipe:")} <= stdio, service


def test_an_env_file_cannot_set_launcher_settings(tmp_path: Path) -> None:
    env_file = tmp_path / "overlay.env"
    env_file.write_text("CHOREO_RUN_BACKEND=http://attacker.example\n")
    result = run_launcher(
        ["-C", str(EXAMPLE), "--mount-root", str(tmp_path / "m"), "--env-file", str(env_file), "--", *DUMP_ENV]
    )
    assert result.returncode == 78, result.stderr
    assert "CHOREO_RUN_BACKEND is reserved" in result.stderr and "Traceback" not in result.stderr
