"""One contract, asserted of every backend (docs/backends/README.md): real files, a real etcd member with
auth and per-component users, the real HTTP contract server, real binding directories, and a layered stack.

Every backend is opened the way the launcher opens it (`open_backend` / `open_backends` on a URL). What
a backend cannot express is skipped with the reason, never asserted vacuously.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml

from launcher.backends import Backend, BackendSettings, backend_class, open_backend, parse_backend_url
from launcher.backends.etcd.sync import create_roles
from launcher.backends.local.store_file import parse_store
from launcher.errors import AccessDenied, BackendUnavailable, UsageError
from launcher.model import COMPONENT, Identity
from launcher.resolve.pipeline import Settings, open_backends
from support.etcd_cluster import ROOT_PASSWORD, Cluster, unique_prefix
from support.http_fixtures import BILLING_TOKEN, EXAMPLE_STORE, TOKEN, contract

ORDERS = Identity("bookstore", "orders-service", "development")
BILLING = Identity("bookstore", "billing-service", "development")
DB_PASSWORD = "dev-db-password-3b8f"  # orders-db's development Password in the example store
LAYERED_PASSWORD = "layered-override-pw-5e1"
ETCD_PASSWORD_HINT = "wrong-password-9f"
DEFAULTS = BackendSettings()
FAST = BackendSettings(timeout=0.3, deadline=1.0)  # for the unreachable cases: the whole test stays short
NOT_REMOTE = "reads local files: nothing remote can be unreachable or slow (a missing file is exit 78, not 69)"


@dataclasses.dataclass
class Case:
    """One backend under the contract, and what it declares it can do."""

    open: Callable[[], Backend]  # as the identity ORDERS runs it
    open_other: Callable[[], Backend]  # as BILLING runs it (its credentials, its binding root)
    url: str  # the URL (the last layer's, for a stack)
    expected: dict[str, dict[str, str]]  # ORDERS sees exactly these connections, with these values
    writable: bool = False
    polled: bool = False
    watches_paths: bool = False
    live_watch: bool = False
    guesses: bool = False
    layer_count: int = 1
    denied: Callable[[], Backend] | None = None  # fetching ORDERS with it must be AccessDenied
    why_no_denial: str = ""
    unreachable: Callable[[str], Backend] | None = None  # given a silent host:port
    why_never_unreachable: str = NOT_REMOTE
    touch: Callable[[], None] | None = None  # a change a live watch must notice
    writer: Callable[[], Backend] | None = None  # who may write, when not `open` (etcd: root, not a component)
    secrets: tuple[str, ...] = ()  # credentials that must never show in description or repr


EXPECTED = {
    "orders-db": {"Password": DB_PASSWORD, "HostName": "localhost"},
    "book-catalog": {"ServiceURL": "http://localhost:9090/catalog"},
}


# ---------------------------------------------------------------- one builder per backend


def local_case(tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest) -> Case:
    store = tmp_path / "connections.yaml"
    shutil.copy(EXAMPLE_STORE, store)
    return Case(
        open=lambda: open_backend(str(store), BackendSettings()),
        open_other=lambda: open_backend(f"file://{store}", BackendSettings()),
        url=str(store),
        expected=EXPECTED,
        writable=True,
        watches_paths=True,
        guesses=True,
        why_no_denial="holds every project and has no credentials to refuse: crossing a visibility "
        "boundary is refused by the resolver (exit 77), from the snapshot's `foreign`",
    )


@pytest.fixture(scope="module")
def etcd_bookstore(etcd_auth: Cluster) -> tuple[Cluster, str, dict[str, tuple[str, str]]]:
    """The example store pushed as root, with one read-only user per component, as `store roles` makes them."""
    prefix = unique_prefix()
    root = BackendSettings(username="root", password=ROOT_PASSWORD)
    open_backend(etcd_auth.url(prefix), root).push(
        parse_store(yaml.safe_load(Path(EXAMPLE_STORE).read_text()), "example.yaml")
    )
    granted = create_roles(etcd_auth.url(prefix), root, "bookstore", users=True)
    return etcd_auth, prefix, {access.component: (access.role, access.password) for access in granted}


def etcd_case(tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest) -> Case:
    cluster, prefix, users = request.getfixturevalue("etcd_bookstore")
    url = cluster.url(prefix)

    def as_user(component: str, password: str | None = None) -> Callable[[], Backend]:
        user, real = users[component]
        return lambda: open_backend(
            url, BackendSettings(username=user, password=password or real, timeout=1.0, deadline=5.0)
        )

    def touch() -> None:  # a config group only: the connections other tests assert stay as they are
        root = open_backend(url, BackendSettings(username="root", password=ROOT_PASSWORD))
        text = Path(EXAMPLE_STORE).read_text().replace("new-checkout,beta-search", f"flag-{time.time_ns()}")
        root.push(parse_store(yaml.safe_load(text), "example.yaml"))

    return Case(
        open=as_user("orders-service"),
        open_other=as_user("billing-service"),
        url=url,
        expected=EXPECTED,
        writable=True,
        live_watch=True,
        touch=touch,
        writer=lambda: open_backend(url, BackendSettings(username="root", password=ROOT_PASSWORD)),
        denied=as_user("orders-service", ETCD_PASSWORD_HINT),
        unreachable=lambda address: open_backend(
            f"etcd://{address}/{prefix}",
            FAST.replace(username=users["orders-service"][0], password=users["orders-service"][1]),
        ),
        secrets=(users["orders-service"][1], users["billing-service"][1], ROOT_PASSWORD),
    )


def http_case(tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest) -> Case:
    server = stack.enter_context(contract(tmp_path))
    return Case(
        open=lambda: open_backend(server.url, BackendSettings(token=TOKEN, timeout=1.0, deadline=5.0)),
        open_other=lambda: open_backend(server.url, BackendSettings(token=BILLING_TOKEN)),
        url=server.url,
        expected=EXPECTED,
        polled=True,
        denied=lambda: open_backend(server.url, BackendSettings(token=BILLING_TOKEN)),
        unreachable=lambda address: open_backend(f"http://{address}", FAST.replace(token=TOKEN)),
        secrets=(TOKEN, BILLING_TOKEN),
    )


def bindings(root: Path, **connections: dict[str, str]) -> Path:
    """Binding directories as servicebinding.io projects them: one directory per binding, a file per entry."""
    for name, entries in connections.items():
        (root / name).mkdir(parents=True)
        for entry, value in entries.items():
            (root / name / entry).write_text(value + "\n")
    return root


def servicebinding_case(tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest) -> Case:
    # Each workload gets its own root: the cluster projects only the bindings of that workload.
    orders = bindings(
        tmp_path / "orders",
        **{
            "orders-db": {"type": "postgresql", "host": "localhost", "password": DB_PASSWORD},
            "book-catalog": {"type": "http", "uri": "http://localhost:9090/catalog"},
        },
    )
    billing = bindings(tmp_path / "billing", **{"billing-db": {"type": "postgresql", "password": "b-pw"}})
    return Case(
        open=lambda: open_backend(f"servicebinding://{orders}", BackendSettings()),
        open_other=lambda: open_backend(f"servicebinding:{billing}", BackendSettings()),
        url=f"servicebinding://{orders}",
        expected=EXPECTED,
        watches_paths=True,
        why_no_denial="the kubelet decides what is projected; there are no credentials to refuse",
    )


def layered_case(tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest) -> Case:
    shared = tmp_path / "shared.yaml"
    shutil.copy(EXAMPLE_STORE, shared)
    personal = tmp_path / "mine.yaml"
    personal.write_text(f"""
version: 1
projects:
  - name: bookstore
    components: [{{name: orders-service}}, {{name: billing-service}}]
    connections:
      - {{id: 01ef7f1b-5645-1476-8247-1eec5fd8b4be, name: orders-db, type: database, visibility: component,
          component: orders-service, parameters: {{HostName: 127.0.0.1, Password: {LAYERED_PASSWORD}}}}}
""")
    personal.chmod(0o600)
    server = stack.enter_context(contract(tmp_path))

    def stack_of(*urls: str, settings: BackendSettings = DEFAULTS) -> Callable[[], Backend]:
        return lambda: open_backends(Settings(backends=urls, backend_settings=settings))

    expected = {**EXPECTED, "orders-db": {"Password": LAYERED_PASSWORD, "HostName": "127.0.0.1"}}
    return Case(
        open=stack_of(str(shared), str(personal)),
        open_other=stack_of(str(shared), str(personal)),
        url=str(personal),
        expected=expected,
        writable=False,
        watches_paths=True,
        guesses=True,
        layer_count=2,
        # A refusal or an outage of any layer is the stack's: it never answers with fewer layers.
        denied=stack_of(str(shared), server.url, settings=BackendSettings(token=BILLING_TOKEN)),
        unreachable=lambda address: stack_of(str(shared), f"http://{address}", settings=FAST.replace(token=TOKEN))(),
        secrets=(BILLING_TOKEN, TOKEN),
    )


BUILDERS = {
    "local": local_case,
    "etcd": etcd_case,
    "http": http_case,
    "servicebinding": servicebinding_case,
    "layered": layered_case,
}


@pytest.fixture(params=list(BUILDERS))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with ExitStack() as stack:
        yield BUILDERS[request.param](tmp_path, stack, request)


@contextmanager
def silent_address() -> Iterator[str]:
    """host:port of a loopback socket that accepts connections (into the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


# ---------------------------------------------------------------- the contract


def test_contract_snapshot_for_an_identity(case: Case) -> None:
    backend = case.open()
    snapshot = backend.fetch(ORDERS)
    assert snapshot.identity == ORDERS
    assert snapshot.backend == backend.description
    found = {c.name: c for c in snapshot.connections}
    assert set(found) == set(case.expected)
    for name, values in case.expected.items():
        assert {key: found[name].parameters[key].value for key in values} == values
    assert found["orders-db"].parameters["Password"].secret


def test_contract_a_component_never_sees_another_components_connection(case: Case) -> None:
    for backend, identity, own, others in (
        (case.open(), ORDERS, "orders-db", "billing-db"),
        (case.open_other(), BILLING, "billing-db", "orders-db"),
    ):
        snapshot = backend.fetch(identity)
        names = {c.name for c in snapshot.connections}
        assert own in names and others not in names
        for connection in snapshot.connections:
            assert connection.project == identity.project
            assert connection.visibility != COMPONENT or connection.component == identity.component


def test_contract_access_denied_is_its_own_failure(case: Case) -> None:
    if case.denied is None:
        pytest.skip(case.why_no_denial)
    with pytest.raises(AccessDenied) as denied:
        case.denied().fetch(ORDERS)
    assert denied.value.exit_code == 77
    assert not any(secret in str(denied.value) for secret in (*case.secrets, ETCD_PASSWORD_HINT, DB_PASSWORD))


def test_contract_unreachable_is_backend_unavailable_within_the_deadline(case: Case) -> None:
    if case.unreachable is None:
        pytest.skip(case.why_never_unreachable)
    with silent_address() as address:
        backend = case.unreachable(address)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as unavailable:
            backend.fetch(ORDERS)
        elapsed = time.monotonic() - started
    assert unavailable.value.exit_code == 69
    assert elapsed < FAST.deadline + 0.5  # the deadline is the backend's own, not the last-resort alarm's
    assert not any(secret in str(unavailable.value) for secret in case.secrets)


def test_contract_declared_capabilities(case: Case) -> None:
    backend = case.open()
    assert isinstance(backend, Backend)
    assert backend.writable is case.writable is type(backend).writable
    if len(backend.layers) == 1:  # a single URL's class says the same before anything is opened
        assert backend_class(parse_backend_url(case.url)).writable is case.writable
    assert backend.polled_for_changes is case.polled
    assert bool(backend.watched_paths()) is case.watches_paths
    assert len(backend.layers) == case.layer_count
    assert case.layer_count > 1 or backend.layers == (backend,)
    assert all(isinstance(layer, Backend) for layer in backend.layers)
    guess = backend.guess_identity("orders-service")
    assert guess == (("bookstore", "orders-service") if case.guesses else (None, None))
    shown = backend.description + repr(backend)
    assert not any(secret in shown for secret in case.secrets)


def test_contract_writes_go_only_to_a_writable_backend(case: Case) -> None:
    backend = (case.writer or case.open)()
    if not case.writable:
        with pytest.raises(UsageError, match="read-only") as refused:
            backend.store_target()
        assert refused.value.exit_code == 64
        return
    target = backend.store_target()
    assert {c.name for c in target.read().all_connections()} == {"book-catalog", "orders-db", "billing-db"}


def test_contract_live_watch_is_declared_and_works(case: Case) -> None:
    backend = case.open()
    changed = threading.Event()
    watch = backend.watch(ORDERS, changed, 5.0)
    if not case.live_watch:
        assert watch is None
        return
    assert watch is not None and case.touch is not None
    try:
        assert not changed.wait(0.2)  # nothing changed yet
        case.touch()
        assert changed.wait(5.0)
    finally:
        watch.stop()
