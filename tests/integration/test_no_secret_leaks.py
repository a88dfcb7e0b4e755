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

from support.process import clean_environment, run_launcher, write

SECRETS = {
    "db-password": "s3cr3t-db-password-91f2",
    "oauth-secret": "s3cr3t-oauth-client-secret-77aa",
    "api-key": "s3cr3t-api-key-0c3d",
    "form-secret": "s3cr3t-form-token-5be1",
    "env-file": "s3cr3t-from-dotenv-e8e8",
    "token": "s3cr3t-bearer-token-aa00",
    "cache-key": "s3cr3t-cache-key-0123456789",
}

STORE = f"""
version: 1
projects:
  - name: p
    components:
      - name: svc
        configForm:
          development: {{FORM_TOKEN: {{value: {SECRETS["form-secret"]}, secret: true}}}}
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
  file:
    - name: secret.json
      mountPath: /etc/app
      values:
        - {name: password, valueFrom: {connectionRef: {name: db-conn, key: Password}}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, str]:
    component = tmp_path / "svc"
    write(component / ".choreo" / "component.yaml", MANIFEST)
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
