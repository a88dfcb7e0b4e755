"""--watch with real processes: a real local store and a real etcd change under a running service.

The service appends a line to a log each time it starts (or reloads); the tests wait for the lines
they expect (bounded), then check there are exactly those: one restart per burst, none for changes
that do not affect the component, none while the store is broken.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support.etcd_cluster import ETCD_ALLOW_NO_AUTH, Cluster, unique_prefix
from support.http_fixtures import TOKEN, contract
from support.process import EXAMPLE, clean_environment, example_launch, run_launcher

SERVICE = (
    'echo "start $CHOREO_ORDERS_DB_HOSTNAME $$" >> "$LOG"; '
    'trap \'echo "term $$" >> "$LOG"; exit 0\' TERM; '
    'trap \'. "$CHOREO_RELOAD_ENV_FILE"; echo "reload $CHOREO_ORDERS_DB_HOSTNAME $$" >> "$LOG"\' HUP; '
    "while true; do sleep 0.05; done"
)


class Watched:
    """choreo-run --watch over a copy of the example, and the log its service writes."""

    def __init__(
        self, tmp_path: Path, *extra: str, backend: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.dir = tmp_path / "orders-service"
        shutil.copytree(EXAMPLE, self.dir)
        self.log = tmp_path / "service.log"
        self.log.touch()
        backend_args = ["--backend", backend] if backend else []
        self.process = subprocess.Popen(
            example_launch(
                self.dir,
                tmp_path / "m",
                *backend_args,
                *("--watch", "--watch-interval", "0.1", "--grace-period", "5"),
                *extra,
                command=["sh", "-c", SERVICE],
            ),
            env=clean_environment({"LOG": str(self.log), **(env or {})}),
            stderr=subprocess.PIPE,
            text=True,
        )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def wait_for(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.lines()) < count:
            assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
            assert time.monotonic() < deadline, self.lines()
            time.sleep(0.05)
        return self.lines()

    def quiet_period(self) -> None:
        """Long enough for several intervals and a debounce: a change would have acted by then."""
        time.sleep(1.5)

    def edit_store(self, old: str, new: str) -> None:
        store = self.dir / "connections.yaml"
        store.write_text(store.read_text().replace(old, new, 1))

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def watched(tmp_path: Path):
    started = Watched(tmp_path)
    yield started
    if started.process.poll() is None:
        # SIGTERM, as in life: the supervisor stops its service. A SIGKILL would leave the service
        # running, adopted by init, for the rest of the machine's life.
        try:
            started.stop()
        except subprocess.TimeoutExpired:
            started.process.kill()
            started.process.wait()


def words(lines: list[str]) -> list[tuple[str, str]]:
    return [tuple(line.split()[:2]) for line in lines]


def test_a_burst_of_changes_causes_exactly_one_restart_with_the_new_values(watched: Watched) -> None:
    watched.wait_for(1)
    watched.edit_store("development: localhost,", "development: db1,")
    watched.edit_store("development: db1,", "development: db2,")
    lines = watched.wait_for(3)
    watched.quiet_period()
    assert words(watched.lines()) == [("start", "localhost"), ("term", lines[0].split()[2]), ("start", "db2")]
    code, _ = watched.stop()
    assert code == 0  # the service's own exit code on our SIGTERM


def test_changes_that_do_not_affect_the_component_do_nothing(watched: Watched) -> None:
    watched.wait_for(1)
    watched.edit_store("HostName: billing-db.internal", "HostName: billing-db2.internal")  # another component's
    watched.edit_store("# A local connection store", "# An edited comment in a local connection store")
    watched.quiet_period()
    assert words(watched.lines()) == [("start", "localhost")]


def test_an_invalid_change_keeps_the_service_and_recovers(watched: Watched) -> None:
    watched.wait_for(1)
    watched.edit_store("Username: orders", "Username: [broken")
    watched.quiet_period()
    assert words(watched.lines()) == [("start", "localhost")]  # still the first service, untouched
    watched.edit_store("Username: [broken", "Username: orders")
    watched.edit_store("development: localhost,", "development: db-fixed,")
    watched.wait_for(3)
    assert words(watched.lines())[1:] == [("term", watched.lines()[0].split()[2]), ("start", "db-fixed")]
    _, err = watched.stop()
    assert "invalid YAML" in err and "keeps its last good environment" in err
    assert "the store resolves again" in err


def test_the_signal_alternative_reloads_without_a_restart(tmp_path: Path) -> None:
    watched = Watched(tmp_path, "--reload-signal", "HUP")
    try:
        first = watched.wait_for(1)[0].split()
        watched.edit_store("development: localhost,", "development: db-reloaded,")
        watched.wait_for(2)
        watched.quiet_period()
        assert [line.split() for line in watched.lines()] == [first, ["reload", "db-reloaded", first[2]]]
    finally:
        watched.stop()


def test_a_stop_signal_during_watch_stops_for_good(watched: Watched) -> None:
    watched.wait_for(1)
    code, _ = watched.stop()
    assert code == 0
    time.sleep(0.3)
    assert words(watched.lines()) == [("start", "localhost"), ("term", watched.lines()[0].split()[2])]


def test_etcd_changes_are_seen_through_the_watch_api(etcd_single: Cluster, tmp_path: Path) -> None:
    url = etcd_single.url(unique_prefix())
    store = tmp_path / "store.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    assert run_launcher(["store", "push", "--store", str(store), url]).returncode == 0
    watched = Watched(tmp_path, backend=url, env=ETCD_ALLOW_NO_AUTH)  # etcd_single has auth off
    try:
        watched.wait_for(1)
        store.write_text(store.read_text().replace("development: localhost,", "development: db-from-etcd,"))
        assert run_launcher(["store", "push", "--store", str(store), url]).returncode == 0
        watched.wait_for(3)
        assert words(watched.lines())[2] == ("start", "db-from-etcd")
    finally:
        watched.stop()


def test_watch_refuses_exec_mode() -> None:
    result = run_launcher(["-C", str(EXAMPLE), "--watch", "--exec", "--", "true"])
    assert result.returncode == 64 and "--watch needs supervise mode" in result.stderr


def test_a_rotated_kubernetes_binding_restarts_the_service(tmp_path: Path) -> None:
    """Kubernetes rotates a projected secret by re-pointing the binding's `..data` link."""
    binding = tmp_path / "bindings" / "orders-db"
    for version, host in (("v1", "db-binding-1"), ("v2", "db-binding-2")):
        data = binding / f"..{version}"
        data.mkdir(parents=True)
        for name, value in (
            ("type", "postgresql"),
            ("host", host),
            ("port", "5432"),
            ("username", "u"),
            ("password", "p-secret"),
            ("database", "orders"),
        ):
            (data / name).write_text(value + "\n")
    (binding / "..data").symlink_to("..v1")
    for name in ("type", "host", "port", "username", "password", "database"):
        (binding / name).symlink_to(f"..data/{name}")
    store = EXAMPLE / "connections.yaml"
    watched = Watched(tmp_path, "--backend", f"servicebinding://{binding.parent}", backend=str(store))
    try:
        assert watched.wait_for(1)[0].split()[1] == "db-binding-1"
        (binding / "..data.tmp").symlink_to("..v2")
        (binding / "..data.tmp").rename(binding / "..data")  # an atomic swap, as the kubelet does it
        watched.wait_for(3)
        assert words(watched.lines())[2] == ("start", "db-binding-2")
    finally:
        watched.stop()


def test_an_http_backend_is_polled_with_conditional_requests(tmp_path: Path) -> None:
    store = tmp_path / "served.yaml"
    shutil.copy(EXAMPLE / "connections.yaml", store)
    with contract(tmp_path, str(store)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        watched = Watched(tmp_path, backend=url, env={"CHOREO_RUN_TOKEN": TOKEN})
        try:
            watched.wait_for(1)
            watched.quiet_period()
            unchanged = list(server.seen.statuses)  # type: ignore[attr-defined]
            assert 304 in unchanged  # polling an unchanged store costs a 304, not a snapshot
            store.write_text(store.read_text().replace("development: localhost,", "development: db-over-http,"))
            watched.wait_for(3)
            assert words(watched.lines())[2] == ("start", "db-over-http")
        finally:
            watched.stop()


def test_every_restart_keeps_the_first_starts_guarantees(tmp_path: Path) -> None:
    """Masking, scrubbed settings and the files written hold for each restart, not only the first start."""
    component = tmp_path / "orders-service"
    shutil.copytree(EXAMPLE, component)
    log = tmp_path / "service.log"
    log.touch()
    service = (
        'echo "start $$"  >> "$LOG"; echo "password=$DATABASE_PASSWORD"; '
        'env | grep -c "^CHOREO_RUN_" >> "$LOG"; '
        'trap "exit 0" TERM; while true; do sleep 0.05; done'
    )
    process = subprocess.Popen(
        example_launch(
            component,
            tmp_path / "m",
            *("--watch", "--watch-interval", "0.1", "--mask-output"),
            command=["sh", "-c", service],
        ),
        env=clean_environment({"LOG": str(log), "CHOREO_RUN_TOKEN": "launcher-own-token"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = component / "connections.yaml"
    passwords = ["dev-db-password-3b8f"]
    try:
        for restart in range(1, 4):
            deadline = time.monotonic() + 30
            while log.read_text().count("start") < restart:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            time.sleep(0.3)  # the service has printed its password through the masking pump
            if restart < 3:
                passwords.append(f"rotated-db-password-{restart}x9")
                store.write_text(store.read_text().replace(passwords[-2], passwords[-1]))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    starts = [line for line in log.read_text().splitlines() if line.startswith("start")]
    assert len(starts) == 3
    assert out.count("password=********") == 3, out
    for password in passwords:
        assert password not in out and password not in err
    assert [line for line in log.read_text().splitlines() if not line.startswith("start")] == ["0", "0", "0"]
