"""Kubernetes Service Binding directories (servicebinding.io) as a read-only backend: real directories."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from launcher.backends import BackendSettings, open_backend
from launcher.backends.servicebinding import (
    MAX_ENTRY_BYTES,
    ServiceBindings,
    bindings_root,
    choreo_keys,
    connection_type,
    is_secret,
)
from launcher.errors import ConfigurationError
from launcher.model import COMPONENT, Identity
from support.process import DUMP_ENV, EXAMPLE, run_launcher, write

IDENTITY = Identity("bookstore", "orders-service", "production")
DB_PASSWORD = "binding-db-password-71fe"
CLIENT_SECRET = "binding-client-secret-0b3c"


def binding(root: Path, name: str, **entries: str | bytes) -> Path:
    """A hand-made binding directory: one file per entry (`connection_id` is written `connection-id`)."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in entries.items():
        path = directory / key.replace("_", "-")
        path.write_bytes(value if isinstance(value, bytes) else value.encode())
    return directory


def projected(root: Path, name: str, **entries: str) -> Path:
    """A binding as the kubelet projects a secret: values in a hidden directory, reached through `..data`."""
    directory = root / name
    hidden = directory / "..2024_05_01_10_00_00.000000001"
    hidden.mkdir(parents=True)
    for key, value in entries.items():
        (hidden / key).write_text(value)
        (directory / key).symlink_to(Path("..data") / key)
    (directory / "..data").symlink_to(hidden.name)
    return directory


def fetch(root: Path):
    return ServiceBindings(str(root)).fetch(IDENTITY)


def problems_of(root: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        fetch(root)
    assert caught.value.exit_code == 78
    return str(caught.value)


def orders_db(root: Path) -> Path:
    return binding(
        root,
        "orders-db",
        type="postgresql\n",
        provider="bitnami\n",
        host="db.cluster.local\n",
        port="5432\n",
        username="orders\n",
        password=DB_PASSWORD + "\n",
        database="orders\n",
    )


# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        ("servicebinding:", {"SERVICE_BINDING_ROOT": "/bindings"}, "/bindings"),
        ("servicebinding://", {"SERVICE_BINDING_ROOT": "/bindings"}, "/bindings"),
        ("servicebinding:///var/run/bindings", {"SERVICE_BINDING_ROOT": "/bindings"}, "/var/run/bindings"),
        ("servicebinding:/var/run/bindings", {}, "/var/run/bindings"),
        ("servicebinding:dev/bindings", {}, "dev/bindings"),
        ("servicebinding://dev/bindings", {}, "dev/bindings"),
        ("SERVICEBINDING:dev/bindings", {}, "dev/bindings"),
    ],
)
def test_url_forms(url: str, environ: dict[str, str], expected: str) -> None:
    assert bindings_root(url, environ) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("servicebinding:", "SERVICE_BINDING_ROOT is not set"),
        ("servicebinding://", "SERVICE_BINDING_ROOT is not set"),
        ("servicebinding:///bindings?watch=1", "expected servicebinding:[//]PATH"),
        ("servicebinding:///bindings#x", "expected servicebinding:[//]PATH"),
    ],
)
def test_url_problems(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as caught:
        bindings_root(url, {})
    assert caught.value.exit_code == 78


def test_registered_and_described_by_its_directory(tmp_path: Path) -> None:
    backend = open_backend(f"servicebinding://{tmp_path}", BackendSettings())
    assert isinstance(backend, ServiceBindings)
    assert backend.description == f"servicebinding:{tmp_path}"


# ---------------------------------------------------------------- mapping tables


@pytest.mark.parametrize(
    ("binding_type", "expected"),
    [
        ("postgresql", "database"),
        ("MySQL", "database"),
        ("mongodb", "database"),
        ("redis", "database"),
        ("http", "service"),
        ("openapi", "service"),
        ("service", "service"),
        ("kafka", "third-party"),
        ("twilio", "third-party"),
        ("s3", "third-party"),
    ],
)
def test_type_table(binding_type: str, expected: str) -> None:
    assert connection_type(binding_type) == expected


@pytest.mark.parametrize(
    ("names", "kind", "expected"),
    [
        (
            ["host", "port", "username", "password", "database"],
            "database",
            {
                "host": "HostName",
                "port": "Port",
                "username": "Username",
                "password": "Password",
                "database": "DatabaseName",
            },
        ),
        (["uri", "dbname", "user"], "database", {"uri": "uri", "dbname": "DatabaseName", "user": "Username"}),
        (
            ["uri", "client-id", "client_secret", "token-url"],
            "service",
            {
                "uri": "ServiceURL",
                "client-id": "ConsumerKey",
                "client_secret": "ConsumerSecret",
                "token-url": "TokenURL",
            },
        ),
        (["url", "ACCOUNT_SID"], "third-party", {"url": "ServiceURL", "ACCOUNT_SID": "ACCOUNT_SID"}),
        # the first source in the table claims the key; the other keeps its own name
        (["uri", "url"], "service", {"uri": "ServiceURL", "url": "url"}),
        (["HostName", "host"], "database", {"HostName": "HostName", "host": "host"}),
        (
            ["connection-count", "certificates"],
            "third-party",
            {"connection-count": "connection-count", "certificates": "certificates"},
        ),
    ],
)
def test_key_table(names: list[str], kind: str, expected: dict[str, str]) -> None:
    assert choreo_keys(names, kind) == expected


@pytest.mark.parametrize(
    ("entry", "key", "secret"),
    [
        ("host", "HostName", False),
        ("PORT", "Port", False),
        ("username", "Username", False),
        ("database", "DatabaseName", False),
        ("client-id", "ConsumerKey", False),
        ("token-url", "TokenURL", False),
        ("password", "Password", True),
        ("uri", "ServiceURL", True),
        ("url", "url", True),
        ("client-secret", "ConsumerSecret", True),
        ("api-key", "api-key", True),
        ("token", "token", True),
        ("certificates", "certificates", True),
        ("private-key", "private-key", True),
        ("region", "region", True),
    ],
)
def test_secret_table(entry: str, key: str, secret: bool) -> None:
    assert is_secret(entry, key) is secret


# ---------------------------------------------------------------- reading directories


def test_a_binding_becomes_a_component_connection_of_whoever_runs(tmp_path: Path) -> None:
    orders_db(tmp_path)
    snapshot = fetch(tmp_path)
    (connection,) = snapshot.connections
    assert (connection.name, connection.connection_id, connection.type) == ("orders-db", "orders-db", "database")
    assert (connection.visibility, connection.project, connection.component) == (
        COMPONENT,
        "bookstore",
        "orders-service",
    )
    values = {key: (p.value, p.secret) for key, p in connection.parameters.items()}
    assert values == {
        "HostName": ("db.cluster.local", False),
        "Port": ("5432", False),
        "Username": ("orders", False),
        "Password": (DB_PASSWORD, True),
        "DatabaseName": ("orders", False),
    }
    assert snapshot.identity == IDENTITY and snapshot.backend == f"servicebinding:{tmp_path}"
    assert DB_PASSWORD not in repr(snapshot)


def test_values_lose_one_trailing_newline_only(tmp_path: Path) -> None:
    binding(tmp_path, "notes", type="kafka", one="a\n\n", crlf="b\r\n", none="c", blank="")
    parameters = fetch(tmp_path).connections[0].parameters
    assert {k: p.value for k, p in parameters.items()} == {"one": "a\n", "crlf": "b", "none": "c", "blank": ""}


def test_connection_id_entry_sets_the_id(tmp_path: Path) -> None:
    binding(tmp_path, "catalog", type="http", connection_id="01ef7a3f-a581\n", uri="http://catalog:8080\n")
    (connection,) = fetch(tmp_path).connections
    assert connection.connection_id == "01ef7a3f-a581"
    assert set(connection.parameters) == {"ServiceURL"}  # type, provider, connection-id are not values


def test_kubernetes_projection_through_dot_dot_data(tmp_path: Path) -> None:
    projected(tmp_path, "orders-db", type="mysql", host="mysql.cluster.local", password=DB_PASSWORD)
    (connection,) = fetch(tmp_path).connections
    assert connection.type == "database"
    assert {k: p.value for k, p in connection.parameters.items()} == {
        "HostName": "mysql.cluster.local",
        "Password": DB_PASSWORD,
    }


def test_projection_reads_the_current_data_not_stale_links(tmp_path: Path) -> None:
    directory = projected(tmp_path, "orders-db", type="mysql", password="old-password")
    newer = directory / "..2024_05_02_10_00_00.000000002"
    newer.mkdir()
    (newer / "type").write_text("mysql")
    (newer / "password").write_text(DB_PASSWORD)
    (directory / "..data").unlink()
    (directory / "..data").symlink_to(newer.name)  # what the kubelet's atomic swap does
    (connection,) = fetch(tmp_path).connections
    assert connection.parameters["Password"].value == DB_PASSWORD


def test_symlinked_entry_and_symlinked_binding_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    binding(elsewhere, "cache", type="redis", host="redis.local")
    (elsewhere / "redis-password").write_text(DB_PASSWORD + "\n")
    (elsewhere / "cache" / "password").symlink_to(elsewhere / "redis-password")
    root = tmp_path / "root"
    root.mkdir()
    (root / "cache").symlink_to(elsewhere / "cache")
    (connection,) = fetch(root).connections
    assert connection.parameters["Password"].value == DB_PASSWORD and connection.parameters["Password"].secret


def test_hidden_entries_files_and_subdirectories_are_passed_over(tmp_path: Path) -> None:
    directory = binding(tmp_path, "events", type="kafka", bootstrap_servers="k:9092")
    (directory / ".hidden").write_text("x")
    (directory / "nested").mkdir()
    (tmp_path / "README").write_text("not a binding")
    (tmp_path / ".cache").mkdir()
    snapshot = fetch(tmp_path)
    assert [c.name for c in snapshot.connections] == ["events"]
    assert set(snapshot.connections[0].parameters) == {"bootstrap-servers"}
    assert snapshot.warnings == (f"{directory / 'nested'}: a directory, not a value; ignored",)


def test_a_name_choreo_would_refuse_is_skipped_with_a_warning(tmp_path: Path) -> None:
    binding(tmp_path, "db", type="postgresql", password=DB_PASSWORD)
    orders_db(tmp_path)
    snapshot = fetch(tmp_path)
    assert [c.name for c in snapshot.connections] == ["orders-db"]
    assert len(snapshot.warnings) == 1 and "binding 'db' is not a valid connection name" in snapshot.warnings[0]


def test_an_empty_root_gives_no_connections(tmp_path: Path) -> None:
    assert fetch(tmp_path).connections == ()


# ---------------------------------------------------------------- refusals


def test_every_problem_at_once_each_naming_its_file_never_a_value(tmp_path: Path) -> None:
    orders_db(tmp_path)
    binding(tmp_path, "no-type", host="h")
    binding(tmp_path, "big", type="kafka", blob=b"x" * (MAX_ENTRY_BYTES + 1), password=DB_PASSWORD)
    binding(tmp_path, "latin", type="kafka", label=b"caf\xe9 " + DB_PASSWORD.encode())
    binding(tmp_path, "nul", type="kafka", value=b"a\0" + DB_PASSWORD.encode())
    binding(tmp_path, "empty-type", type="  \n")
    os.symlink(tmp_path / "gone", binding(tmp_path, "dangling", type="kafka") / "password")
    message = problems_of(tmp_path)
    assert f"{tmp_path / 'no-type'}: no 'type' entry" in message
    assert f"{tmp_path / 'big' / 'blob'}: larger than 64 KiB" in message
    assert f"{tmp_path / 'latin' / 'label'}: not UTF-8 text (invalid byte at offset 3)" in message
    assert f"{tmp_path / 'nul' / 'value'}: contains a NUL character" in message
    assert f"{tmp_path / 'empty-type' / 'type'}: empty" in message
    assert f"{tmp_path / 'dangling' / 'password'}: cannot read: no such file" in message
    assert DB_PASSWORD not in message and "orders-db" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_entry(tmp_path: Path) -> None:
    secret = binding(tmp_path, "orders-db", type="postgresql") / "password"
    secret.write_text(DB_PASSWORD)
    secret.chmod(0)
    assert f"{secret}: cannot read: Permission denied" in problems_of(tmp_path)


def test_a_fifo_does_not_hang_the_launch(tmp_path: Path) -> None:
    os.mkfifo(binding(tmp_path, "orders-db", type="postgresql") / "password")
    assert f"{tmp_path / 'orders-db' / 'password'}: not a regular file" in problems_of(tmp_path)


def test_duplicate_connection_ids(tmp_path: Path) -> None:
    binding(tmp_path, "alpha", type="http", connection_id="shared-id")
    binding(tmp_path, "beta", type="http", connection_id="shared-id")
    assert f"{tmp_path / 'beta'}: duplicate Connection ID 'shared-id' (also binding 'alpha')" in problems_of(tmp_path)


@pytest.mark.parametrize("make", ["missing", "file"])
def test_root_must_be_a_directory(tmp_path: Path, make: str) -> None:
    root = tmp_path / "bindings"
    if make == "file":
        root.write_text("")
    expected = "no such directory" if make == "missing" else "not a directory"
    assert f"servicebinding:{root}: {expected}" in problems_of(root)


# ---------------------------------------------------------------- the launcher, as a real process

MANIFEST = """
schemaVersion: 1.2
dependencies:
  connectionReferences:
    - name: orders-db
      resourceRef: database:orders-server/orders
  serviceReferences:
    - name: catalog
      connectionConfig: 01ef7a3f-a581-1088-8322-ac5bc449b1d9
      env:
        - {from: ServiceURL, to: CATALOG_URL}
        - {from: client-secret, to: CATALOG_CLIENT_SECRET}
configurations:
  env:
    - name: DATABASE_PASSWORD
      valueFrom:
        connectionRef: {name: orders-db, key: Password}
"""


def bindings_component(tmp_path: Path) -> tuple[Path, Path]:
    directory = tmp_path / "svc"
    write(directory / ".choreo" / "component.yaml", MANIFEST)
    root = tmp_path / "bindings"
    projected(
        root,
        "orders-db",
        type="postgresql\n",
        host="db.cluster.local\n",
        port="5432\n",
        username="orders\n",
        password=DB_PASSWORD + "\n",
        database="orders\n",
    )
    binding(
        root,
        "catalog",
        type="http",
        connection_id="01ef7a3f-a581-1088-8322-ac5bc449b1d9",
        uri="http://catalog.cluster.local/v1",
        client_secret=CLIENT_SECRET,
    )
    return directory, root


def test_run_purely_from_bindings_with_the_root_from_the_environment(tmp_path: Path) -> None:
    directory, root = bindings_component(tmp_path)
    env = run_launcher(
        [
            "-C",
            str(directory),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--backend",
            "servicebinding://",
            "--",
            *DUMP_ENV,
        ],
        env={"SERVICE_BINDING_ROOT": str(root)},
    ).env()
    assert env["CHOREO_ORDERS_DB_HOSTNAME"] == "db.cluster.local"
    assert (env["CHOREO_ORDERS_DB_PORT"], env["CHOREO_ORDERS_DB_DATABASENAME"]) == ("5432", "orders")
    assert env["DATABASE_PASSWORD"] == DB_PASSWORD and "CHOREO_ORDERS_DB_PASSWORD" not in env
    assert "CHOREO_ORDERS_DB_TYPE" not in env and "CHOREO_ORDERS_DB_PROVIDER" not in env
    assert env["CATALOG_URL"] == "http://catalog.cluster.local/v1"
    assert env["CATALOG_CLIENT_SECRET"] == CLIENT_SECRET


def test_plan_masks_binding_secrets(tmp_path: Path) -> None:
    directory, root = bindings_component(tmp_path)
    result = run_launcher(
        [
            "-C",
            str(directory),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--backend",
            f"servicebinding://{root}",
            "plan",
        ]
    )
    assert result.returncode == 0, result.stderr
    assert "db.cluster.local" in result.stdout and f"servicebinding:{root}" in result.stdout
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert CLIENT_SECRET not in result.stdout + result.stderr


def test_unset_root_is_a_configuration_error(tmp_path: Path) -> None:
    directory, _ = bindings_component(tmp_path)
    result = run_launcher(
        ["-C", str(directory), "-p", "bookstore", "-c", "orders-service", "--backend", "servicebinding://", "check"]
    )
    assert result.returncode == 78
    assert "SERVICE_BINDING_ROOT is not set" in result.stderr and "Traceback" not in result.stderr


def test_broken_binding_stops_the_launch_without_showing_values(tmp_path: Path) -> None:
    directory, root = bindings_component(tmp_path)
    (root / "catalog" / "type").unlink()
    (root / "catalog" / "blob").write_bytes(b"\xff" + CLIENT_SECRET.encode())
    result = run_launcher(
        [
            "-C",
            str(directory),
            "-p",
            "bookstore",
            "-c",
            "orders-service",
            "--backend",
            f"servicebinding://{root}",
            "--",
            "true",
        ]
    )
    assert result.returncode == 78
    assert f"{root / 'catalog' / 'blob'}: not UTF-8 text" in result.stderr
    assert CLIENT_SECRET not in result.stderr and DB_PASSWORD not in result.stderr


def test_layered_after_the_local_store_a_binding_overrides_one_connection(tmp_path: Path) -> None:
    root = tmp_path / "bindings"
    projected(
        root,
        "orders-db",
        type="postgresql",
        host="db.cluster.local",
        port="6432",
        username="orders",
        password=DB_PASSWORD,
        database="orders",
    )
    result = run_launcher(
        [
            "-C",
            str(EXAMPLE),
            "--mount-root",
            str(tmp_path / "mnt"),
            "--backend",
            str(EXAMPLE / "connections.yaml"),
            "--backend",
            f"servicebinding://{root}",
            "--",
            *DUMP_ENV,
        ]
    )
    env = result.env()
    assert (env["CHOREO_ORDERS_DB_HOSTNAME"], env["CHOREO_ORDERS_DB_PORT"]) == ("db.cluster.local", "6432")
    assert env["DATABASE_PASSWORD"] == DB_PASSWORD
    assert env["CHOREO_BOOK_CATALOG_SERVICEURL"] == "http://localhost:9090/catalog"  # still the store's
    assert env["CHOREO_BOOK_CATALOG_CONSUMERKEY"] == "bookstore-dev-client"
    assert (env["LOG_LEVEL"], env["FEATURE_FLAGS"]) == ("debug", "new-checkout,beta-search")
    assert DB_PASSWORD not in result.stderr
