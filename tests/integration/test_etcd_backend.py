"""The etcd backend against real etcd members started by the suite (tests/support/etcd_cluster.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from launcher.backends import BackendSettings, open_backend
from launcher.backends.etcd.backend import prefix_range
from launcher.backends.etcd.sync import create_roles
from launcher.backends.local.backend import LocalStore
from launcher.backends.local.store_file import Store, parse_store
from launcher.cli.store import store_command
from launcher.errors import AccessDenied, BackendUnavailable, ConfigurationError, ConflictError
from launcher.model import Identity, Snapshot
from support.etcd_cluster import ROOT_PASSWORD, Cluster, gateway, token_for, unique_prefix
from support.stores import EXAMPLE, RICH, SECRETS, example_store, rich_store

IDENTITIES = [
    Identity("bookstore", c, e)
    for c in ("orders-service", "billing-service")
    for e in ("development", "production", "staging")
]
RICH_IDENTITIES = [Identity("shop", c, "development") for c in ("a", "b/with slash")] + [Identity("shop2", "a")]


def comparable(snapshot: Snapshot, store: Store) -> Snapshot:
    """Without what only describes the source: `backend`, `foreign` and file-permission warnings."""
    return snapshot.replace(backend="", foreign=(), warnings=())


def store_with(connections: int) -> Store:
    rows = [
        {
            "id": f"id-{n}",
            "name": f"conn-{n}",
            "type": "database",
            "visibility": "component" if n % 2 else "project",
            **({"component": "a"} if n % 2 else {}),
            "parameters": {"HostName": f"h{n}", "Password": f"pw-{n}"},
        }
        for n in range(connections)
    ]
    return parse_store(
        {"version": 1, "projects": [{"name": "p", "components": [{"name": "a"}, {"name": "b"}], "connections": rows}]},
        "generated",
    )


# ---------------------------------------------------------------- same answers as the local store


@pytest.mark.parametrize("identity", IDENTITIES, ids=str)
def test_etcd_answers_what_the_local_store_answers(etcd_single: Cluster, identity: Identity) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(example_store())
    local = LocalStore(str(EXAMPLE))
    assert comparable(backend.fetch(identity), local.load()) == comparable(local.fetch(identity), local.load())


@pytest.mark.parametrize("identity", RICH_IDENTITIES, ids=str)
def test_etcd_answers_what_the_local_store_answers_for_a_rich_store(
    etcd_single: Cluster, identity: Identity, tmp_path: Path
) -> None:
    (tmp_path / "store.yaml").write_text(RICH)
    local = LocalStore(str(tmp_path / "store.yaml"))
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(local.load())
    assert comparable(backend.fetch(identity), local.load()) == comparable(local.fetch(identity), local.load())


def test_a_component_never_receives_another_components_oauth_app(etcd_single: Cluster) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(rich_store())
    assert set(backend.fetch(Identity("shop", "b/with slash", "development")).oauth_apps) == {"shared-app"}
    assert set(backend.fetch(Identity("shop", "a", "development")).oauth_apps) == {"shared-app", "a-app"}


@pytest.mark.parametrize(
    "identity, expected",
    [
        (Identity("nope", "a"), "project 'nope' not found"),
        (Identity("shop", "zz"), "component 'zz' not found in project 'shop' (components: a, b/with slash)"),
    ],
)
def test_unknown_identities_are_configuration_errors(etcd_single: Cluster, identity: Identity, expected: str) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(rich_store())
    with pytest.raises(ConfigurationError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        backend.fetch(identity)


@pytest.mark.parametrize("connections", [1, 200])
def test_one_fetch_costs_one_transaction_however_many_connections(etcd_single: Cluster, connections: int) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(store_with(connections))  # 200 connections: more than etcd's 128 ops, still one transaction
    assert backend.requests["/v3/kv/txn"] == 1
    backend.requests.clear()
    snapshot = backend.fetch(Identity("p", "a"))
    assert len(snapshot.connections) == connections
    assert dict(backend.requests) == {"/v3/kv/txn": 1}  # three ranges in one round trip, at one revision


def test_pull_gives_back_the_pushed_store(etcd_single: Cluster) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    backend.push(rich_store())
    pulled = backend.pull()
    assert parse_store(pulled.document, "rich.yaml") == rich_store()
    assert pulled.revision > 0


def test_push_deletes_what_the_store_dropped_and_rewrites_nothing_unchanged(etcd_single: Cluster) -> None:
    backend = etcd_single.backend(unique_prefix(), etcd_allow_no_auth=True)
    first = backend.push(store_with(3))
    assert backend.push(store_with(3)).revision == 0  # nothing changed: no write at all
    smaller = backend.push(store_with(2))
    assert (smaller.deleted, smaller.written) == (1, 0)  # only the dropped connection changes
    assert smaller.revision > first.revision
    assert [c.connection_id for c in backend.fetch(Identity("p", "a")).connections] == ["id-0", "id-1"]


# ---------------------------------------------------------------- concurrent writers


def test_a_push_based_on_an_old_revision_is_refused_and_writes_nothing(etcd_single: Cluster) -> None:
    prefix = unique_prefix()
    writer_one, writer_two = (
        etcd_single.backend(prefix, etcd_allow_no_auth=True),
        etcd_single.backend(prefix, etcd_allow_no_auth=True),
    )
    writer_one.push(store_with(1))
    seen = writer_two.pull().revision  # both start from this revision
    writer_one.push(store_with(5), expected_revision=seen)
    with pytest.raises(ConflictError, match=f"changed after revision {seen}"):
        writer_two.push(rich_store(), expected_revision=seen)
    assert len(writer_two.fetch(Identity("p", "a")).connections) == 5  # writer one's store, untouched


def test_a_push_racing_another_between_its_read_and_its_write_is_refused(etcd_single: Cluster) -> None:
    prefix = unique_prefix()
    racer = etcd_single.backend(prefix, etcd_allow_no_auth=True)
    backend = etcd_single.backend(prefix, etcd_allow_no_auth=True)
    original = backend._read_store  # the race, made deterministic: the other push lands right after our read

    def read_then_race(session):
        found = original(session)
        racer.push(store_with(4))
        return found

    backend._read_store = read_then_race
    with pytest.raises(ConflictError, match="pull it again"):
        backend.push(store_with(1))
    assert len(racer.fetch(Identity("p", "a")).connections) == 4


# ---------------------------------------------------------------- authentication and roles


@pytest.fixture(scope="module")
def shop(etcd_auth: Cluster, tmp_path_factory) -> tuple[Cluster, str, dict[str, tuple[str, str]]]:
    """The rich store pushed as root, with one user and role per component as `store roles` makes them."""
    prefix = unique_prefix()
    etcd_auth.backend(prefix, username="root", password=ROOT_PASSWORD).push(rich_store())
    granted = create_roles(
        etcd_auth.url(prefix), BackendSettings(username="root", password=ROOT_PASSWORD), "shop", users=True
    )
    return etcd_auth, prefix, {access.component: (access.role, access.password) for access in granted}


def test_a_component_user_reads_its_project_and_its_own_connections(shop) -> None:
    cluster, prefix, users = shop
    user, password = users["a"]
    snapshot = cluster.backend(prefix, username=user, password=password).fetch(Identity("shop", "a", "development"))
    assert {c.name for c in snapshot.connections} == {"project-api", "a-db", "a-api"}
    assert snapshot.config_groups["org-flags"]["region"].value == "eu-west-1"


def test_etcd_itself_refuses_a_component_reading_anothers_prefix(shop) -> None:
    cluster, prefix, users = shop
    member = cluster.members[0]
    token = token_for(member, *users["a"])
    b_prefix = f"/{prefix}/projects/shop/components/b%2Fwith%20slash/"
    raw = gateway(member, "/v3/kv/range", prefix_range(b_prefix), token)
    assert raw.status_code == 403 and raw.json()["code"] == 7  # PermissionDenied, from etcd's own RBAC
    assert gateway(member, "/v3/kv/range", prefix_range(f"/{prefix}/projects/shop/shared/"), token).status_code == 200


def test_the_backend_turns_a_refusal_into_access_denied_at_once(shop) -> None:
    cluster, prefix, users = shop
    user, password = users["a"]
    member = cluster.members[0].address
    # The same member twice: a refusal that fell over to "another" member would show as a second read.
    backend = open_backend(
        f"etcd://{member},{member}/{prefix}", BackendSettings(username=user, password=password, timeout=1, deadline=5)
    )
    with pytest.raises(AccessDenied, match="permission denied reading .*b%2Fwith%20slash") as raised:
        backend.fetch(Identity("shop", "b/with slash", "development"))
    # The transaction is refused whole; one read at a time names the prefix: shared granted,
    # component refused, and no retry on the "other" member.
    assert dict(backend.requests) == {"/v3/auth/authenticate": 1, "/v3/kv/txn": 1, "/v3/kv/range": 2}
    assert password not in str(raised.value) and password not in repr(raised.value)


@pytest.mark.parametrize("user, password", [("choreo-a", "wrong"), ("root", "wrong"), ("nobody", "x"), (None, None)])
def test_bad_or_missing_credentials_are_access_denied(shop, user, password) -> None:
    cluster, prefix, users = shop
    user = users["a"][0] if user == "choreo-a" else user
    backend = cluster.backend(prefix, username=user, password=password)
    with pytest.raises(AccessDenied) as raised:
        backend.fetch(Identity("shop", "a", "development"))
    assert backend.requests["/v3/kv/txn"] + backend.requests["/v3/auth/authenticate"] == 1
    assert "wrong" not in str(raised.value)


def test_roles_can_be_run_again_and_reset_passwords(shop) -> None:
    cluster, prefix, users = shop
    settings = BackendSettings(username="root", password=ROOT_PASSWORD)
    again = create_roles(cluster.url(prefix), settings, "shop", users=True)
    assert [access.password for access in again] == [None, None]  # existing users keep their passwords
    reset = {
        a.component: a for a in create_roles(cluster.url(prefix), settings, "shop", users=True, reset_passwords=True)
    }
    assert "password" not in repr(reset["a"]) and reset["a"].password not in repr(reset["a"])
    with pytest.raises(AccessDenied):
        cluster.backend(prefix, username=users["a"][0], password=users["a"][1]).fetch(Identity("shop", "a"))
    users["a"] = (reset["a"].role, reset["a"].password)
    users["b/with slash"] = (reset["b/with slash"].role, reset["b/with slash"].password)
    assert cluster.backend(prefix, username=users["a"][0], password=users["a"][1]).fetch(Identity("shop", "a"))


# ---------------------------------------------------------------- failover


def test_fetch_survives_the_first_member_going_down(etcd_three: Cluster) -> None:
    backend = etcd_three.backend("choreo", deadline=10, etcd_allow_no_auth=True)
    backend.push(example_store())
    etcd_three.members[0].stop()
    snapshot = backend.fetch(Identity("bookstore", "orders-service"))
    assert {c.name for c in snapshot.connections} == {"book-catalog", "orders-db"}


def test_all_members_down_is_backend_unavailable_within_the_deadline(etcd_three: Cluster) -> None:
    backend = etcd_three.backend("choreo", timeout=0.5, deadline=1.5, etcd_allow_no_auth=True)
    for member in etcd_three.members:
        member.stop()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="no etcd member answered within 1.5s"):
        backend.fetch(Identity("bookstore", "orders-service"))
    assert time.monotonic() - started < 1.5 + 0.5


# ---------------------------------------------------------------- the store commands


def test_store_push_and_pull_commands(etcd_single: Cluster, tmp_path: Path) -> None:
    url = etcd_single.url(unique_prefix())
    runner = CliRunner()
    pushed = runner.invoke(store_command, ["push", "--store", str(EXAMPLE), url])
    assert pushed.exit_code == 0 and "keys written" in pushed.output, pushed.output
    out = tmp_path / "pulled.yaml"
    pulled = runner.invoke(store_command, ["pull", url, "-o", str(out)])
    assert pulled.exit_code == 0, pulled.output
    assert out.stat().st_mode & 0o777 == 0o600
    # exampleValues describes one file, not the data: a pulled file is private (0600) and says nothing.
    expected = example_store().replace(example_values=False)
    assert parse_store(yaml.safe_load(out.read_text()), "example.yaml") == expected
    assert not any(secret in pushed.output + pulled.output for secret in SECRETS + ("dev-db-password-3b8f",))
