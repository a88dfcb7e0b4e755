"""The launcher end to end, as a real process: what the child sees, what the user reads, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support.process import DUMP_ENV, EXAMPLE, REPO, clean_environment, run_launcher, write

SECRETS = ("dev-oauth-secret-7c1d", "dev-db-password-3b8f", "dev-payment-key-5f2e")


def run_example(*args: str, env: dict[str, str] | None = None, tmp_path: Path | None = None):
    mount = ["--mount-root", str(tmp_path)] if tmp_path else []
    return run_launcher(["-C", str(EXAMPLE), *mount, *args], env=env)


def test_example_runs_with_its_connections_injected(tmp_path: Path) -> None:
    result = run_example("--", sys.executable, str(EXAMPLE / "app.py"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "catalog        http://localhost:9090/catalog (OAuth client bookstore-dev-client" in result.stdout
    assert "settings file  currency EUR, payment provider sandbox" in result.stdout
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)


def test_child_environment_holds_resolved_names_and_no_launcher_settings(tmp_path: Path) -> None:
    env = run_example(
        "--",
        *DUMP_ENV,
        tmp_path=tmp_path,
        env={"CHOREO_RUN_ENV": "production", "CHOREO_RUN_TOKEN": "launcher-own-token"},
    ).env()
    assert env["CHOREO_BOOK_CATALOG_SERVICEURL"] == "https://catalog.bookstore.internal/v1"
    assert env["CHOREO_BOOK_CATALOG_CONSUMERKEY"] == "bookstore-prod-client"
    assert env["DATABASE_PASSWORD"] == "prod-db-password-0d6e"
    assert "CHOREO_ORDERS_DB_PASSWORD" not in env  # renamed by configurations.env
    assert not [name for name in env if name.startswith("CHOREO_RUN_")]
    assert env["CHOREO_MOUNT_ROOT"] == str(tmp_path)
    settings = tmp_path / "app" / "config" / "settings.json"
    assert json.loads(settings.read_text())["payment"]["provider"] == "live"
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600


def test_flags_win_over_variables_and_development_is_the_default(tmp_path: Path) -> None:
    assert run_example("--", *DUMP_ENV, tmp_path=tmp_path).env()["LOG_LEVEL"] == "debug"
    env = run_example(
        "-e", "development", "--", *DUMP_ENV, tmp_path=tmp_path, env={"CHOREO_RUN_ENV": "production"}
    ).env()
    assert env["LOG_LEVEL"] == "debug"


def test_identity_from_variables_alone(tmp_path: Path) -> None:
    env = run_launcher(
        ["--", *DUMP_ENV],
        env={
            "CHOREO_RUN_COMPONENT_DIR": str(EXAMPLE),
            "CHOREO_RUN_BACKEND": str(EXAMPLE / "connections.yaml"),
            "CHOREO_RUN_PROJECT": "bookstore",
            "CHOREO_RUN_COMPONENT": "orders-service",
            "CHOREO_RUN_MOUNT_ROOT": str(tmp_path),
        },
        cwd=tmp_path,
    ).env()
    assert env["CHOREO_ORDERS_DB_HOSTNAME"] == "localhost"


def test_existing_variables_are_overridden_unless_asked(tmp_path: Path) -> None:
    inherited = {"LOG_LEVEL": "trace"}
    assert run_example("--", *DUMP_ENV, tmp_path=tmp_path, env=inherited).env()["LOG_LEVEL"] == "debug"
    kept = run_example("--no-override", "--", *DUMP_ENV, tmp_path=tmp_path, env=inherited).env()
    assert kept["LOG_LEVEL"] == "trace"


def test_env_file_overlays_resolved_values(tmp_path: Path) -> None:
    dotenv = write(tmp_path / "dev.env", "CHOREO_BOOK_CATALOG_SERVICEURL=http://127.0.0.1:5000\nEXTRA='x y'\n")
    env = run_example("--env-file", str(dotenv), "--", *DUMP_ENV, tmp_path=tmp_path).env()
    assert env["CHOREO_BOOK_CATALOG_SERVICEURL"] == "http://127.0.0.1:5000"
    assert env["EXTRA"] == "x y"


def test_exec_replaces_the_launcher_and_passes_the_exit_code_through(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "launcher",
        "-C",
        str(EXAMPLE),
        "--mount-root",
        str(tmp_path),
        "--exec",
        "--",
        "sh",
        "-c",
        "echo $$; exit 42",
    ]
    process = subprocess.run(command, env=clean_environment(), capture_output=True, text=True)
    assert process.returncode == 42
    # The shell's PID is the launcher's: exec, not a child process.
    child = subprocess.Popen(command, env=clean_environment(), stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate()
    assert int(out.strip()) == child.pid


@pytest.mark.parametrize(
    "command, mode, code, message",
    [
        ("no-such-command-xyz", None, 127, "cannot run 'no-such-command-xyz': command not found"),
        ("{tmp}/not-executable", 0o644, 126, "cannot run '{tmp}/not-executable': permission denied"),
        ("{tmp}/garbage", 0o755, 126, "cannot run '{tmp}/garbage': exec format error"),
    ],
)
def test_commands_that_cannot_run_exit_like_env(
    tmp_path: Path, command: str, mode: int | None, code: int, message: str
) -> None:
    command, message = command.format(tmp=tmp_path), message.format(tmp=tmp_path)
    if mode is not None:
        Path(command).write_bytes(b"\x00\x01\x02 not a program")
        Path(command).chmod(mode)
    result = run_example("--", command, tmp_path=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (code, f"choreo-run: error: {message}")


def test_child_killed_by_a_signal_gives_128_plus_n(tmp_path: Path) -> None:
    result = run_example("--", "sh", "-c", "kill -TERM $$", tmp_path=tmp_path)
    assert result.returncode in (128 + 15, -15)  # exec mode: the shell *is* the process, killed by SIGTERM
    supervised = run_example("--supervise", "--", "sh", "-c", "kill -TERM $$", tmp_path=tmp_path)
    assert supervised.returncode == 128 + 15


def manifest_problem(component, text: str) -> tuple[int, str]:
    directory = component(text, "version: 1\nprojects: [{name: p, components: [{name: svc}]}]\n")
    result = run_launcher(["-C", str(directory), "check"])
    return result.returncode, result.stderr


def test_manifest_errors_are_one_line_each_with_file_and_path(component) -> None:
    code, stderr = manifest_problem(
        component, "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n    - name: x\n    - name: ok-name\n"
    )
    lines = stderr.strip().splitlines()
    assert code == 65
    assert lines == [
        f"choreo-run: error: {lines[0].split(': ')[2]}: dependencies.connectionReferences[0].name: invalid connection "
        "name 'x': expected 3 to 50 characters, got 1",
        f"choreo-run: error: {lines[0].split(': ')[2]}: dependencies.connectionReferences[0].resourceRef: expected a "
        "resourceRef such as service:/project/component/v1/endpoint/PUBLIC, got nothing",
        f"choreo-run: error: {lines[0].split(': ')[2]}: dependencies.connectionReferences[1].resourceRef: expected a "
        "resourceRef such as service:/project/component/v1/endpoint/PUBLIC, got nothing",
    ]
    assert lines[0].split(": ")[2].endswith(".choreo/component.yaml")
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["-C", "/nonexistent-dir", "check"], 66, "no manifest found"),
        (["-C", str(EXAMPLE), "--backend", "/nonexistent.yaml", "check"], 78, "/nonexistent.yaml: file not found"),
        (["-C", str(EXAMPLE), "-c", "billing-service", "check"], 77, "visible only to that component"),
        (["-C", str(EXAMPLE), "-p", "nope", "check"], 78, "project 'nope' not found (projects: bookstore)"),
        (["-C", str(EXAMPLE), "--backend", "gopher://x", "check"], 78, "unknown scheme 'gopher'"),
        (["-C", str(EXAMPLE), "--bogus", "--", "true"], 64, "No such option"),
        (["-C", str(EXAMPLE)], 64, "expected a command to run"),
        (["-C", str(EXAMPLE), "--supervise", "--stop-signal", "NOPE", "--", "true"], 64, "invalid signal 'NOPE'"),
    ],
)
def test_documented_exit_codes(args: list[str], code: int, fragment: str) -> None:
    result = run_launcher(args)
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr and result.stderr.startswith("choreo-run: error: ")
    assert "Traceback" not in result.stderr


def test_missing_required_value_is_a_resolution_error(component) -> None:
    directory = component(
        "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: PORT\n      valueFrom:\n"
        "        configForm: {required: true}\n",
        "version: 1\nprojects: [{name: p, components: [{name: svc}]}]\n",
    )
    result = run_launcher(["-C", str(directory), "--", "true"])
    assert result.returncode == 67
    assert "no config form value for 'PORT' in environment 'development' and no default" in result.stderr


def test_plan_prints_a_table_with_secrets_masked(tmp_path: Path) -> None:
    result = run_example("plan")
    assert result.returncode == 0, result.stderr
    assert "VARIABLE" in result.stdout and "VISIBILITY" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("DATABASE_PASSWORD"))
    assert "********" in row and "connectionRef orders-db.Password" in row and "component" in row
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)
    document = json.loads(run_example("plan", "--format", "json").stdout)
    assert {v["name"]: v["secret"] for v in document["variables"]}["DATABASE_PASSWORD"] is True


@pytest.mark.parametrize("export_format", ["dotenv", "json", "shell"])
def test_export_reveals_secrets_only_when_asked(export_format: str) -> None:
    hidden = run_example("export", "--format", export_format).stdout
    shown = run_example("export", "--format", export_format, "--reveal").stdout
    assert "bookstore-dev-client" in hidden and "dev-db-password-3b8f" not in hidden
    assert "dev-db-password-3b8f" in shown


def test_export_round_trips_through_dotenv_and_shell(tmp_path: Path) -> None:
    from dotenv import dotenv_values

    dotenv_file = tmp_path / "out.env"
    assert run_example("export", "--reveal", "-o", str(dotenv_file)).returncode == 0
    assert stat.S_IMODE(dotenv_file.stat().st_mode) == 0o600
    assert dotenv_values(dotenv_file)["DATABASE_PASSWORD"] == "dev-db-password-3b8f"
    shell = run_example("export", "--format", "shell", "--reveal").stdout
    echoed = subprocess.run(["sh", "-c", shell + 'printf %s "$FEATURE_FLAGS"'], capture_output=True, text=True)
    assert echoed.stdout == "new-checkout,beta-search"


def test_check_is_quiet_and_successful() -> None:
    result = run_example("check")
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "ok: bookstore/orders-service (development): 11 variables, 1 file",
    )


def test_debug_shows_progress_and_timing_but_no_values(tmp_path: Path) -> None:
    result = run_example("--debug", "--", "true", tmp_path=tmp_path)
    assert result.returncode == 0
    assert "choreo-run: debug: fetched 2 connections for bookstore/orders-service" in result.stderr
    assert " ms" in result.stderr
    assert not any(secret in result.stderr for secret in SECRETS)


def test_unwritable_mount_path_suggests_mount_root(component, tmp_path: Path) -> None:
    blocker = write(tmp_path / "blocker", "a file where a directory should be\n")
    directory = component(
        f"schemaVersion: 1.2\nconfigurations:\n  file:\n    - name: a.txt\n"
        f"      mountPath: {blocker}/sub\n      values: [{{name: a, value: b}}]\n",
        "version: 1\nprojects: [{name: p, components: [{name: svc}]}]\n",
    )
    result = run_launcher(["-C", str(directory), "--", "true"])
    assert result.returncode == 73
    assert "cannot write" in result.stderr and "--mount-root" in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "choreo-run"
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable} (package not installed in this interpreter)")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=clean_environment())
    assert result.returncode == 0 and "choreo-run" in result.stdout


def test_help_lists_the_commands() -> None:
    result = run_launcher(["--help"])
    assert result.returncode == 0
    for command in ("check", "plan", "export", "run"):
        assert command in result.stdout
    assert os.path.isdir(REPO / "docs")


def test_check_over_many_component_directories(tmp_path: Path) -> None:
    store = write(
        tmp_path / "store.yaml",
        """
        version: 1
        projects:
          - name: mono
            components: [{name: alpha}, {name: beta}, {name: gamma}]
            connections:
              - {id: c1, name: shared-api, type: service, visibility: project, parameters: {ServiceURL: http://api}}
        """,
    )
    good = (
        "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n"
        "    - {name: shared-api, resourceRef: 'service:/mono/api/v1/x/PROJECT'}\n"
    )
    for name in ("alpha", "beta"):
        write(tmp_path / name / ".choreo" / "component.yaml", good)
    write(tmp_path / "gamma" / ".choreo" / "component.yaml", good.replace("shared-api", "missing-api"))
    result = run_launcher(["check", "--backend", str(store), "alpha", "beta", "gamma"], cwd=tmp_path)
    assert result.returncode == 67
    assert result.stdout.splitlines() == [
        "ok: mono/alpha (development): 1 variable, 0 files",
        "ok: mono/beta (development): 1 variable, 0 files",
        "checked 3 components: 2 ok, 1 failed",
    ]
    assert (
        "gamma/.choreo/component.yaml: dependencies.connectionReferences[0].name: no connection named "
        "'missing-api'" in result.stderr
    )


def test_env_file_with_an_invalid_name_is_refused(tmp_path: Path) -> None:
    dotenv = write(tmp_path / "bad.env", "GOOD=1\nBAD-NAME=2\n")
    result = run_example("--env-file", str(dotenv), "--", "true", tmp_path=tmp_path)
    assert result.returncode == 78
    assert "bad.env: BAD-NAME: invalid variable name 'BAD-NAME'" in result.stderr


def test_commands_read_their_own_variables_and_reveal_has_none(tmp_path: Path) -> None:
    output = tmp_path / "variables.json"
    result = run_example(
        "export",
        env={
            "CHOREO_RUN_EXPORT_FORMAT": "json",
            "CHOREO_RUN_EXPORT_OUTPUT": str(output),
            "CHOREO_RUN_REVEAL": "1",
            "CHOREO_RUN_PLAN_FORMAT": "table",
        },
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    json.loads(output.read_text())
    assert "dev-db-password-3b8f" not in output.read_text()  # --reveal is asked for each time, never inherited
    plan = run_example("plan", env={"CHOREO_RUN_PLAN_FORMAT": "json", "CHOREO_RUN_EXPORT_FORMAT": "shell"})
    assert "DATABASE_PASSWORD" in {v["name"] for v in json.loads(plan.stdout)["variables"]}
    # `store` and `connection` share the backend options' variables with the launch commands.
    listing = run_launcher(
        ["connection", "list", "--backend", str(EXAMPLE / "connections.yaml")], env={"CHOREO_RUN_TIMEOUT": "soon"}
    )
    assert listing.returncode == 64 and "'--timeout': 'soon' is not a valid float" in listing.stderr


@pytest.mark.parametrize(
    "argv, env, words",
    [
        (["--deadline", "nan"], {}, "'--deadline': nan is not a finite number of seconds"),  # was exit 70
        (["--deadline", "inf"], {}, "'--deadline': inf is not a finite number of seconds"),  # was exit 70
        (["--timeout", "-1"], {}, "'--timeout': -1 is not more than zero seconds"),  # was taken
        (["--watch", "--watch-interval", "0"], {}, "'--watch-interval': 0 is not more than zero seconds"),
        ([], {"CHOREO_RUN_DEADLINE": "nan"}, "'--deadline': nan is not a finite number of seconds"),
    ],
)
def test_a_number_of_seconds_that_is_not_one_is_a_usage_error(argv: list[str], env: dict[str, str], words: str) -> None:
    result = run_launcher(["-C", str(EXAMPLE), *argv, "--", "true"], env=env)
    assert result.returncode == 64, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_seconds_are_checked_by_every_command_that_takes_them() -> None:
    listing = run_launcher(["connection", "list", "--backend", str(EXAMPLE / "connections.yaml"), "--deadline", "0"])
    assert listing.returncode == 64 and "'--deadline': 0 is not more than zero seconds" in listing.stderr


@pytest.mark.parametrize("age", ["nan", "-5m", "infd"])
def test_a_cache_age_that_is_not_a_duration_is_refused(age: str, tmp_path: Path) -> None:
    """`nan` made every cache young enough (no comparison with it is true), `-5m` none."""
    result = run_launcher(
        ["-C", str(EXAMPLE), "--mount-root", str(tmp_path), "--cache", "--cache-max-age", age, "--", "true"],
        env={"CHOREO_RUN_CACHE_KEY": "0123456789abcdef0123456789abcdef", "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.returncode == 78 and f"invalid duration {age!r}" in result.stderr, result.stderr


def test_a_grace_period_of_zero_seconds_is_taken(tmp_path: Path) -> None:
    result = run_launcher(
        ["-C", str(EXAMPLE), "--mount-root", str(tmp_path), "--supervise", "--grace-period", "0", "--", "true"]
    )
    assert result.returncode == 0, result.stderr
