"""The snapshot JSON codec: round trips, and strict decoding that names JSON paths but never values."""

from __future__ import annotations

import copy
import datetime
import json

import pytest

from launcher.backends.http.codec import SNAPSHOT_VERSION, decode_snapshot, encode_snapshot
from launcher.backends.local.backend import LocalStore
from launcher.errors import ConfigurationError
from launcher.model import Identity, Parameter
from support.http_fixtures import EXAMPLE_STORE, ORDERS

SOURCE = "http://backend.test"
SECRETS = ("dev-db-password-3b8f", "dev-oauth-secret-7c1d", "dev-payment-key-5f2e")


def example_body(identity: Identity = ORDERS) -> dict:
    return json.loads(json.dumps(encode_snapshot(LocalStore(EXAMPLE_STORE).fetch(identity))))


def problems_in(body: object, identity: Identity = ORDERS) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        decode_snapshot(body, SOURCE, identity)
    assert caught.value.exit_code == 78
    assert all(str(p).startswith(f"{SOURCE}: ") for p in caught.value.problems)
    return [f"{p.path}: {p.message}" if p.path else p.message for p in caught.value.problems]


@pytest.mark.parametrize(
    "identity",
    [
        ORDERS,
        Identity("bookstore", "orders-service", "production"),
        Identity("bookstore", "billing-service", "development"),
        Identity("bookstore", "orders-service", "staging"),  # no values there: every key unset
    ],
)
def test_round_trip_through_json_equals_the_local_snapshot(identity):
    local = LocalStore(EXAMPLE_STORE).fetch(identity)
    decoded = decode_snapshot(example_body(identity), SOURCE, identity)
    assert decoded == local.replace(backend=SOURCE, foreign=())


def test_encoding_leaves_out_the_backend_description_and_foreign_connections():
    body = example_body()
    assert body["version"] == SNAPSHOT_VERSION == 1
    assert "backend" not in body and "foreign" not in body
    assert "billing-db" not in json.dumps(body)  # another component's connection is not even named


def test_non_json_scalars_in_files_travel_as_strings():
    snapshot = (
        LocalStore(EXAMPLE_STORE).fetch(ORDERS).replace(file_values={"a.json": {"since": datetime.date(2024, 1, 2)}})
    )
    assert encode_snapshot(snapshot)["files"] == {"a.json": {"since": "2024-01-02"}}


def test_unknown_keys_are_ignored_and_empty_sections_may_be_null_or_absent():
    body = {**example_body(), "addedLater": {"x": 1}, "configGroups": None, "files": None}
    del body["oauthApps"]
    body["connections"][0]["addedLater"] = True
    snapshot = decode_snapshot(body, SOURCE, ORDERS)
    assert snapshot.config_groups == {} and snapshot.file_values == {} and snapshot.oauth_apps == {}
    assert len(snapshot.connections) == 2


def test_an_empty_value_is_a_value():
    body = example_body()
    body["configForm"]["LOG_LEVEL"] = {"value": ""}
    assert decode_snapshot(body, SOURCE, ORDERS).config_form["LOG_LEVEL"] == Parameter("", False)


def _set(path: str, value: object):
    """A mutation of the example body: `path` is dotted, with [i] for list items."""

    def mutate(body: dict) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target = body
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[parts[-1]]
        else:
            target[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value

    return mutate


@pytest.mark.parametrize(
    "mutation, expected",
    [
        (_set("version", KeyError), "version: missing; expected 1"),
        (_set("version", "1"), "version: expected the number 1, got a string"),
        (_set("version", True), "version: expected the number 1, got a boolean"),
        (_set("identity", KeyError), "identity: expected a mapping, got nothing"),
        (
            _set("identity.component", "billing-service"),
            "identity.component: the answer is for component 'billing-service', the launcher asked for 'orders-service'",
        ),
        (_set("connections", {}), "connections: expected a list, got a mapping"),
        (_set("connections[1]", "orders-db"), "connections[1]: expected a mapping, got a string"),
        (_set("connections[0].id", 7), "connections[0].id: expected a string, got a number"),
        (_set("connections[0].name", ""), "connections[0].name: expected a string, got an empty string"),
        (_set("connections[0].visibility", "public"), "connections[0].visibility: expected project or component"),
        (
            _set("connections[0].component", "orders-service"),
            "connections[0].component: a project connection has no owning component; expected null",
        ),
        (
            _set("connections[1].component", "billing-service"),
            "connections[1].component: a component connection not owned by 'orders-service'",
        ),
        (
            _set("connections[1].component", None),
            "connections[1].component: expected the owning component for a component connection",
        ),
        (
            _set("connections[1].project", "elsewhere"),
            "connections[1].project: a connection of another project than 'bookstore'",
        ),
        (
            _set("connections[1].id", "01ef7a3f-a581-1088-8322-ac5bc449b1d9"),
            "connections[1].id: duplicate Connection ID (also at connections[0])",
        ),
        (
            _set("connections[1].parameters.Password.value", 12345),
            "connections[1].parameters.Password.value: expected a string, got a number",
        ),
        (
            _set("connections[1].parameters.Password.secret", "yes"),
            "connections[1].parameters.Password.secret: expected true or false, got a string",
        ),
        (
            _set("connections[1].parameters.Port", "5432"),
            "connections[1].parameters.Port: expected a mapping, got a string",
        ),
        (_set("connections[1].optionalKeys", "Port"), "connections[1].optionalKeys: expected a list, got a string"),
        (_set("connections[1].unsetKeys", [None]), "connections[1].unsetKeys[0]: expected a string, got nothing"),
        (
            _set("oauthApps.bookstore-shared.clientSecret", KeyError),
            "oauthApps.bookstore-shared.clientSecret: expected a string, got nothing",
        ),
        (_set("configGroups.feature-flags", []), "configGroups.feature-flags: expected a mapping, got a list"),
        (_set("configForm", []), "configForm: expected a mapping, got a list"),
        (
            lambda body: body["files"].update({"settings.json": "x"}),
            "files.settings.json: expected a mapping, got a string",
        ),
    ],
)
def test_each_problem_is_named_by_its_json_path(mutation, expected):
    body = example_body()
    mutation(body)
    assert problems_in(body) == [expected]


def test_every_problem_is_reported_at_once():
    body = example_body()
    body["connections"][0]["type"] = None
    body["configForm"]["LOG_LEVEL"]["value"] = 3
    assert problems_in(body) == [
        "connections[0].type: expected a string, got nothing",
        "configForm.LOG_LEVEL.value: expected a string, got a number",
    ]


def test_a_top_level_that_is_not_an_object_is_one_problem():
    assert problems_in(["not", "a", "snapshot"]) == ["expected a mapping, got a list"]


def test_values_never_appear_in_messages():
    body = example_body()
    secret_places = copy.deepcopy(body)
    secret_places["connections"][1]["parameters"]["Password"]["value"] = {"oops": SECRETS[0]}
    secret_places["oauthApps"]["bookstore-shared"]["clientSecret"] = [SECRETS[1]]
    secret_places["files"]["settings.json"] = [SECRETS[2]]
    secret_places["identity"]["environment"] = 42
    with pytest.raises(ConfigurationError) as caught:
        decode_snapshot(secret_places, SOURCE, ORDERS)
    shown = str(caught.value) + repr(caught.value)
    assert len(caught.value.problems) == 4
    assert not any(secret in shown for secret in SECRETS)


def test_a_duplicate_id_is_named_where_it_is_even_after_a_refused_connection():
    body = example_body()
    body["connections"].insert(1, "not a connection")  # refused, so it is not among the decoded connections
    body["connections"][2]["id"] = body["connections"][0]["id"]
    assert problems_in(body) == [
        "connections[1]: expected a mapping, got a string",
        "connections[2].id: duplicate Connection ID (also at connections[0])",
    ]


def test_non_json_values_in_an_answer_are_problems_not_crashes():
    body = example_body()
    body["connections"][1]["parameters"]["Port"]["value"] = datetime.date(2024, 1, 2)
    body["configForm"]["LOG_LEVEL"]["secret"] = {1, 2}
    assert problems_in(body) == [
        "connections[1].parameters.Port.value: expected a string, got a date",
        "configForm.LOG_LEVEL.secret: expected true or false, got a set",
    ]
