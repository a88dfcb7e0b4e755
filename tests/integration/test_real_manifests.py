"""Every real manifest in ../shared/choreo-manifests parses or is refused precisely, and where the
index says which variables the component's own code reads, the launcher injects exactly those names.

The manifests are read from ../shared (never copied in); a store holding the connections each one
references is generated per test, then the launcher runs as a real process and the child reports
its environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from launcher.manifest.reader import load_manifest
from support.process import DUMP_ENV, SHARED_MANIFESTS, require_shared_manifests, run_launcher

# file -> the names the component's code reads (from index.json `app_env_reads`), which must be injected.
APP_READS = {
    "wso2__choreo-samples/appointment-management__web-portal__backend__.choreo__component.yaml": [
        "CHOREO_APPOINTMENT_CONNECTION_SERVICEURL",
        "CHOREO_APPOINTMENT_CONNECTION_TOKENURL",
        "CHOREO_APPOINTMENT_CONNECTION_CONSUMERKEY",
        "CHOREO_APPOINTMENT_CONNECTION_CONSUMERSECRET",
    ],
    "wso2__choreo-samples/user-management-service__.choreo__component.yaml": ["IDENTIFICATION_NUMBER"],
    "wso2__choreo-samples/hist-41f7b16cf134__appointment-management__appointment-service__.choreo__component.yaml": [
        "CHOREO_DATABASE_CONNECTION_DATABASENAME",
        "CHOREO_DATABASE_CONNECTION_USERNAME",
        "CHOREO_DATABASE_CONNECTION_PASSWORD",
        "CHOREO_DATABASE_CONNECTION_HOSTNAME",
        "CHOREO_DATABASE_CONNECTION_PORT",
    ],
    "NomadXD__echo_bff/.choreo__component-config.yaml": ["SERVICE_URL", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET"],
    "chathuranga95__echo_bff/.choreo__component-config.yaml": [
        "SERVICE_URL",
        "TOKEN_URL",
        "CLIENT_ID",
        "CLIENT_SECRET",
    ],
    "KCSAbeywickrama__choreo-connections-mono-repo/todo-list-service__.choreo__component-config.yaml": [
        "SERVICE_URL",
        "CONSUMER_KEY",
        "CONSUMER_SECRET",
        "TOKEN_URL",
    ],
    "kaje94__choreo-connections-mono-repo/hist-21df4caba0be__todo-list-service__.choreo__component-config.yaml": [
        "SERVICE_URL",
        "TOKEN_URL",
        "CONSUMER_KEY",
        "CONSUMER_SECRET",
    ],
    "binoyPeries__samples-for-connections-testing/ballerina-task__.choreo__component-config.yaml": [
        "SVC_URL",
        "TOKEN_URL",
        "CONSUMER_KEY",
        "CONSUMER_SECRET",
    ],
    "binoyPeries__samples-for-connections-testing/containerized-rabbitmq-listener__.choreo__component-config.yaml": [
        "SVC_URL",
        "CONSUMER_KEY",
        "CONSUMER_SECRET",
        "TOKEN_URL",
    ],
    "binoyPeries__samples-for-connections-testing/hello-world-go-task__.choreo__component-config.yaml": [
        "SVC_URL",
        "TOKEN_URL",
        "CONSUMER_SECRET",
        "CONSUMER_KEY",
    ],
    "binoyPeries__samples-for-connections-testing/hello-world-mi__.choreo__component-config.yaml": ["TOKEN_URL"],
    "Melani-Abayalath__samples-for-connections-testing/greeting-service-go__.choreo__component.yaml": [
        "CHOREO_PROJECT_LEVL_BALLERINA_SERVICEURL",
        "CHOREO_PROJECT_LEVL_BALLERINA_TOKENURL",
        "CHOREO_PROJECT_LEVL_BALLERINA_CONSUMERKEY",
        "CHOREO_PROJECT_LEVL_BALLERINA_CONSUMERSECRET",
    ],
    "manjulaRathnayaka__pycon-community-pulse/api-service__.choreo__component.yaml": [
        "CHOREO_CONNECTION_PYCON_API_DEFAULTDB_HOSTNAME"
    ],
    "manjulaRathnayaka__pycon-community-pulse/collector-service__.choreo__component.yaml": [
        "CHOREO_CONNECTION_PYCON_COLLECTOR_DEFAULTDB_HOSTNAME"
    ],
    "OpenDIF__opendif-core/hist-6cb97ee5441f__audit-service__.choreo__component.yaml": [
        "CHOREO_OPENDIF_DB_HOSTNAME",
        "CHOREO_OPENDIF_DB_PORT",
        "CHOREO_OPENDIF_DB_USERNAME",
        "CHOREO_OPENDIF_DB_PASSWORD",
        "CHOREO_OPENDIF_DB_DATABASENAME",
    ],
}

# Files that are really invalid: refused with the path inside them and what was expected.
REFUSED = {
    "binoyPeries__samples-for-connections-testing/read-file__.choreo__component-config.yaml": "spec.outbound.serviceReferences[0].env[5].to: invalid variable name 'exampletestnew.txt'",
    "binoyPeries__choreo-my-samples/hist-759c688b41e1__component-yaml__bal-svc__.choreo__component.yaml": "configuration.env[0].name: invalid variable name 'HR_SERVICE_URLV@'",
}

KEYS_BY_KIND = {
    "service": ["ServiceURL", "ChoreoAPIKey"],
    "database": ["HostName", "Port", "Username", "Password", "DatabaseName"],
    "thirdparty": ["ServiceURL", "ApiKey"],
    "storage": ["ServiceURL"],
}


def manifest_files() -> list[str]:
    if not SHARED_MANIFESTS.is_dir():
        return []
    return sorted(str(p.relative_to(SHARED_MANIFESTS)) for p in SHARED_MANIFESTS.glob("*/*.yaml"))


def index_entry(name: str) -> dict:
    entries = json.loads((SHARED_MANIFESTS / "index.json").read_text())
    return next(entry for entry in entries if entry["file"] == name)


def store_for(manifest_path: Path) -> dict:
    """A store in which project `p` / component `svc` holds everything the manifest references."""
    manifest = load_manifest(str(manifest_path))
    connections = [
        _connection(ref.name, f"id-{index}", ref.resource_ref or "service:")
        for index, ref in enumerate(manifest.connection_references)
    ]
    for ref in manifest.service_references:
        keys = [m.key for m in ref.env if m.key not in ("ConsumerKey", "ConsumerSecret", "TokenURL")]
        connections.append(_connection(f"svc-{ref.connection_id[-6:]}", ref.connection_id, "service:", keys))
    form = {
        entry.variable: f"form-{entry.variable.lower()}" for entry in manifest.env if entry.source.kind == "configForm"
    }
    files = {f.name: {v.name: {"example": v.name} for v in f.values} for f in manifest.files}
    oauth = {
        "id": "shared",
        "environments": {
            "development": {
                "clientId": "client-id",
                "clientSecret": "client-secret-value",
                "tokenUrl": "http://idp/token",
            }
        },
    }
    component = {"name": "svc", "configForm": {"development": form}, "files": {"development": files}}
    return {
        "version": 1,
        "projects": [{"name": "p", "components": [component], "oauthApps": [oauth], "connections": connections}],
    }


def _connection(name: str, connection_id: str, resource_ref: str, keys: list[str] | None = None) -> dict:
    kind = resource_ref.split(":", 1)[0]
    connection = {
        "id": connection_id,
        "name": name,
        "type": {"thirdparty": "third-party"}.get(kind, kind),
        "visibility": "project",
        "parameters": {key: f"{name}-{key.lower()}" for key in keys or KEYS_BY_KIND[kind]},
    }
    if kind == "service":
        connection["auth"] = "oauth"
    return connection


def run_manifest(name: str, tmp_path: Path):
    path = SHARED_MANIFESTS / name
    store = tmp_path / "store.yaml"
    store.write_text(yaml.safe_dump(store_for(path)))
    return run_launcher(
        [
            "--manifest",
            str(path),
            "--backend",
            str(store),
            "-p",
            "p",
            "-c",
            "svc",
            "--mount-root",
            str(tmp_path / "mounts"),
            "--",
            *DUMP_ENV,
        ]
    )


@pytest.mark.parametrize("name", manifest_files() or ["(none)"])
def test_every_real_manifest_parses_or_is_refused_precisely(name: str, tmp_path: Path) -> None:
    require_shared_manifests()
    if name in REFUSED:
        result = run_launcher(
            [
                "--manifest",
                str(SHARED_MANIFESTS / name),
                "-p",
                "p",
                "-c",
                "svc",
                "--backend",
                str(tmp_path / "unused.yaml"),
                "check",
            ]
        )
        assert result.returncode == 65
        assert REFUSED[name] in result.stderr and "Traceback" not in result.stderr
        return
    result = run_manifest(name, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(APP_READS))
def test_the_names_the_app_reads_are_injected(name: str, tmp_path: Path) -> None:
    require_shared_manifests()
    reads = index_entry(name)["app_env_reads"]
    for variable in APP_READS[name]:  # the table is anchored to the index's ground truth
        assert variable in reads or variable.rsplit("_", 1)[0] + "_" in reads, variable
    environment = run_manifest(name, tmp_path).env()
    missing = [variable for variable in APP_READS[name] if variable not in environment]
    assert not missing


def test_the_table_covers_every_indexed_read_that_a_manifest_can_satisfy() -> None:
    require_shared_manifests()
    entries = json.loads((SHARED_MANIFESTS / "index.json").read_text())
    with_reads = {
        e["file"]
        for e in entries
        if "getenv" in e["app_env_reads"].lower()
        or "process.env" in e["app_env_reads"]
        or "get-property" in e["app_env_reads"]
    }
    # These read names the manifest cannot produce (the index notes the mismatch), so no launcher could.
    mismatched = {
        e["file"]
        for e in entries
        if "does not match" in e["app_env_reads"]
        or 'for connection "test-auto-deploy"' in e["app_env_reads"]
        or "reads FILE_PATH" in e["app_env_reads"]
    }
    assert with_reads - mismatched - set(REFUSED) <= set(APP_READS)


def test_user_management_file_is_written_at_its_mount_path(tmp_path: Path) -> None:
    require_shared_manifests()
    name = "wso2__choreo-samples/user-management-service__.choreo__component.yaml"
    assert run_manifest(name, tmp_path).returncode == 0
    written = yaml.safe_load((tmp_path / "mounts" / "src" / "resources" / "application.yaml").read_text())
    assert set(written) == {"basic-info", "occupation", "siblings"}
