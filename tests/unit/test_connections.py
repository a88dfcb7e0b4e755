"""The pure connection operations: IDs, naming, scopes, OAuth sharing, rotation, deletion, round trips."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launcher.backends.local.document import empty_store, store_to_document
from launcher.backends.local.store_file import ALL_ENVIRONMENTS, StoredParameter, parse_store
from launcher.backends.writer import validated
from launcher.connections import operations as ops
from launcher.connections.oauth_apps import OAuthRequest
from launcher.connections.snippets import details, manifest_snippets
from launcher.errors import ConfigurationError, UsageError
from launcher.manifest.reader import manifest_from_data

URL = "http://idp/token"
REF = "service:/shop/catalog/v1/main/PROJECT"


def counting() -> ops.Generators:
    numbers = itertools.count(1)
    return ops.Generators(connection_id=lambda: f"id-{next(numbers)}", token=lambda n: f"tok{next(numbers)}")


def spec(
    name: str,
    visibility: str = "project",
    component: str | None = None,
    *,
    oauth: OAuthRequest | None = None,
    kind: str = "service",
    **parameters: str,
) -> ops.ConnectionSpec:
    values = {key: StoredParameter({ALL_ENVIRONMENTS: value}) for key, value in parameters.items()}
    return ops.ConnectionSpec(
        "shop", name, kind, visibility, component, values, REF if kind == "service" else None, oauth
    )


def create(store, *specs, make=None):
    make = make or counting()
    for item in specs:
        store, _ = ops.create_connection(store, item, make)
    return validated(store)


def test_connection_ids_are_time_ordered_uuids_in_choreo_style() -> None:
    ids = [ops.new_connection_id() for _ in range(200)]
    assert all(re.fullmatch(r"0[0-9a-f]{7}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "name, ok",
    [
        ("hr-connection", True),
        ("Book Listing Connection", True),
        ("a.b_c-d 1", True),
        ("abc", True),
        ("ab", False),
        ("x" * 51, False),
        ("bad__name", False),
        ("-lead", False),
        ("trail ", False),
        ("a/b", False),
    ],
)
def test_names_follow_choreos_rules(name: str, ok: bool) -> None:
    attempt = spec(name, kind="database")
    if ok:
        assert create(empty_store("s.yaml"), attempt).projects["shop"].connections[0].name == name
    else:
        with pytest.raises(UsageError, match="invalid connection name"):
            ops.create_connection(empty_store("s.yaml"), attempt)


def test_duplicate_names_are_refused_within_a_scope_only() -> None:
    store = create(
        empty_store("s.yaml"),
        spec("orders-db", kind="database"),
        spec("orders-db", "component", "orders", kind="database"),
    )  # another scope: fine
    for again in (spec("Orders-DB", kind="database"), spec("orders-db", "component", "orders", kind="database")):
        with pytest.raises(UsageError, match="already exists in this scope"):
            ops.create_connection(store, again)


@pytest.mark.parametrize(
    "bad, message",
    [
        (spec("svc-one", kind="database", oauth=OAuthRequest(token_url=URL)), "only a service"),
        (spec("svc-one").replace(resource_ref=None), "needs --resource-ref"),
        (spec("svc-one").replace(resource_ref="database:x"), "starts with 'service:'"),
        (spec("svc-one", "component"), "needs --component"),
        (spec("svc-one", "project", "orders"), "no owning component"),
        (spec("svc-one", oauth=OAuthRequest(token_url=URL), ConsumerKey="x"), "come from the OAuth application"),
    ],
)
def test_invalid_requests_are_refused(bad: ops.ConnectionSpec, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ops.create_connection(empty_store("s.yaml"), bad)


def test_project_oauth_connections_share_the_one_project_application() -> None:
    store = create(
        empty_store("s.yaml"), spec("catalog", oauth=OAuthRequest(token_url=URL)), spec("reviews", oauth=OAuthRequest())
    )  # no token URL needed: the app exists
    project = store.projects["shop"]
    assert [c.oauth_app for c in project.connections] == ["shop-shared", "shop-shared"]
    assert list(project.oauth_apps) == ["shop-shared"]
    app = project.oauth_apps["shop-shared"]
    assert app.component is None and sorted(app.environments) == ["development", "production"]


def test_the_first_oauth_connection_needs_a_token_url() -> None:
    with pytest.raises(UsageError, match="give --token-url"):
        ops.create_connection(empty_store("s.yaml"), spec("catalog", oauth=OAuthRequest()))


def test_component_oauth_connections_share_the_components_application_unless_dedicated() -> None:
    request = OAuthRequest(token_url=URL)
    store = create(
        empty_store("s.yaml"),
        spec("one", "component", "orders", oauth=request),
        spec("two", "component", "orders", oauth=request),
        spec("three", "component", "orders", oauth=request.replace(dedicated=True)),
        spec("four", "component", "billing", oauth=request),
    )
    apps = {c.name: c.oauth_app for c in store.projects["shop"].connections}
    assert apps == {
        "one": "orders-oauth",
        "two": "orders-oauth",
        "three": "orders-three-oauth",
        "four": "billing-oauth",
    }


def test_an_explicit_application_must_be_in_scope() -> None:
    store = create(empty_store("s.yaml"), spec("one", "component", "orders", oauth=OAuthRequest(token_url=URL)))
    with pytest.raises(UsageError, match="belongs to component 'orders'"):
        ops.create_connection(store, spec("two", "component", "billing", oauth=OAuthRequest("orders-oauth")))
    with pytest.raises(UsageError, match="project's shared application"):
        ops.create_connection(store, spec("two", oauth=OAuthRequest("orders-oauth")))


def test_oauth_environments_follow_the_connection() -> None:
    request = OAuthRequest(token_url=URL, environments=("staging",))
    store = create(empty_store("s.yaml"), spec("catalog", oauth=request))
    assert list(store.projects["shop"].oauth_apps["shop-shared"].environments) == ["staging"]


def test_rotating_an_application_secret_keeps_its_client_id() -> None:
    store = create(empty_store("s.yaml"), spec("catalog", oauth=OAuthRequest(token_url=URL)))
    before = store.projects["shop"].oauth_apps["shop-shared"].environments
    after_store, rotated = ops.rotate_oauth_secret(store, "shop", "shop-shared", ("production",))
    after = after_store.projects["shop"].oauth_apps["shop-shared"].environments
    assert rotated == ("production",)
    assert after["development"] == before["development"]
    assert after["production"]["clientId"] == before["production"]["clientId"]
    assert after["production"]["clientSecret"] != before["production"]["clientSecret"]
    assert len(after["production"]["clientSecret"]) >= 43  # secrets.token_urlsafe(32)


def test_rotating_a_secret_parameter_and_refusing_a_plain_one() -> None:
    store = create(empty_store("s.yaml"), spec("db-one", kind="database", HostName="h"))
    connection = store.projects["shop"].connections[0]
    with pytest.raises(UsageError, match="no secret parameter 'HostName'"):
        ops.rotate_parameter(store, connection, "HostName", {ALL_ENVIRONMENTS: "x"})
    store, connection = ops.update_connection(
        store, connection, (ops.ParameterUpdate("Password", {ALL_ENVIRONMENTS: "a"}, True),)
    )
    store, connection = ops.rotate_parameter(store, connection, "Password", {"production": "b"})
    assert connection.parameters["Password"].values == {ALL_ENVIRONMENTS: "a", "production": "b"}


def test_updates_merge_per_environment_and_never_take_a_secret_from_a_flag() -> None:
    store = create(empty_store("s.yaml"), spec("db-one", kind="database", HostName="h"))
    connection = store.projects["shop"].connections[0]
    store, connection = ops.update_connection(
        store, connection, (ops.ParameterUpdate("HostName", {"production": "p"}, False),)
    )
    assert connection.parameters["HostName"].values == {ALL_ENVIRONMENTS: "h", "production": "p"}
    store, connection = ops.update_connection(
        store, connection, (), removals=("HostName",), environments=("production",)
    )
    assert connection.parameters["HostName"].values == {ALL_ENVIRONMENTS: "h"}
    store, connection = ops.update_connection(store, connection, (ops.ParameterUpdate("Token", {"*": "t"}, True),))
    with pytest.raises(UsageError, match="Token is secret"):
        ops.update_connection(store, connection, (ops.ParameterUpdate("Token", {"*": "u"}, False, plain=True),))


def test_deleting_the_last_user_of_an_application_keeps_it_unless_pruned() -> None:
    store = create(
        empty_store("s.yaml"), spec("catalog", oauth=OAuthRequest(token_url=URL)), spec("reviews", oauth=OAuthRequest())
    )
    catalog, reviews = store.projects["shop"].connections
    store, deleted = ops.delete_connection(store, catalog, prune=True)
    assert deleted.unused_apps == () and "shop-shared" in store.projects["shop"].oauth_apps
    kept, deleted = ops.delete_connection(store, reviews)
    assert deleted.unused_apps == ("shop-shared",) and not deleted.pruned
    assert "shop-shared" in validated(kept).projects["shop"].oauth_apps
    pruned, deleted = ops.delete_connection(store, reviews, prune=True)
    assert deleted.pruned and validated(pruned).projects["shop"].oauth_apps == {}


def test_finding_by_id_or_name_and_ambiguity() -> None:
    store = create(
        empty_store("s.yaml"),
        spec("db-one", "component", "a", kind="database"),
        spec("db-one", "component", "b", kind="database"),
    )
    assert ops.find_connection(store, "id-2").component == "b"
    assert ops.find_connection(store, "DB-ONE", component="a").component == "a"
    with pytest.raises(UsageError, match="ambiguous"):
        ops.find_connection(store, "db-one")
    with pytest.raises(ConfigurationError, match="no connection"):
        ops.find_connection(store, "nothing")


def test_snippets_parse_as_manifests_and_name_the_default_variables() -> None:
    store = create(empty_store("s.yaml"), spec("Book Catalog", oauth=OAuthRequest(token_url=URL), ServiceURL="u"))
    connection = store.projects["shop"].connections[0]
    by_name, by_id = manifest_snippets(connection)
    assert (
        manifest_from_data({"schemaVersion": 1.2, **by_name}, "component.yaml").connection_references[0].name
        == "Book Catalog"
    )
    references = manifest_from_data({"schemaVersion": "1.0", **by_id}, "component.yaml").service_references
    assert [m.variable for m in references[0].env] == [
        "CHOREO_BOOK_CATALOG_SERVICEURL",
        "CHOREO_BOOK_CATALOG_CONSUMERKEY",
        "CHOREO_BOOK_CATALOG_CONSUMERSECRET",
        "CHOREO_BOOK_CATALOG_TOKENURL",
    ]
    manifest = manifest_from_data({"schemaVersion": 1.2, **by_name}, "component.yaml")
    assert ops.manifest_references(manifest, connection) == ["dependencies.connectionReferences[0].name"]


def test_details_mask_secrets_unless_revealed() -> None:
    store = create(empty_store("s.yaml"), spec("catalog", oauth=OAuthRequest(token_url=URL), ChoreoAPIKey="k3y"))
    connection = store.projects["shop"].connections[0]
    secret = store.projects["shop"].oauth_apps["shop-shared"].environments["development"]["clientSecret"]
    masked = details(store, connection, reveal=False)
    assert "k3y" not in masked and secret not in masked
    assert "k3y" in details(store, connection, reveal=True) and secret in details(store, connection, reveal=True)


def test_the_document_reads_back_to_the_same_store() -> None:
    store = create(
        empty_store("s.yaml"),
        spec("catalog", oauth=OAuthRequest(token_url=URL), ServiceURL="u"),
        spec("db-one", "component", "orders", kind="database", Port="5432"),
    )
    again = parse_store(store_to_document(store), "s.yaml")
    assert again.projects == store.projects


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9]{1,8}([ _.\-][A-Za-z0-9]{1,8}){0,4}", fullmatch=True).filter(lambda n: len(n) >= 3))
def test_every_name_create_accepts_the_store_reader_accepts(name: str) -> None:
    create(empty_store("s.yaml"), spec(name, kind="database"))


# ---------------------------------------------------------------- what a rewrite keeps (issue 13, item 6)

TYPO_STORE = {
    "version": 1,
    "note": "top-level, unknown",
    "projects": [
        {
            "name": "shop",
            "owner": "team-a",
            "components": [{"name": "orders", "tier": 1}],
            "connections": [
                {
                    "id": "id-1",
                    "name": "orders-db",
                    "type": "database",
                    "visibility": "project",
                    "paramters": {"HostName": "typo-value"},
                    "parameters": {"Password": {"secret": True, "value": "pw", "value:s3cr3t": None}},
                }
            ],
        }
    ],
}


def test_a_rewrite_keeps_every_unknown_key_in_its_place() -> None:
    from launcher.backends.local.document import with_unknown_keys

    store = parse_store(TYPO_STORE, "s.yaml")
    changed, _ = ops.rotate_parameter(
        store, store.projects["shop"].connections[0], "Password", {ALL_ENVIRONMENTS: "new"}
    )
    written = with_unknown_keys(TYPO_STORE, store_to_document(changed))
    assert written["note"] == "top-level, unknown"
    project = written["projects"][0]
    assert project["owner"] == "team-a" and project["components"][0]["tier"] == 1
    (connection,) = project["connections"]
    assert list(connection)[:5] == ["id", "name", "type", "visibility", "paramters"]
    assert connection["paramters"] == {"HostName": "typo-value"}
    assert connection["parameters"]["Password"] == {"secret": True, "value": "new", "value:s3cr3t": None}
    assert parse_store(written, "s.yaml").projects == changed.projects  # the model sees exactly the change


def test_an_item_the_change_removed_takes_its_unknown_keys_along() -> None:
    from launcher.backends.local.document import with_unknown_keys

    store = parse_store(TYPO_STORE, "s.yaml")
    changed, _ = ops.delete_connection(store, store.projects["shop"].connections[0], False)
    written = with_unknown_keys(TYPO_STORE, store_to_document(changed))
    assert written["projects"][0]["connections"] == [] and written["note"] == "top-level, unknown"


def test_unknown_keys_are_located_and_never_show_a_value() -> None:
    from launcher.backends.local.document import unknown_keys

    found = [str(problem) for problem in unknown_keys(TYPO_STORE, "s.yaml")]
    assert len(found) == 5
    assert "s.yaml: projects[0].connections[0].paramters: unknown key; did you mean 'parameters'?" in found
    assert any(
        line.startswith("s.yaml: projects[0].connections[0].parameters.Password: an unknown key") for line in found
    )
    assert not any("s3cr3t" in line or "typo-value" in line for line in found)
    assert unknown_keys(store_to_document(parse_store(TYPO_STORE, "s.yaml")), "s.yaml") == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["# c\n", "\n", "CHOREO_RUN_ETCD_USER=a.b\n", "CHOREO_RUN_ETCD_USER='x'\n", "x=1", "#"]))
)
def test_a_users_file_cut_into_entries_joins_back_to_itself(parts: list[str]) -> None:
    from launcher.cli.store import users_file_entries

    text = "".join(parts)
    assert "".join(entry for _, entry in users_file_entries(text)) == text
