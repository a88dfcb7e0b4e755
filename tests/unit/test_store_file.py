"""The local store file: what it holds and how it refuses what it cannot hold."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from support.process import EXAMPLE, write
from launcher.backends.local.backend import LocalStore
from launcher.errors import ConfigurationError
from launcher.model import Identity
from launcher.backends.local.store_file import parse_store

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


@pytest.mark.parametrize("edit, expected", [
    (("version: 1", "version: 2"), "store.yaml: version: expected 1, got 2"),
    (("visibility: project", "visibility: org"), "connections[0].visibility: expected project or component, got 'org'"),
    (("        component: orders\n        parameters:\n          Password", "        parameters:\n          Password"),
     "connections[1].component: expected the owning component for a component connection"),
    (("name: catalog", "name: x"), "connections[0].name: invalid connection name 'x'"),
    (("name: orders-db", "name: catalog\n        xx: 1"), None),  # different scopes: allowed
    (("type: database", "type: ftp"), "connections[1].type: expected one of service, database, third-party"),
    (("id: c2", "id: c1"), "connections[1].id: duplicate Connection ID 'c1'"),
    (("Port: 5432", "Port: [1, 2]"), "connections[1].parameters.Port: expected a string, number or boolean, got a list"),
    (("clientSecret: csecret, ", ""), "oauthApps[0].environments.development: expected `clientSecret`"),
    (("component: orders\n        environments", "component: nobody\n        environments"),
     "oauthApps[1].component: expected a component of this project, got 'nobody'"),
])
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
    with pytest.raises(ConfigurationError, match=r"component 'nope' not found in project 'shop' \(components: billing, orders\)"):
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
    path = write(tmp_path / "s.yaml", BASE.replace("        parameters:\n          ServiceURL", "        paramters:\n          ServiceURL"))
    path.chmod(0o600)
    warnings = LocalStore(str(path)).fetch(Identity("shop", "orders")).warnings
    assert any("connections[0].paramters: unknown key, ignored; did you mean 'parameters'?" in w for w in warnings)
