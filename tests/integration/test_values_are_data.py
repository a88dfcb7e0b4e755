"""Values are data in every written file (docs/security.md, section 2), end to end with real processes.

A store writer puts command substitutions, backquotes, `$VAR`, `${VAR}`, quotes and backslashes in
a value. Nothing of it may run, and every reader must get the value back exactly: a service that
sources the `--reload-signal` env file (dash and bash) or reads it with python-dotenv, and a shell
that runs `eval "$(choreo-run export --format shell --reveal)"`. (tests/unit/test_written_files.py
property-tests the formats themselves, for any text.)
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from dotenv import dotenv_values

from support.process import EXAMPLE, clean_environment, run_launcher

LAUNCHER = [sys.executable, "-m", "launcher"]
IDENTITY = ["-p", "bookstore", "-c", "orders-service"]


def hostile(tmp_path: Path, tag: str) -> str:
    """A value that runs commands if any reader treats it as code: each would create a file in tmp_path."""
    return (
        f"$(touch {tmp_path}/pwned-{tag}-dollar) `touch {tmp_path}/pwned-{tag}-backquote` "
        f'$HOME ${{HOME}} ${{HOME:-x}} it\'s "quoted" \\ back\\\\slash\\ #not-a-comment = end'
    )


def assert_nothing_ran(tmp_path: Path) -> None:
    assert not list(tmp_path.glob("pwned-*"))


def store_with(directory: Path, **values: str) -> None:
    """Replace development values in the example's store (a JSON string is a YAML double-quoted scalar)."""
    store = directory / "connections.yaml"
    text = store.read_text()
    for old, new in values.items():
        old_text = {"host": "development: localhost,", "password": "development: dev-db-password-3b8f,"}[old]
        assert old_text in text
        text = text.replace(old_text, f"development: {json.dumps(new)},", 1)
    store.write_text(text)


def copy_example(tmp_path: Path) -> Path:
    directory = tmp_path / "orders-service"
    shutil.copytree(EXAMPLE, directory)
    return directory


# The service: on SIGHUP it sources the reload env file with dash and with bash and writes what it
# read (each value NUL-terminated), as a service reloading itself would.
SERVICE = r"""
echo start >> "$LOG"
reload() {
    ( . "$CHOREO_RELOAD_ENV_FILE"; printf '%s\0' "$CHOREO_ORDERS_DB_HOSTNAME" "$DATABASE_PASSWORD" ) > "$OUT.sh"
    bash -c 'source "$CHOREO_RELOAD_ENV_FILE"; printf "%s\0" "$CHOREO_ORDERS_DB_HOSTNAME" "$DATABASE_PASSWORD"' \
        > "$OUT.bash"
    echo reload >> "$LOG"
}
trap reload HUP
trap 'exit 0' TERM
while true; do sleep 0.05; done
"""


def wait_for_lines(log: Path, count: int, process: subprocess.Popen, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(lines := log.read_text().splitlines()) < count:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    return lines


def test_a_hostile_value_in_the_reload_env_file_is_read_back_and_never_runs(tmp_path: Path) -> None:
    directory = copy_example(tmp_path)
    (tmp_path / "service.sh").write_text(SERVICE)
    log, out = tmp_path / "service.log", tmp_path / "read"
    log.touch()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    env_file = private / "reload.env"
    tag = uuid.uuid4().hex[:8]
    host, password = hostile(tmp_path, f"{tag}-host"), hostile(tmp_path, f"{tag}-password") + "\n2nd line\r\n"
    process = subprocess.Popen(
        [
            *LAUNCHER,
            "-C",
            str(directory),
            *IDENTITY,
            "--mount-root",
            str(tmp_path / "m"),
            "--watch",
            "--watch-interval",
            "0.1",
            "--reload-signal",
            "HUP",
            "--reload-env-file",
            str(env_file),
            "--",
            "sh",
            str(tmp_path / "service.sh"),
        ],
        env=clean_environment({"LOG": str(log), "OUT": str(out)}),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_lines(log, 1, process)
        store_with(directory, host=host, password=password)
        assert wait_for_lines(log, 2, process) == ["start", "reload"]
        for shell in ("sh", "bash"):
            assert Path(f"{out}.{shell}").read_bytes().decode().split("\0")[:-1] == [host, password], shell
        read = dotenv_values(env_file)
        assert (read["CHOREO_ORDERS_DB_HOSTNAME"], read["DATABASE_PASSWORD"]) == (host, password)
        assert_nothing_ran(tmp_path)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert_nothing_ran(tmp_path)


def test_eval_of_export_shell_reads_hostile_values_back_and_runs_nothing(tmp_path: Path) -> None:
    directory = copy_example(tmp_path)
    tag = uuid.uuid4().hex[:8]
    host, password = hostile(tmp_path, f"{tag}-host"), hostile(tmp_path, f"{tag}-password")
    store_with(directory, host=host, password=password)
    export = " ".join([*LAUNCHER, "-C", str(directory), *IDENTITY, "export", "--format", "shell", "--reveal"])
    for shell in ("sh", "bash"):
        completed = subprocess.run(
            [shell, "-c", f'eval "$({export})"; printf "%s\\0" "$CHOREO_ORDERS_DB_HOSTNAME" "$DATABASE_PASSWORD"'],
            env=clean_environment(),
            capture_output=True,
            timeout=60,
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.decode().split("\0")[:-1] == [host, password], shell
    assert_nothing_ran(tmp_path)


def test_export_dotenv_and_json_read_hostile_values_back_in_every_reader(tmp_path: Path) -> None:
    directory = copy_example(tmp_path)
    tag = uuid.uuid4().hex[:8]
    host, password = hostile(tmp_path, f"{tag}-host"), hostile(tmp_path, f"{tag}-password") + " \r\n\u2028\u0085\té "
    store_with(directory, host=host, password=password)
    written = tmp_path / "exported.env"
    base = ["-C", str(directory), *IDENTITY, "export", "--reveal"]
    assert run_launcher([*base, "-o", str(written)]).returncode == 0
    for shell in ("sh", "bash"):
        completed = subprocess.run(
            [shell, "-c", '. "$1"; printf "%s\\0" "$CHOREO_ORDERS_DB_HOSTNAME" "$DATABASE_PASSWORD"', shell, written],
            capture_output=True,
            timeout=30,
        )
        assert completed.stdout.decode().split("\0")[:-1] == [host, password], shell
    read = dotenv_values(written)
    assert (read["CHOREO_ORDERS_DB_HOSTNAME"], read["DATABASE_PASSWORD"]) == (host, password)
    document = json.loads(run_launcher([*base, "--format", "json"]).stdout)
    assert (document["CHOREO_ORDERS_DB_HOSTNAME"], document["DATABASE_PASSWORD"]) == (host, password)
    assert_nothing_ran(tmp_path)
