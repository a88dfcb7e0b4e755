"""The etcd key layout as pure functions: round trips, scopes that RBAC can express, refusals."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from launcher.backends.etcd.backend import parse_etcd_url, prefix_end
from launcher.backends.etcd.layout import (
    META,
    component_prefixes,
    kvs_to_document,
    nesting_problem,
    normalize_prefix,
    parse_role_name,
    role_name,
    scope_of_range,
    store_prefixes,
    store_to_kvs,
)
from launcher.backends.local.store_file import Store, parse_store
from launcher.errors import ConfigurationError
from support.stores import SECRETS, example_store, rich_store


@pytest.mark.parametrize("store", [example_store(), rich_store()], ids=["example", "rich"])
@pytest.mark.parametrize("prefix", ["/choreo", "/deep/nested/prefix"])
def test_store_survives_a_round_trip_through_keys(store: Store, prefix: str) -> None:
    document = kvs_to_document(store_to_kvs(store, prefix), prefix, "etcd://test")
    # exampleValues describes one file, not the data, so it does not travel through etcd.
    assert parse_store(document, store.file) == store.replace(example_values=False)


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
    assert role_name("/choreo", "bookstore", "orders-service") == "choreo.bookstore.orders-service"  # as before


# ---------------------------------------------------------------- names derived from a scope are injective
# (docs/security.md, class 1). Prefixes as parse_etcd_url leaves them: `/` + segments, never empty.

NAMES = st.text(st.characters(), max_size=12)  # surrogates included: role names encode them too
KEY_NAMES = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # keys are UTF-8
SEGMENTS = st.text(st.characters(), max_size=6).filter(lambda s: "/" not in s)
PREFIXES = (
    st.lists(SEGMENTS, min_size=1, max_size=3)
    .map(lambda parts: "/" + "/".join(parts))
    .filter(lambda prefix: normalize_prefix(prefix) == prefix)
)
SCOPES = st.tuples(PREFIXES, NAMES, NAMES)


@pytest.mark.parametrize(
    "one, other",
    [
        (("/choreo", "a.b", "c"), ("/choreo", "a", "b.c")),
        (("/x.y", "p", "c"), ("/x", "y.p", "c")),
        (("/x/y", "p", "c"), ("/x", "y.p", "c")),
        (("/x/y", "p", "c"), ("/x.y", "p", "c")),
        (("/choreo-run", "p", "c"), ("", "p", "c")),
    ],
)
def test_scopes_that_used_to_share_a_role_no_longer_do(one: tuple[str, ...], other: tuple[str, ...]) -> None:
    assert role_name(*one) != role_name(*other)


@given(SCOPES)
def test_a_role_name_parses_back_to_its_scope(scope: tuple[str, str, str]) -> None:
    """`parse_role_name` inverts `role_name`: so two scopes never share a role (or user)."""
    name = role_name(*scope)
    assert parse_role_name(name) == scope
    assert set(name) <= set(string.ascii_letters + string.digits + "-_.%")  # etcdctl- and shell-safe
    assert name != "root"


@given(SCOPES, SCOPES)
def test_two_scopes_never_share_a_role(one: tuple[str, str, str], other: tuple[str, str, str]) -> None:
    assume(one != other)
    assert role_name(*one) != role_name(*other)


@given(PREFIXES, KEY_NAMES, KEY_NAMES, KEY_NAMES, KEY_NAMES)
def test_key_prefixes_of_two_scopes_never_overlap(prefix: str, p1: str, c1: str, p2: str, c2: str) -> None:
    """Within one store, no scope's component range contains another scope's, and each parses back."""
    one, two = component_prefixes(prefix, p1, c1), component_prefixes(prefix, p2, c2)
    assert scope_of_range(one.component) == (prefix, p1, c1)
    assert scope_of_range(one.shared) == (prefix, p1, None)
    if (p1, c1) != (p2, c2):
        assert not one.component.startswith(two.component) and not two.component.startswith(one.component)
    if p1 != p2:
        assert not one.shared.startswith(two.shared) and not two.shared.startswith(one.shared)
        assert not two.component.startswith(one.shared)  # another project's component is not shared with us
    assert not one.component.startswith(two.shared) and not one.org.startswith(two.component)


@pytest.mark.parametrize("prefix", ["/a/org", "/a/projects/p/shared", "/a/b/org/c", "/a/projects"])
def test_a_prefix_inside_another_stores_keys_is_refused(prefix: str) -> None:
    assert nesting_problem(prefix) is not None
    with pytest.raises(ConfigurationError, match="inside the keys of a store at a shorter prefix"):
        parse_etcd_url(f"etcd://127.0.0.1:2379{prefix}")


@given(PREFIXES, PREFIXES)
def test_stores_at_acceptable_prefixes_never_hold_each_others_keys(one: str, two: str) -> None:
    """What a push to `two` owns (and may delete) and what its roles grant never covers a key of `one`."""
    assume(one != two and nesting_problem(one) is None and nesting_problem(two) is None)
    ranges = {*store_prefixes(two), *component_prefixes(two, "p", "c").all()}
    for key in (*component_prefixes(one, "p", "c").all(), f"{one}/{META}"):
        assert not any(key.startswith(owned) for owned in ranges)


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


@pytest.mark.parametrize(
    "raw",
    [" {json} ", "\n{json}\n", "{json} x", "{json}{json}", "\ufeff{json}", "{json", "", "null", "NaN"],
    ids=["blanks", "newlines", "extra", "two", "bom", "cut", "empty", "null", "nan"],
)
def test_values_decode_exactly_as_json_loads_reads_them(raw: str) -> None:
    """Values are decoded without json.loads' per-call checks; whatever is not exactly one document goes
    through json.loads itself, so white space around a value is accepted and anything else refused as always."""
    kvs = store_to_kvs(rich_store(), "/choreo")
    key = "/choreo/projects/shop/shared/connections/c-1"
    value = raw.replace("{json}", kvs[key])
    kvs[key] = value
    try:
        expected: object = json.loads(value)
    except ValueError:
        expected = "expected a JSON document"
    try:
        document = kvs_to_document(kvs, "/choreo", "etcd://test")
    except ConfigurationError as error:
        assert f"shared/connections/c-1: {expected if isinstance(expected, str) else 'expected a JSON object'}" in str(
            error
        )
        return
    assert isinstance(expected, dict)
    expected.pop("order")
    assert expected in document["projects"][0]["connections"]


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


@pytest.mark.parametrize(
    "url",
    [
        "etcd://user:pw@h1/x",
        "etcd://h1:port/x",
        "etcd://h1/x?y=1",
        # Once accepted here and an internal error (exit 70) at the first request:
        "etcd://[::1/x",
        "etcd://h1:65536/x",
        "etcd://h1:2379,[fe80::1:2379/x",
    ],
)
def test_bad_etcd_urls_are_refused_without_echoing_credentials(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_etcd_url(url)
    assert "pw" not in str(raised.value)
