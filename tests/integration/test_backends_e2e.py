"""The README's example runs against every backend with the same manifest, changing only the URL.

A real etcd member (started by the suite) and the real HTTP contract server answer; the launcher runs
as a process and the child reports its environment. All three must give the service the same values.
"""

from __future__ import annotations

from pathlib import Path

from support.etcd_cluster import ETCD_ALLOW_NO_AUTH, Cluster, unique_prefix
from support.http_fixtures import TOKEN, contract
from support.process import DUMP_ENV, EXAMPLE, run_launcher

IDENTITY = ["-p", "bookstore", "-c", "orders-service"]


def child_env(backend: str, tmp_path: Path, **env: str) -> dict[str, str]:
    result = run_launcher(
        [
            "-C",
            str(EXAMPLE),
            *IDENTITY,
            "--backend",
            backend,
            "--mount-root",
            str(tmp_path / "mounts"),
            "--",
            *DUMP_ENV,
        ],
        env=env,
    )
    environment = result.env()
    environment.pop("CHOREO_MOUNT_ROOT")
    return environment


def test_local_http_and_etcd_give_the_service_the_same_environment(etcd_single: Cluster, tmp_path: Path) -> None:
    local = child_env(str(EXAMPLE / "connections.yaml"), tmp_path)
    etcd_url = etcd_single.url(unique_prefix())
    pushed = run_launcher(["store", "push", "--store", str(EXAMPLE / "connections.yaml"), etcd_url])
    assert pushed.returncode == 0, pushed.stderr
    from_etcd = child_env(etcd_url, tmp_path, **ETCD_ALLOW_NO_AUTH)  # etcd_single has auth off
    with contract(tmp_path) as server:
        from_http = child_env(f"http://127.0.0.1:{server.server_address[1]}", tmp_path, CHOREO_RUN_TOKEN=TOKEN)
    assert local == from_etcd == from_http
    assert local["CHOREO_BOOK_CATALOG_CONSUMERKEY"] == "bookstore-dev-client"


def test_a_local_file_layered_over_etcd_overrides_one_connection(etcd_single: Cluster, tmp_path: Path) -> None:
    etcd_url = etcd_single.url(unique_prefix())
    assert run_launcher(["store", "push", "--store", str(EXAMPLE / "connections.yaml"), etcd_url]).returncode == 0
    override = tmp_path / "mine.yaml"
    override.write_text("""
version: 1
projects:
  - name: bookstore
    components: [{name: orders-service}]
    connections:
      - id: 01ef7f1b-5645-1476-8247-1eec5fd8b4be
        name: orders-db
        type: database
        visibility: component
        component: orders-service
        parameters: {HostName: 127.0.0.1, Port: 15432, Username: me, Password: local-pw, DatabaseName: scratch}
""")
    environment = run_launcher(
        [
            "-C",
            str(EXAMPLE),
            *IDENTITY,
            "--backend",
            etcd_url,
            "--backend",
            str(override),
            "--mount-root",
            str(tmp_path / "m"),
            "--",
            *DUMP_ENV,
        ],
        env=ETCD_ALLOW_NO_AUTH,  # etcd_single has auth off
    ).env()
    assert environment["CHOREO_ORDERS_DB_PORT"] == "15432"  # the later layer wins
    assert environment["CHOREO_BOOK_CATALOG_SERVICEURL"] == "http://localhost:9090/catalog"  # from etcd
