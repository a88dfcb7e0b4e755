"""The start-up fast path: a repeated launch replays the recorded one, and any change falls back.

Each test uses its own cache home, so records never leak between tests. The proof that the fast path
ran is that it works with click made unimportable: the full path could not have.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from support.process import DUMP_ENV, EXAMPLE, fast_path_only, run_launcher, write


@pytest.fixture
def example(tmp_path: Path) -> dict[str, object]:
    component = tmp_path / "orders-service"
    shutil.copytree(EXAMPLE, component)
    return {
        "dir": component,
        "cache": tmp_path / "cache",
        "mounts": tmp_path / "mounts",
        "no_click": fast_path_only(tmp_path / "no-full-path"),
    }


def launch(
    example: dict,
    *extra: str,
    fast_only: bool = False,
    env: dict[str, str] | None = None,
    command: list[str] = DUMP_ENV,
):
    environment = {"XDG_CACHE_HOME": str(example["cache"]), **(env or {})}
    if fast_only:
        environment["PYTHONPATH"] = example["no_click"]
    return run_launcher(
        ["-C", str(example["dir"]), "--mount-root", str(example["mounts"]), *extra, "--", *command], env=environment
    )


def records(example: dict) -> list[Path]:
    return sorted((Path(example["cache"]) / "choreo-run" / "plans").glob("*.plan"))


def test_a_repeated_launch_takes_the_fast_path_with_the_same_result(example: dict) -> None:
    first = launch(example).env()
    [record] = records(example)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
    second = launch(example, fast_only=True).env()
    second.pop("PYTHONPATH")
    assert second == first
    assert not [name for name in second if name.startswith("CHOREO_RUN_")]


def test_the_fast_path_rewrites_configuration_files(example: dict) -> None:
    launch(example).env()
    settings = Path(example["mounts"]) / "app" / "config" / "settings.json"
    settings.unlink()
    launch(example, fast_only=True).env()
    assert json.loads(settings.read_text())["currency"] == "EUR"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600


@pytest.mark.parametrize("change", ["edit-store", "chmod-store", "new-wso2-manifest", "edit-manifest"])
def test_any_change_to_an_input_falls_back_to_the_full_path(example: dict, change: str) -> None:
    launch(example).env()
    component = Path(example["dir"])
    if change == "edit-store":
        store = component / "connections.yaml"
        store.write_text(store.read_text().replace("development: localhost", "development: db.changed"))
    elif change == "chmod-store":
        (component / "connections.yaml").chmod(0o600)
    elif change == "new-wso2-manifest":
        shutil.copytree(component / ".choreo", component / ".wso2")
    else:
        manifest = component / ".choreo" / "component.yaml"
        manifest.write_text(manifest.read_text().replace("name: DATABASE_PASSWORD", "name: DB_PASS"))
    assert launch(example, fast_only=True).returncode != 0  # the full path was needed (and click is gone)
    environment = launch(example).env()
    if change == "edit-store":
        assert environment["CHOREO_ORDERS_DB_HOSTNAME"] == "db.changed"
    if change == "edit-manifest":
        assert "DB_PASS" in environment
    assert launch(example, fast_only=True).returncode == 0  # recorded again


def test_different_settings_are_different_records(example: dict) -> None:
    development = launch(example).env()
    production = launch(example, env={"CHOREO_RUN_ENV": "production"}).env()
    assert development["LOG_LEVEL"] == "debug" and production["LOG_LEVEL"] == "warning"
    assert len(records(example)) == 2
    again = launch(example, fast_only=True, env={"CHOREO_RUN_ENV": "production"}).env()
    assert again["LOG_LEVEL"] == "warning"


def test_no_override_is_applied_to_the_current_environment(example: dict) -> None:
    launch(example, "--no-override").env()
    kept = launch(example, "--no-override", fast_only=True, env={"LOG_LEVEL": "trace"}).env()
    assert kept["LOG_LEVEL"] == "trace"


def test_fast_path_off_and_untrusted_records(example: dict) -> None:
    launch(example, env={"CHOREO_RUN_FAST": "0"}).env()
    assert records(example) == []
    launch(example).env()
    [record] = records(example)
    record.chmod(0o644)  # a record others could have written is never loaded
    assert launch(example, fast_only=True).returncode != 0


def test_exec_failures_and_exit_codes_match_the_full_path(example: dict) -> None:
    full = launch(example, command=["no-such-command-xyz"])  # records: the whole argv is the key
    fast = launch(example, fast_only=True, command=["no-such-command-xyz"])
    assert (
        (fast.returncode, fast.stderr)
        == (full.returncode, full.stderr)
        == (127, "choreo-run: error: cannot run 'no-such-command-xyz': command not found\n")
    )
    assert launch(example, command=["sh", "-c", "exit 7"]).returncode == 7
    assert launch(example, fast_only=True, command=["sh", "-c", "exit 7"]).returncode == 7


def test_a_different_command_is_a_different_record(example: dict) -> None:
    launch(example).env()
    assert launch(example, fast_only=True, command=["sh", "-c", "exit 7"]).returncode != 7  # click is gone: failed


def test_supervise_and_debug_never_take_the_fast_path(example: dict) -> None:
    launch(example).env()
    assert launch(example, "--debug", fast_only=True).returncode != 0
    assert launch(example, "--supervise", fast_only=True).returncode != 0


def test_warnings_are_replayed(example: dict) -> None:
    store = Path(example["dir"]) / "connections.yaml"
    store.write_text(store.read_text().replace("exampleValues: true", "exampleValues: false"))
    store.chmod(0o644)
    first = launch(example)
    second = launch(example, fast_only=True)
    assert "readable by other users" in first.stderr
    assert second.returncode == 0 and second.stderr == first.stderr
    assert os.path.exists(store)


@pytest.mark.parametrize("quiet", [["-q"], ["-qC", "."], ["--quiet"]], ids=["-q", "-qC", "--quiet"])
def test_quiet_is_replayed_as_the_full_path_decided_it(example: dict, quiet: list[str]) -> None:
    """The fast path does not parse argv: `-qp P` style combined flags are as quiet on replay as the first time."""
    store = Path(example["dir"]) / "connections.yaml"
    store.write_text(store.read_text().replace("exampleValues: true", "exampleValues: false"))
    store.chmod(0o644)  # a warning every launch would print, unless quiet
    args = ["-p", "bookstore", "-c", "orders-service", "--mount-root", str(example["mounts"]), *quiet, "--", *DUMP_ENV]
    environment = {"XDG_CACHE_HOME": str(example["cache"])}
    first = run_launcher(args, cwd=example["dir"], env=environment)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    replayed = run_launcher(args, cwd=example["dir"], env={**environment, "PYTHONPATH": example["no_click"]})
    assert replayed.returncode == 0 and replayed.stderr == "", replayed.stderr
    assert len(records(example)) == 1


def test_a_changed_variable_an_env_file_interpolates_is_not_replayed(example: dict, tmp_path: Path) -> None:
    """`${REGION}` in an env file is an input: a changed value resolves again, never replays the old one."""
    overlay = write(tmp_path / "overlay.env", "SERVICE_REGION=${REGION}\n")
    first = launch(example, "--env-file", str(overlay), env={"REGION": "eu-west-1"}).env()
    assert first["SERVICE_REGION"] == "eu-west-1"
    replayed = launch(example, "--env-file", str(overlay), fast_only=True, env={"REGION": "eu-west-1"}).env()
    assert replayed["SERVICE_REGION"] == "eu-west-1"
    assert launch(example, "--env-file", str(overlay), fast_only=True, env={"REGION": "us-east-2"}).returncode != 0
    assert launch(example, "--env-file", str(overlay), env={"REGION": "us-east-2"}).env()["SERVICE_REGION"] == (
        "us-east-2"
    )


def test_a_rotated_secret_does_not_outlive_the_rotation_in_a_record(example: dict) -> None:
    """Records hold resolved values: once an input changes, the stale record is removed from disk."""
    launch(example).env()
    launch(example, command=["sh", "-c", "exit 0"])  # a second record, for another command
    assert len(records(example)) == 2
    store = Path(example["dir"]) / "connections.yaml"
    store.write_text(store.read_text().replace("dev-db-password-3b8f", "rotated-db-password-5c2e"))
    assert launch(example, fast_only=True).returncode != 0  # stale: the replay removed its record
    assert len(records(example)) == 1
    launch(example).env()  # the full path records anew and sweeps the other stale record
    [record] = records(example)
    assert b"dev-db-password-3b8f" not in record.read_bytes()
