"""No secret value in any output: every command and every error path, run for real, scanned.

The store below holds known secret values; each scenario runs the launcher as a process and every
byte it writes (stdout and stderr, --debug included) is searched for each of them. The process list
is checked too: neither the launcher's nor the child's command line may hold a secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.process import clean_environment, fast_path_only, run_launcher, write

SECRETS = {
    "db-password": "s3cr3t-db-password-91f2",
    "oauth-secret": "s3cr3t-oauth-client-secret-77aa",
    "api-key": "s3cr3t-api-key-0c3d",
    "form-secret": "s3cr3t-form-token-5be1",
    "env-file": "s3cr3t-from-dotenv-e8e8",
    "token": "s3cr3t-bearer-token-aa00",
    "cache-key": "s3cr3t-cache-key-0123456789",
    # YAML typos that turn a secret into a key (`value:x` in a flow mapping is one key): the
    # unknown-key warnings they cause, on every command and every launch, must not quote them.
    "typo-parameter": "s3cr3t-typo-parameter-4d4d",
    "typo-form": "s3cr3t-typo-form-6f6f",
    "typo-default": "s3cr3t-typo-default-7a7a",
}

STORE = f"""
version: 1
projects:
  - name: p
    components:
      - name: svc
        configForm:
          development:
            FORM_TOKEN: {{value: {SECRETS["form-secret"]}, secret: true}}
            SPARE_TOKEN: {{secret: true, value:{SECRETS["typo-form"]}}}
      - name: other
    oauthApps:
      - id: shared
        environments:
          development: {{clientId: cid, clientSecret: {SECRETS["oauth-secret"]}, tokenUrl: http://idp}}
    connections:
      - id: c-api
        name: api-conn
        type: service
        visibility: project
        auth: oauth
        parameters:
          ServiceURL: http://api
          ChoreoAPIKey: {SECRETS["api-key"]}
      - id: c-db
        name: db-conn
        type: database
        visibility: component
        component: svc
        parameters:
          HostName: db
          Password: {SECRETS["db-password"]}
          Replica: {{optional: true, secret: true, value:{SECRETS["typo-parameter"]}}}
"""

MANIFEST = """
schemaVersion: 1.2
dependencies:
  connectionReferences:
    - {name: api-conn, resourceRef: 'service:/p/api/v1/x/PROJECT'}
    - {name: db-conn, resourceRef: 'database:srv/db'}
configurations:
  env:
    - {name: DB_PASSWORD, valueFrom: {connectionRef: {name: db-conn, key: Password}}}
    - {name: FORM_TOKEN, valueFrom: {configForm: {type: secret}}}
    - {name: OPTIONAL_TOKEN, valueFrom: {configForm: {type: secret, required: false, default:TYPO_DEFAULT}}}
  file:
    - name: secret.json
      mountPath: /etc/app
      values:
        - {name: password, valueFrom: {connectionRef: {name: db-conn, key: Password}}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, str]:
    component = tmp_path / "svc"
    write(component / ".choreo" / "component.yaml", MANIFEST.replace("TYPO_DEFAULT", SECRETS["typo-default"]))
    write(component / "connections.yaml", STORE)
    (component / "connections.yaml").chmod(0o600)
    write(tmp_path / "dev.env", f"EXTRA_SECRET={SECRETS['env-file']}\n")
    return {"dir": str(component), "tmp": str(tmp_path)}


def scenarios(s: dict[str, str]) -> list[list[str]]:
    base = ["-C", s["dir"], "--mount-root", s["tmp"] + "/m", "--env-file", s["tmp"] + "/dev.env"]
    dead = ["--backend", "http://127.0.0.1:9", "-p", "p", "-c", "svc", "--deadline", "1"]
    return [
        [*base, "--", "true"],
        [*base, "--debug", "--", "true"],
        [*base, "--debug", "--supervise", "--", "true"],
        [*base, "--", "sh", "-c", "exit 3"],
        [*base, "--", "no-such-command"],
        ["check", *base],
        ["check", *base, "--debug"],
        ["plan", *base],
        ["plan", *base, "--format", "json"],
        ["plan", *base, "--debug"],
        ["export", *base],
        ["export", *base, "--format", "json"],
        ["export", *base, "--format", "shell"],
        ["check", *base, "-c", "other"],  # visibility denial
        ["check", *base, "-e", "production"],  # missing values everywhere
        ["check", *base, "--debug", "-e", "production"],
        ["check", "-C", s["dir"], *dead],  # backend unavailable
        ["check", "-C", s["dir"], *dead, "--cache"],
        ["check", "-C", s["dir"], "--backend", "etcd://127.0.0.1:9/x", "-p", "p", "-c", "svc", "--deadline", "1"],
        ["check", "-C", s["dir"], "--backend", f"http://user:{SECRETS['token']}@127.0.0.1:9", "-p", "p", "-c", "svc"],
        ["check", *base, "--bogus-option"],
    ]


def assert_clean(text: str, where: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked in {where}"


def test_no_command_or_error_path_prints_a_secret(setup: dict[str, str]) -> None:
    environment = {"CHOREO_RUN_TOKEN": SECRETS["token"], "CHOREO_RUN_CACHE_KEY": SECRETS["cache-key"]}
    for args in scenarios(setup):
        result = run_launcher(args, env=environment)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert_clean(result.stdout + result.stderr, " ".join(args))


def test_malformed_store_errors_do_not_echo_values(setup: dict[str, str]) -> None:
    store = Path(setup["dir"]) / "connections.yaml"
    store.write_text(
        STORE.replace(
            f"Password: {SECRETS['db-password']}",
            f"Password: {{secret: sometimes, values: [{SECRETS['db-password']}]}}",
        )
    )
    result = run_launcher(["check", "-C", setup["dir"], "--debug"])
    assert result.returncode == 78
    assert_clean(result.stdout + result.stderr, "malformed store")


def test_malformed_yaml_errors_do_not_echo_the_line(setup: dict[str, str]) -> None:
    store = Path(setup["dir"]) / "connections.yaml"
    store.write_text(STORE.replace(f"Password: {SECRETS['db-password']}", f"Password: [{SECRETS['db-password']}"))
    result = run_launcher(["check", "-C", setup["dir"], "--debug"])
    assert result.returncode == 78 and "invalid YAML" in result.stderr
    assert_clean(result.stdout + result.stderr, "malformed YAML")


def test_process_list_never_shows_a_secret(setup: dict[str, str]) -> None:
    ready = Path(setup["tmp"]) / "ready"
    child = f"import pathlib, time; pathlib.Path({str(ready)!r}).write_text('x'); time.sleep(30)"
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "launcher",
            "-C",
            setup["dir"],
            "--mount-root",
            setup["tmp"] + "/m",
            "--supervise",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        env=clean_environment({"CHOREO_RUN_TOKEN": SECRETS["token"]}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert launcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        pids = [
            launcher.pid,
            *[int(p) for p in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()],
        ]
        assert len(pids) == 2
        for pid in pids:
            assert_clean(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"), f"cmdline of {pid}")
    finally:
        launcher.terminate()
        out, err = launcher.communicate(timeout=30)
    assert_clean((out + err).decode(errors="replace"), "supervised run")


def test_child_receives_the_secrets_but_not_the_launchers_credentials(setup: dict[str, str]) -> None:
    dump = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]
    environment = run_launcher(
        ["-C", setup["dir"], "--mount-root", setup["tmp"] + "/m", "--", *dump],
        env={"CHOREO_RUN_TOKEN": SECRETS["token"]},
    ).env()
    assert environment["DB_PASSWORD"] == SECRETS["db-password"]
    assert SECRETS["token"] not in environment.values()
    written = Path(setup["tmp"]) / "m" / "etc" / "app" / "secret.json"
    assert oct(written.stat().st_mode & 0o777) == oct(0o600)
    assert os.path.exists(written)


# ---------------------------------------------------------------- secrets YAML turned into keys


def test_the_typos_are_warned_about_without_their_text(setup: dict[str, str]) -> None:
    result = run_launcher(["check", "-C", setup["dir"]])
    assert result.returncode == 0, result.stderr
    assert "connections[1].parameters.Replica: an unknown key, ignored" in result.stderr
    assert "configForm.development.SPARE_TOKEN: an unknown key, ignored" in result.stderr
    assert "YAML needs a space after the colon (`value: ...`)" in result.stderr
    assert_clean(result.stdout + result.stderr, "check")


def test_the_fast_paths_replayed_warnings_do_not_quote_a_typo(setup: dict[str, str], tmp_path: Path) -> None:
    args = ["-C", setup["dir"], "--mount-root", setup["tmp"] + "/m", "--", "true"]
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run_launcher(args, env=cache)
    assert first.returncode == 0, first.stderr
    assert list((tmp_path / "cache" / "choreo-run" / "plans").glob("*.plan")), "no record was made"
    replayed = run_launcher(
        args, env={**cache, "PYTHONPATH": fast_path_only(tmp_path / "no-full-path")}
    )  # no full path
    assert replayed.returncode == 0, replayed.stderr
    assert "SPARE_TOKEN: an unknown key, ignored" in replayed.stderr  # the recorded warnings, replayed
    for result in (first, replayed):
        assert_clean(result.stdout + result.stderr, "fast path")


def test_a_typo_that_leaves_a_secret_without_a_value_is_refused_without_its_text(setup: dict[str, str]) -> None:
    store = Path(setup["dir"]) / "connections.yaml"
    store.write_text(
        STORE.replace(
            f"Password: {SECRETS['db-password']}", f"Password: {{secret: true, value:{SECRETS['typo-parameter']}}}"
        )
    )
    for args in (
        ["check", "-C", setup["dir"]],
        ["plan", "-C", setup["dir"], "--debug"],
        ["-C", setup["dir"], "--", "true"],
    ):
        result = run_launcher(args)
        assert result.returncode == 67, result.stderr
        assert "has no value for 'Password'" in result.stderr
        assert_clean(result.stdout + result.stderr, " ".join(args))


def test_a_typo_in_a_manifest_literal_is_refused_without_its_text(setup: dict[str, str]) -> None:
    manifest = Path(setup["dir"]) / ".choreo" / "component.yaml"
    anchor = "  file:\n"
    manifest.write_text(
        MANIFEST.replace("TYPO_DEFAULT", "x").replace(
            anchor, f"    - {{name: LITERAL_TOKEN, value:{SECRETS['typo-default']}}}\n{anchor}"
        )
    )
    for args in (["check", "-C", setup["dir"]], ["plan", "-C", setup["dir"]], ["-C", setup["dir"], "--", "true"]):
        result = run_launcher(args)
        assert result.returncode == 65, result.stderr
        assert "configurations.env[3]: an unknown key of" in result.stderr
        assert_clean(result.stdout + result.stderr, " ".join(args))


def test_a_typo_in_an_oauth_application_is_not_quoted(setup: dict[str, str]) -> None:
    store = Path(setup["dir"]) / "connections.yaml"
    store.write_text(
        STORE.replace("tokenUrl: http://idp}", f"tokenUrl: http://idp, clientSecret:{SECRETS['typo-form']}}}")
    )
    result = run_launcher(["check", "-C", setup["dir"], "--debug"])
    assert result.returncode == 78, result.stderr  # the key holds nothing: a problem, at a described path
    assert "environments.development: an unknown key, ignored" in result.stderr
    assert "environments.development.<a key of 34 characters>: expected a string, got nothing" in result.stderr
    assert_clean(result.stdout + result.stderr, "oauth typo")
