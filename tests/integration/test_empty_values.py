"""Fail closed means no empty values (docs/store.md, "Empty values"): a required or secret value that
is empty stops the launch (exit 67, naming where it came from) before the service starts; empty
values written in the manifest itself, or marked `optional: true` in the store, are meant."""

from __future__ import annotations

from pathlib import Path

from support.process import DUMP_ENV, run_launcher, write

STORE = """
version: 1
projects:
  - name: p
    components:
      - name: svc
        configForm:
          development: {{LOG_LEVEL: {log_level}}}
    connections:
      - id: c-db
        name: main-db
        type: database
        visibility: project
        parameters:
          HostName: db.local
          Password: {password}
          Replica: {{optional: true, value: {replica}}}
"""

MANIFEST = """
schemaVersion: 1.2
dependencies:
  connectionReferences:
    - {name: main-db, resourceRef: 'database:srv/db'}
configurations:
  env:
    - {name: LOG_LEVEL, valueFrom: {configForm: {type: string}}}
    - {name: LITERALLY_EMPTY, value: ""}
"""


def component(tmp_path: Path, password: str = "pw", log_level: str = "debug", replica: str = "r") -> Path:
    directory = tmp_path / "svc"
    write(directory / ".choreo" / "component.yaml", MANIFEST)
    store = STORE.format(password=password, log_level=log_level, replica=replica)
    write(directory / "connections.yaml", store).chmod(0o600)
    return directory


def launch(directory: Path, tmp_path: Path):
    marker = tmp_path / "started"
    return run_launcher(["-C", str(directory), "--", "touch", str(marker)]), marker


def test_an_empty_secret_never_starts_the_service(tmp_path: Path) -> None:
    result, marker = launch(component(tmp_path, password='""'), tmp_path)
    assert result.returncode == 67 and not marker.exists()
    assert "connection 'main-db' has an empty value for 'Password' in environment 'development'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_config_form_value_never_starts_the_service(tmp_path: Path) -> None:
    result, marker = launch(component(tmp_path, log_level="''"), tmp_path)
    assert result.returncode == 67 and not marker.exists()
    assert "configurations.env[0].valueFrom.configForm: the config form value for 'LOG_LEVEL' is empty" in result.stderr


def test_empty_values_the_user_meant_are_injected(tmp_path: Path) -> None:
    variables = run_launcher(["-C", str(component(tmp_path, replica="''")), "--", *DUMP_ENV]).env()
    assert variables["LITERALLY_EMPTY"] == "" and variables["CHOREO_MAIN_DB_REPLICA"] == ""
    assert variables["CHOREO_MAIN_DB_PASSWORD"] == "pw"


def test_an_empty_service_binding_entry_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "svc"
    write(
        directory / ".choreo" / "component.yaml",
        "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n"
        "    - {name: orders-db, resourceRef: 'database:srv/db'}\n",
    )
    binding = tmp_path / "bindings" / "orders-db"
    binding.mkdir(parents=True)
    for name, value in {"type": "postgresql", "host": "db.local", "password": ""}.items():
        (binding / name).write_text(value)
    marker = tmp_path / "started"
    result = run_launcher(
        ["-C", str(directory), "-p", "p", "-c", "svc", "--backend", "servicebinding://", "--", "touch", str(marker)],
        env={"SERVICE_BINDING_ROOT": str(tmp_path / "bindings")},
    )
    assert result.returncode == 67 and not marker.exists(), result.stderr
    assert "has an empty value for 'Password'" in result.stderr
