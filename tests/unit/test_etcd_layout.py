"""The etcd key layout as pure functions: round trips, scopes that RBAC can express, refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest

from launcher.backends.etcd.backend import parse_etcd_url, prefix_end
from launcher.backends.etcd.layout import component_prefixes, kvs_to_document, role_name, store_to_kvs
from launcher.backends.local.store_file import Store, parse_store
from launcher.errors import ConfigurationError
from support.stores import SECRETS, example_store, rich_store


@pytest.mark.parametrize("store", [example_store(), rich_store()], ids=["example", "rich"])
@pytest.mark.parametrize("prefix", ["/choreo", "/deep/nested/prefix"])
def test_store_survives_a_round_trip_through_keys(store: Store, prefix: str) -> None:
    document = kvs_to_document(store_to_kvs(store, prefix), prefix, "etcd://test")
    # exampleValues describes one file, not the data, so it does not travel through etcd.
    assert parse_store(document, store.file) == dataclasses.replace(store, example_values=False)


def test_every_key_lives_under_a_prefix_only_its_readers_hold() -> None:
    kvs = store_to_kvs(rich_store(), "/choreo")
    a = component_prefixes("/choreo", "shop", "a").all()
    b = component_prefixes("/choreo", "shop", "b/with slash").all()
    a_only = [k for k in kvs if k.startswith(a) and not k.startswith(b)]
    b_only = [k for k in kvs if k.startswith(b) and not k.startswith(a)]
    assert {json.loads(kvs[k]).get("id") for k in a_only} >= {"c-2", "c-4", "a-app"}
    assert {json.loads(kvs[k]).get("id") for k in b_only} == {"c/3", None}  # its connection and component doc
    assert not [k for k in kvs if "shop2" in k and k.startswith(a)]  # `shop/` is not a prefix of `shop2/`


def test_a_component_reads_exactly_three_prefixes() -> None:
    prefixes = component_prefixes("/choreo", "shop", "b/with slash")
    assert prefixes.all() == (
        "/choreo/projects/shop/shared/",
        "/choreo/projects/shop/components/b%2Fwith%20slash/",
        "/choreo/org/",
    )


def test_role_names_carry_the_prefix_so_two_stores_can_share_a_cluster() -> None:
    assert role_name("/choreo", "shop", "a") == "choreo.shop.a"
    assert role_name("/team/x", "shop", "a") == "team.x.shop.a"


def _moved(kvs: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {key.replace(old, new): value for key, value in kvs.items()}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("components/a/connections/c-2", "shared/connections/c-2", "stored under the project's shared prefix"),
        ("shared/connections/c-1", "components/a/connections/c-1", "stored under component 'a'"),
        ("components/a/oauth-apps/a-app", "shared/oauth-apps/a-app", "stored under the project's shared prefix"),
        ("components/a/connections/c-2", "components/a/surprise/c-2", "unexpected key"),
    ],
)
def test_a_value_in_the_wrong_scope_is_refused_not_served(old: str, new: str, expected: str) -> None:
    kvs = _moved(store_to_kvs(rich_store(), "/choreo"), old, new)
    with pytest.raises(ConfigurationError) as raised:
        kvs_to_document(kvs, "/choreo", "etcd://test")
    assert expected in str(raised.value)
    assert not any(secret in str(raised.value) for secret in SECRETS)


def test_malformed_values_are_named_by_key_without_echoing_them() -> None:
    kvs = store_to_kvs(rich_store(), "/choreo")
    kvs["/choreo/projects/shop/components/a/connections/c-2"] = "a-db-secret-9 is not json"
    kvs["/choreo/projects/shop/shared/connections/c-1"] = "[1, 2]"
    with pytest.raises(ConfigurationError) as raised:
        kvs_to_document(kvs, "/choreo", "etcd://test")
    message = str(raised.value)
    assert "components/a/connections/c-2: expected a JSON document" in message
    assert "shared/connections/c-1: expected a JSON object" in message
    assert "a-db-secret-9" not in message


@pytest.mark.parametrize("prefix, end", [(b"/a/", b"/a0"), (b"a\xff", b"b"), (b"\xff\xff", b"\x00")])
def test_prefix_end_is_etcds_rule(prefix: bytes, end: bytes) -> None:
    assert prefix_end(prefix) == end


@pytest.mark.parametrize(
    "url, members, prefix, scheme",
    [
        ("etcd://h1:2379,h2:2380/choreo", ("h1:2379", "h2:2380"), "/choreo", "http"),
        ("etcd://h1/", ("h1:2379",), "/choreo", "http"),
        ("etcds://h1:1/a/b/", ("h1:1",), "/a/b", "https"),
        ("etcd://[::1]:2379/x", ("[::1]:2379",), "/x", "http"),
    ],
)
def test_etcd_urls(url: str, members: tuple, prefix: str, scheme: str) -> None:
    target = parse_etcd_url(url)
    assert (target.members, target.prefix, target.scheme) == (members, prefix, scheme)


@pytest.mark.parametrize("url", ["etcd://user:pw@h1/x", "etcd://h1:port/x", "etcd://h1/x?y=1"])
def test_bad_etcd_urls_are_refused_without_echoing_credentials(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_etcd_url(url)
    assert "pw" not in str(raised.value)
