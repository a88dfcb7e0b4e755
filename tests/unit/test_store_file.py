"""The local store file: what it holds and how it refuses what it cannot hold."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from launcher.backends.local.backend import LocalStore
from launcher.backends.local.store_file import _parameter, _parameters, parse_store
from launcher.documents.shape import Node
from launcher.documents.yamlfile import parse_yaml_bytes
from launcher.errors import ConfigurationError
from launcher.model import Identity
from support.process import EXAMPLE, write

BASE = """
version: 1
projects:
  - name: shop
    components:
      - name: orders
      - name: billing
    oauthApps:
      - id: shared
        environments:
          development: {clientId: cid, clientSecret: csecret, tokenUrl: http://idp/token}
      - id: orders-app
        component: orders
        environments:
          development: {clientId: oid, clientSecret: osecret, tokenUrl: http://idp/token}
    connections:
      - id: c1
        name: catalog
        type: service
        visibility: project
        auth: oauth
        parameters:
          ServiceURL: {values: {development: http://dev, production: http://prod}}
      - id: c2
        name: orders-db
        type: database
        visibility: component
        component: orders
        parameters:
          Password: pw-dev-secret
          Port: 5432
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        parse_store(yaml.safe_load(textwrap.dedent(text)), "store.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_example_store_is_valid() -> None:
    store = LocalStore(str(EXAMPLE / "connections.yaml")).load()
    assert set(store.projects) == {"bookstore"}


def test_parameters_are_per_environment_with_secret_defaults() -> None:
    store = parse_store(yaml.safe_load(textwrap.dedent(BASE)), "store.yaml")
    catalog, orders_db = store.projects["shop"].connections
    assert catalog.parameters["ServiceURL"].value_for("production") == "http://prod"
    assert catalog.oauth_app == "shared"
    assert orders_db.parameters["Password"].secret is True  # a credential key is secret by default
    assert orders_db.parameters["Port"].secret is False
    assert orders_db.parameters["Port"].value_for("anything") == "5432"


@pytest.mark.parametrize("key", ["client_secret", "API_KEY", "Client-Secret"])
def test_a_credential_spelt_another_way_is_secret_by_default(key: str) -> None:
    text = textwrap.dedent(BASE).replace("          Port: 5432\n", f"          Port: 5432\n          {key}: x\n")
    orders_db = parse_store(yaml.safe_load(text), "store.yaml").projects["shop"].connections[1]
    assert orders_db.parameters[key].secret is True
    assert orders_db.parameters["Port"].secret is False


@pytest.mark.parametrize(
    "edit, expected",
    [
        (("version: 1", "version: 2"), "store.yaml: version: expected 1, got 2"),
        (
            ("visibility: project", "visibility: org"),
            "connections[0].visibility: expected project or component, got 'org'",
        ),
        (
            (
                "        component: orders\n        parameters:\n          Password",
                "        parameters:\n          Password",
            ),
            "connections[1].component: expected the owning component for a component connection",
        ),
        (("name: catalog", "name: x"), "connections[0].name: invalid connection name 'x'"),
        (("name: orders-db", "name: catalog\n        xx: 1"), None),  # different scopes: allowed
        (("type: database", "type: ftp"), "connections[1].type: expected one of service, database, third-party"),
        (("id: c2", "id: c1"), "connections[1].id: duplicate Connection ID 'c1'"),
        (
            ("Port: 5432", "Port: [1, 2]"),
            "connections[1].parameters.Port: expected a string, number or boolean, got a list",
        ),
        (("clientSecret: csecret, ", ""), "oauthApps[0].environments.development: expected `clientSecret`"),
        (
            ("component: orders\n        environments", "component: nobody\n        environments"),
            "oauthApps[1].component: expected a component of this project, got 'nobody'",
        ),
    ],
)
def test_invalid_stores_name_the_path(edit: tuple[str, str], expected: str | None) -> None:
    text = textwrap.dedent(BASE).replace(*edit)
    if expected is None:
        parse_store(yaml.safe_load(text), "store.yaml")
        return
    found = problems(text)
    assert any(expected in problem for problem in found), found


def test_duplicate_names_within_one_scope_are_refused() -> None:
    duplicate = "      - id: c3\n        name: catalog\n        type: service\n        visibility: project\n"
    text = textwrap.dedent(BASE).replace("      - id: c2\n", duplicate + "      - id: c2\n")
    assert any("duplicate connection name 'catalog'" in p for p in problems(text))


def test_project_connection_cannot_use_a_component_application() -> None:
    text = textwrap.dedent(BASE).replace("auth: oauth", "oauthApp: orders-app")
    assert any("a project connection must use the project's shared application" in p for p in problems(text))


def test_oauth_keys_cannot_also_be_parameters() -> None:
    text = textwrap.dedent(BASE).replace("          ServiceURL:", "          ConsumerKey: x\n          ServiceURL:")
    assert any("ConsumerKey: comes from the OAuth application" in p for p in problems(text))


def test_store_errors_never_contain_values() -> None:
    text = textwrap.dedent(BASE).replace("Password: pw-dev-secret", "Password: {secret: maybe, value: pw-dev-secret}")
    found = problems(text)
    assert any("Password.secret: expected true or false" in p for p in found)
    assert not any("pw-dev-secret" in p for p in found)


def test_unknown_project_and_component_are_configuration_errors(tmp_path: Path) -> None:
    store = LocalStore(str(write(tmp_path / "s.yaml", BASE)))
    with pytest.raises(ConfigurationError, match=r"project 'nope' not found \(projects: shop\)"):
        store.fetch(Identity("nope", "orders"))
    with pytest.raises(
        ConfigurationError, match=r"component 'nope' not found in project 'shop' \(components: billing, orders\)"
    ):
        store.fetch(Identity("shop", "nope"))


def test_snapshot_holds_only_what_the_component_may_use(tmp_path: Path) -> None:
    store = LocalStore(str(write(tmp_path / "s.yaml", BASE)))
    orders = store.fetch(Identity("shop", "orders"))
    billing = store.fetch(Identity("shop", "billing"))
    assert {c.name for c in orders.connections} == {"catalog", "orders-db"}
    assert {c.name for c in billing.connections} == {"catalog"}
    assert {f.name for f in billing.foreign} == {"orders-db"}
    assert "pw-dev-secret" not in repr(orders)


def test_a_store_with_secrets_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", BASE)
    path.chmod(0o644)
    warnings = LocalStore(str(path)).fetch(Identity("shop", "orders")).warnings
    assert len(warnings) == 1 and "readable by other users (mode 644); run chmod 600" in warnings[0]
    path.chmod(0o600)
    assert LocalStore(str(path)).fetch(Identity("shop", "orders")).warnings == ()


def test_a_misspelt_store_key_is_warned_about(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.yaml",
        BASE.replace("        parameters:\n          ServiceURL", "        paramters:\n          ServiceURL"),
    )
    path.chmod(0o600)
    warnings = LocalStore(str(path)).fetch(Identity("shop", "orders")).warnings
    assert any("connections[0].paramters: unknown key, ignored; did you mean 'parameters'?" in w for w in warnings)


# YAML types a value by how it looks: an unquoted date is a date, `!!set`, `!!binary` and
# `!!timestamp` build other types again. None of them is text a connection can carry, so each is one
# problem naming the path and what was expected, never a crash (these once ended in exit 70).
TAGGED = {
    "!!timestamp 2024-01-02T03:04:05Z": "got a date and time (YAML reads an unquoted date as a date; quote the text)",
    "2024-01-02": "got a date (YAML reads an unquoted date as a date; quote the text)",
    "!!set {a, b}": "got a set",
    "!!binary aGVsbG8=": "got binary data",
    "{nested: mapping}": "got a mapping",
}


def problems_of_yaml(text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        parse_store(parse_yaml_bytes(textwrap.dedent(text).encode(), "store.yaml", ConfigurationError), "store.yaml")
    assert caught.value.exit_code == 78
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("tagged, got", TAGGED.items())
@pytest.mark.parametrize(
    "old, new, path, expected",
    [
        (
            "Port: 5432",
            "Port:\n            value: {}",
            "connections[1].parameters.Port.value",
            "expected a string, number or boolean",
        ),
        (
            "ServiceURL: {values: {development: http://dev, production: http://prod}}",
            "ServiceURL:\n            values:\n              development: {}",
            "connections[0].parameters.ServiceURL.values.development",
            "expected a string, number or boolean",
        ),
        ("name: orders-db", "name: {}", "connections[1].name", "expected a connection name"),
        ("id: c2", "id: {}", "connections[1].id", "expected a Connection ID"),
        ("type: database", "type: {}", "connections[1].type", "expected a connection type"),
        (
            "visibility: component",
            "visibility: {}",
            "connections[1].visibility",
            "expected a visibility (project or component)",
        ),
        (
            "component: orders\n        parameters",
            "component: {}\n        parameters",
            "connections[1].component",
            "expected a component name",
        ),
        (
            "development: {clientId: cid, clientSecret: csecret, tokenUrl: http://idp/token}",
            "development:\n            clientId: {}\n            clientSecret: csecret\n"
            "            tokenUrl: http://idp/token",
            "oauthApps[0].environments.development.clientId",
            "expected a string",
        ),
    ],
)
def test_yaml_types_where_text_belongs_are_problems(
    old: str, new: str, path: str, expected: str, tagged: str, got: str
) -> None:
    text = textwrap.dedent(BASE)
    assert old in text
    found = problems_of_yaml(text.replace(old, new.format(tagged), 1))
    assert f"store.yaml: projects[0].{path}: {expected}, {got}" in found, found


@pytest.mark.parametrize("tagged, got", TAGGED.items())
def test_a_whole_parameter_of_another_yaml_type_is_a_problem(tagged: str, got: str) -> None:
    if tagged.startswith("{"):  # a mapping is the long form of a parameter: {value, values, secret, optional}
        return
    found = problems_of_yaml(textwrap.dedent(BASE).replace("Port: 5432", f"Port: {tagged}"))
    assert f"projects[0].connections[1].parameters.Port: expected a string, number or boolean, {got}" in found[0]


@pytest.mark.parametrize("tagged", ["!!bool yes", "true", "!!int 5432", "!!float 1e3", "!!str 5432"])
def test_booleans_and_numbers_are_text_as_before(tagged: str) -> None:
    text = textwrap.dedent(BASE).replace("Port: 5432", f"Port: {tagged}")
    store = parse_store(parse_yaml_bytes(text.encode(), "store.yaml", ConfigurationError), "store.yaml")
    port = store.projects["shop"].connections[1].parameters["Port"].value_for("development")
    assert (
        port
        == {"!!bool yes": "true", "true": "true", "!!int 5432": "5432", "!!float 1e3": "1000.0", "!!str 5432": "5432"}[
            tagged
        ]
    )


def test_a_boolean_version_is_not_version_1() -> None:
    for version, got in (("true", "True"), ("!!bool yes", "True"), ("2024-01-02", "a date")):
        found = problems_of_yaml(BASE.replace("version: 1", f"version: {version}"))
        assert f"store.yaml: version: expected 1, got {got}" in found


@pytest.mark.parametrize("tagged, got", TAGGED.items())
def test_file_values_hold_only_what_a_rendered_file_can(tagged: str, got: str) -> None:
    """Mounted file values may be any JSON-like tree; dates, sets and binary would be guessed at."""
    files = (
        "      - name: orders\n        files:\n          development:\n            settings.json:\n"
        f"              payment:\n                provider: sandbox\n                list: [1, {tagged}]\n"
    )
    text = textwrap.dedent(BASE).replace("      - name: orders\n", files, 1)
    if tagged.startswith("{"):  # a mapping is fine inside a file
        store = parse_store(parse_yaml_bytes(text.encode(), "store.yaml", ConfigurationError), "store.yaml")
        files = store.projects["shop"].components["orders"].files
        assert files["development"]["settings.json"]["payment"]["list"] == [1, {"nested": "mapping"}]
        return
    assert (
        f"store.yaml: projects[0].components[0].files.development.settings.json.payment.list[1]: "
        f"expected a string, number, boolean, list or mapping, {got}"
    ) in problems_of_yaml(text)


def test_tagged_values_never_show_the_value() -> None:
    text = textwrap.dedent(BASE).replace("Password: pw-dev-secret", "Password: !!binary cHctZGV2LXNlY3JldA==")
    found = problems_of_yaml(text)
    assert any("parameters.Password: expected a string, number or boolean, got binary data" in p for p in found)
    assert not any("pw-dev-secret" in p or "cHctZGV2" in p for p in found)


# ---------------------------------------------------------------- every kind of secret is guarded (12.7)

ONLY_CLEAR_VALUES = """
version: 1
projects:
  - name: shop
    components:
      - name: orders
        configForm:
          development: {LOG_LEVEL: debug}
    configGroups:
      - name: flags
        parameters:
          enabled: on-for-all
    connections:
      - id: c1
        name: catalog
        type: service
        visibility: project
        parameters:
          ServiceURL: http://dev
"""


@pytest.mark.parametrize(
    "edit",
    [
        ("LOG_LEVEL: debug", "LOG_LEVEL: debug, API_TOKEN: {value: t, secret: true}"),  # a secret config form value
        ("LOG_LEVEL: debug", "LOG_LEVEL: debug, SIGNING_KEY: plain"),  # secret by its name
        ("enabled: on-for-all", "enabled: {value: x, secret: true}"),  # a config group secret
        (
            "    connections:",
            "    oauthApps:\n      - id: shared\n        environments:\n"
            "          development: {clientId: c, clientSecret: s, tokenUrl: http://idp}\n    connections:",
        ),  # an OAuth application's client secret
        ("version: 1", "version: 1\nconfigGroups: [{name: org, parameters: {DB_PASSWORD: x}}]"),
    ],
)
def test_a_store_holding_any_kind_of_secret_readable_by_others_is_warned_about(
    tmp_path: Path, edit: tuple[str, str]
) -> None:
    clear = write(tmp_path / "clear.yaml", ONLY_CLEAR_VALUES)
    clear.chmod(0o644)
    assert LocalStore(str(clear)).fetch(Identity("shop", "orders")).warnings == ()
    text = ONLY_CLEAR_VALUES.replace(*edit)
    assert text != ONLY_CLEAR_VALUES
    path = write(tmp_path / "s.yaml", text)
    path.chmod(0o644)
    [warning] = LocalStore(str(path)).fetch(Identity("shop", "orders")).warnings
    assert "holds secret values and is readable by other users" in warning


def test_a_config_form_value_named_like_a_credential_is_secret() -> None:
    store = parse_store(
        yaml.safe_load(ONLY_CLEAR_VALUES.replace("LOG_LEVEL: debug", "LOG_LEVEL: d, AccessToken: t")), "s"
    )
    form = store.projects["shop"].components["orders"].config_form["development"]
    assert form["AccessToken"].secret and not form["LOG_LEVEL"].secret


# ---------------------------------------------------------------- typos never quote a value (12.5)


@pytest.mark.parametrize(
    "old, new, where",
    [
        ("Password: pw-dev-secret", "Password: {secret: true, value:pw-dev-secret}", "parameters.Password"),
        ("Port: 5432", "Port: {value: 5432, secert: pw-dev-secret}", "parameters.Port"),
        ("tokenUrl: http://idp/token}", "tokenUrl: http://idp/token, clientSecret2:pw-dev-secret}", "development"),
    ],
)
def test_an_unknown_key_in_a_secret_bearing_mapping_is_never_named(old: str, new: str, where: str) -> None:
    text = textwrap.dedent(BASE).replace(old, new, 1)
    assert text != textwrap.dedent(BASE)
    try:
        warnings = list(parse_store(yaml.safe_load(text), "store.yaml").warnings)
        errors: list[str] = []
    except ConfigurationError as error:
        warnings, errors = list(error.warnings), [str(error)]
    assert any(f"{where}: an unknown key, ignored" in w for w in warnings), warnings
    assert not [line for line in warnings + errors if "pw-dev-secret" in line or "secert" in line]


# ---------------------------------------------------------------- the usual parameter, read in place

_texts = st.text(max_size=6)
_keys = st.one_of(
    st.sampled_from(["ServiceURL", "Password", "apiKey", "token", "Port", "value", "1"]), _texts, st.integers(0, 3)
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(allow_nan=False), _texts)
_field_values = st.one_of(_scalars, st.lists(_scalars, max_size=2), st.dictionaries(_texts, _scalars, max_size=2))


@st.composite
def _specs(draw: st.DrawFn) -> object:
    """The usual `{value: text, secret: bool, optional: bool}` (each flag may be left out), then now
    and then one field made anything at all, or a key added (`values`, a misspelling, a YAML typo);
    or, now and then, a parameter that is not a mapping at all."""
    if draw(st.integers(0, 7)) == 0:
        return draw(_field_values)
    spec: dict = {"value": draw(_texts)}
    for flag in ("secret", "optional"):
        if draw(st.booleans()):
            spec[flag] = draw(st.booleans())
    if draw(st.booleans()):
        spec[draw(st.sampled_from(["value", "secret", "optional", "values", "valeu", "value:x"]))] = draw(_field_values)
    if draw(st.integers(0, 5)) == 0:
        del spec["value"]
    return spec


@settings(max_examples=300)
@given(st.dictionaries(_keys, _specs(), max_size=5) | _field_values)
def test_the_usual_parameter_read_in_place_is_read_as_parameter_reads_it(spec: object) -> None:
    """_parameters reads `{value: text, secret: bool}` without a node per parameter (a thousand
    connections spend most of their validation there): its answer, its problems and its warnings are
    always those of reading every parameter with _parameter, as it did before."""
    in_place, each = Node.root(spec, "store.yaml"), Node.root(spec, "store.yaml")
    expected = {key: _parameter(value, key) for key, value in each.entries()}
    assert _parameters(in_place) == expected
    assert in_place.sink.problems == each.sink.problems
    assert in_place.sink.warnings == each.sink.warnings
