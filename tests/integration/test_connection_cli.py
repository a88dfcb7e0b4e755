"""`choreo-run connection` as real processes, against a store file and a real etcd member.

The walkthrough of docs/connections.md runs as written: from an empty store, create a project
connection and a component connection, paste the printed snippets into a manifest, and launch.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from support.etcd_cluster import ETCD_ALLOW_NO_AUTH, ROOT_PASSWORD, Cluster, unique_prefix
from support.process import DUMP_ENV, clean_environment, run_launcher, write

CATALOG = [
    "connection",
    "create",
    "book-catalog",
    "--type",
    "service",
    "--visibility",
    "project",
    "--oauth",
    "--token-url",
    "http://localhost:9443/oauth2/token",
    "--resource-ref",
    "service:/bookstore/catalog-service/v1/main/PROJECT",
    "--param",
    "ServiceURL=http://localhost:9090",
]
ORDERS_DB = [
    "connection",
    "create",
    "orders-db",
    "--type",
    "database",
    "--visibility",
    "component",
    "-c",
    "orders-service",
    "--param",
    "HostName=localhost",
    "--param",
    "Port=5432",
    "--secret",
    "Password",
]
DB_PASSWORD = "s3cret-db-password-91"


def cli(backend: str, args: list[str], stdin: str | None = None, **env: str):
    result = run_launcher([*args, "-p", "bookstore", "--backend", backend], env=env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result


def snippet(output: str) -> list[dict]:
    """The YAML blocks the command printed, each starting at `dependencies:`, as a user copies them."""
    blocks = output.split("dependencies:\n")[1:]
    return [yaml.safe_load("dependencies:\n" + block.split("\n\n")[0]) for block in blocks]


def launch(directory: Path, backend: str, component: str, **env: str) -> dict[str, str]:
    return run_launcher(
        ["-C", str(directory), "-p", "bookstore", "-c", component, "--backend", backend, "--", *DUMP_ENV],
        env={**ETCD_ALLOW_NO_AUTH, **env},  # the etcd param is etcd_single, auth off; a file store ignores it
    ).env()


@pytest.fixture(params=["file", "etcd"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path / "store" / "connections.yaml")
    return request.getfixturevalue("etcd_single").url(unique_prefix())


def test_newcomer_walkthrough_from_an_empty_store_to_a_running_service(backend: str, tmp_path: Path) -> None:
    catalog = cli(backend, CATALOG)
    database = cli(backend, ORDERS_DB, stdin=DB_PASSWORD + "\n")
    assert DB_PASSWORD not in database.stdout + database.stderr
    by_name, by_id = snippet(catalog.stdout)
    _, db_by_id = snippet(database.stdout)
    assert by_id["dependencies"]["serviceReferences"][0]["connectionConfig"] in catalog.stdout.splitlines()[1]
    manifest = {
        "schemaVersion": 1.2,
        "dependencies": {
            "connectionReferences": by_name["dependencies"]["connectionReferences"],  # by name, default variables
            "serviceReferences": db_by_id["dependencies"]["serviceReferences"],
        },
    }  # by Connection ID
    write(tmp_path / "orders-service" / ".choreo" / "component.yaml", yaml.safe_dump(manifest))
    environment = launch(tmp_path / "orders-service", backend, "orders-service")
    assert environment["CHOREO_BOOK_CATALOG_SERVICEURL"] == "http://localhost:9090"
    assert environment["CHOREO_BOOK_CATALOG_TOKENURL"] == "http://localhost:9443/oauth2/token"
    assert len(environment["CHOREO_BOOK_CATALOG_CONSUMERSECRET"]) >= 43
    assert environment["CHOREO_ORDERS_DB_PASSWORD"] == DB_PASSWORD
    assert environment["CHOREO_ORDERS_DB_PORT"] == "5432"
    for variable in ("CHOREO_BOOK_CATALOG_CONSUMERKEY", "CHOREO_ORDERS_DB_HOSTNAME"):
        assert f"  {variable}" in catalog.stdout + database.stdout  # listed as what the service reads


def oauth_credentials(directory: Path, backend: str, component: str) -> tuple[str, str]:
    environment = launch(directory, backend, component)
    return environment["CHOREO_BOOK_CATALOG_CONSUMERKEY"], environment["CHOREO_BOOK_CATALOG_CONSUMERSECRET"]


def test_rotating_the_shared_oauth_secret_reaches_every_component(backend: str, tmp_path: Path) -> None:
    by_name = snippet(cli(backend, CATALOG).stdout)[0]
    for component in ("orders-service", "billing-service"):
        cli(backend, ["connection", "add-component", component])
        write(tmp_path / component / ".choreo" / "component.yaml", yaml.safe_dump({"schemaVersion": 1.2, **by_name}))
    before = {c: oauth_credentials(tmp_path / c, backend, c) for c in ("orders-service", "billing-service")}
    rotated = cli(backend, ["connection", "rotate", "book-catalog"])
    assert "bookstore-shared" in rotated.stdout and before["orders-service"][1] not in rotated.stdout
    after = {c: oauth_credentials(tmp_path / c, backend, c) for c in ("orders-service", "billing-service")}
    assert before["orders-service"] == before["billing-service"]  # one shared application
    assert after["orders-service"] == after["billing-service"]
    assert after["orders-service"][0] == before["orders-service"][0]  # same client ID
    assert after["orders-service"][1] != before["orders-service"][1]  # new secret


def test_secrets_are_masked_and_never_taken_from_flags(tmp_path: Path) -> None:
    store = str(tmp_path / "connections.yaml")
    cli(store, ORDERS_DB, stdin=DB_PASSWORD + "\n")
    shown = cli(store, ["connection", "show", "orders-db"]).stdout + cli(store, ["connection", "list"]).stdout
    assert DB_PASSWORD not in shown and "********" in shown
    assert DB_PASSWORD in cli(store, ["connection", "show", "orders-db", "--reveal"]).stdout
    refused = run_launcher(["connection", "update", "orders-db", "--param", "Password=oops", "--backend", store])
    assert refused.returncode == 64 and "never on the command line" in refused.stderr and "oops" not in refused.stderr
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600  # a new store holds secrets


def test_param_file_per_environment_and_update_keep_the_files_mode(tmp_path: Path) -> None:
    store = tmp_path / "connections.yaml"
    params = write(
        tmp_path / "params.yaml",
        """
        HostName: {values: {development: localhost, production: db.internal}}
        Password: {values: {development: dev-pw, production: prod-pw}}
    """,
    )
    cli(
        str(store),
        [
            "connection",
            "create",
            "orders-db",
            "--type",
            "database",
            "--visibility",
            "component",
            "-c",
            "orders-service",
            "--param-file",
            str(params),
        ],
    )
    store.chmod(0o640)
    cli(
        str(store),
        ["connection", "update", "orders-db", "--env", "production", "--secret", "Password"],
        stdin="new-prod-pw\n",
    )
    assert stat.S_IMODE(store.stat().st_mode) == 0o640
    write(
        tmp_path / "svc" / ".choreo" / "component.yaml",
        """
        schemaVersion: 1.2
        dependencies:
          connectionReferences: [{name: orders-db, resourceRef: "database:orders-db"}]
    """,
    )
    production = launch(tmp_path / "svc", str(store), "orders-service", CHOREO_RUN_ENV="production")
    assert (production["CHOREO_ORDERS_DB_HOSTNAME"], production["CHOREO_ORDERS_DB_PASSWORD"]) == (
        "db.internal",
        "new-prod-pw",
    )
    assert launch(tmp_path / "svc", str(store), "orders-service")["CHOREO_ORDERS_DB_PASSWORD"] == "dev-pw"


def test_delete_is_refused_while_a_manifest_references_it_and_prune_removes_the_application(tmp_path: Path) -> None:
    store = str(tmp_path / "connections.yaml")
    by_name = snippet(cli(store, CATALOG).stdout)[0]
    write(tmp_path / "svc" / ".choreo" / "component.yaml", yaml.safe_dump({"schemaVersion": 1.2, **by_name}))
    refused = run_launcher(["connection", "delete", "book-catalog", "-C", str(tmp_path / "svc"), "--backend", store])
    assert refused.returncode == 64 and "connectionReferences[0].name" in refused.stderr
    deleted = cli(store, ["connection", "delete", "book-catalog", "-C", str(tmp_path / "svc"), "--force"])
    assert "kept" in deleted.stdout and "bookstore-shared" in cli(store, ["connection", "list"]).stdout
    cli(store, [*CATALOG[:2], "reviews", *CATALOG[3:]])  # joins the kept application, same client ID
    assert "pruned" not in (gone := cli(store, ["connection", "delete", "reviews", "--prune"]).stdout)
    assert "deleted (--prune)" in gone and "bookstore-shared" not in cli(store, ["connection", "list"]).stdout


def create_many(backend: str, names: list[str]) -> list[subprocess.CompletedProcess]:
    """Several writers at once, each a real process creating one connection."""

    def one(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "launcher",
                "connection",
                "create",
                name,
                "--type",
                "database",
                "--visibility",
                "project",
                "-p",
                "bookstore",
                "--param",
                f"HostName={name}",
                "--backend",
                backend,
            ],
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(one, names))


def test_concurrent_writers_lose_nothing(backend: str) -> None:
    names = [f"db-{index}" for index in range(6)]
    results = create_many(backend, names)
    assert [r.returncode for r in results] == [0] * len(names), [r.stderr for r in results]
    listed = cli(backend, ["connection", "list"]).stdout
    assert all(f" {name} " in listed for name in names)


def test_etcd_with_auth_takes_credentials_from_the_environment(etcd_auth: Cluster) -> None:
    url = etcd_auth.url(unique_prefix())
    denied = run_launcher(["connection", "list", "--backend", url])
    assert denied.returncode == 77
    created = cli(url, ORDERS_DB, stdin="pw\n", CHOREO_RUN_ETCD_USER="root", CHOREO_RUN_ETCD_PASSWORD=ROOT_PASSWORD)
    assert "Connection ID:" in created.stdout


def test_racing_writers_in_one_process_all_land(backend: str) -> None:
    """Eight writers released at once: each loss is someone else's commit, so eight attempts suffice.
    (This caught a lost update when the guard used the revision of a pinned second read.)"""
    from launcher.backends import BackendSettings
    from launcher.backends.local.store_file import StoredParameter
    from launcher.backends.writer import open_target
    from launcher.connections import operations as ops

    start = threading.Barrier(8)

    def one(index: int) -> None:
        spec = ops.ConnectionSpec(
            "bookstore", f"db-{index}", "database", "project", parameters={"HostName": StoredParameter({"*": "h"})}
        )
        target = open_target(backend, BackendSettings())
        start.wait()
        target.modify(lambda store: ops.create_connection(store, spec))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(8)))
    names = {c.name for c in open_target(backend, BackendSettings()).read().all_connections()}
    assert names == {f"db-{index}" for index in range(8)}


def test_a_component_connection_says_when_it_registers_its_component(tmp_path: Path) -> None:
    """A component connection registers its owner (docs/connections.md); a misspelt -c would do so
    silently, so the launch would later find its connection missing. It says so, with the near miss."""
    store = str(tmp_path / "connections.yaml")
    first = cli(store, ORDERS_DB, stdin=DB_PASSWORD + "\n")
    assert "registered it" in first.stderr and "orders-service" in first.stderr  # a new store: its first
    again = [*ORDERS_DB[:2], "orders-cache", *ORDERS_DB[3:]]
    assert "registered" not in cli(store, again, stdin=DB_PASSWORD + "\n").stderr  # a known component
    typo = [arg if arg != "orders-service" else "ordres-service" for arg in [*again[:2], "orders-queue", *again[3:]]]
    misspelt = cli(store, typo, stdin=DB_PASSWORD + "\n")
    assert (
        "component 'ordres-service' was not in project 'bookstore'; registered it; did you mean 'orders-service'?"
        in misspelt.stderr
    )
    assert DB_PASSWORD not in misspelt.stderr + misspelt.stdout
