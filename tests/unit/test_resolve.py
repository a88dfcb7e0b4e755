"""Resolution rules, tested purely: manifest + snapshot -> Plan, no processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.backends.local.backend import LocalStore
from launcher.errors import AccessDenied, ResolutionError
from launcher.launch.environment import child_environment
from launcher.manifest.reader import load_manifest
from launcher.model import Identity, Plan
from launcher.resolve.resolver import resolve
from support.process import write

STORE = """
version: 1
projects:
  - name: shop
    components:
      - name: orders
        configForm:
          development: {LOG_LEVEL: debug, API_TOKEN: {value: tok-secret-1, secret: true}}
      - name: billing
    oauthApps:
      - id: shared
        environments:
          development: {clientId: shared-client, clientSecret: shared-secret-9, tokenUrl: http://idp/token}
      - id: orders-app
        component: orders
        environments:
          development: {clientId: orders-client, clientSecret: orders-secret-8, tokenUrl: http://idp/token}
    configGroups:
      - name: flags
        parameters:
          enabled: {values: {development: "a,b"}}
    connections:
      - id: id-catalog
        name: catalog
        type: service
        visibility: project
        auth: oauth
        parameters:
          ServiceURL: {values: {development: http://catalog.dev}}
      - id: id-inventory
        name: inventory
        type: service
        visibility: project
        auth: oauth
        parameters:
          ServiceURL: {values: {development: http://inventory.dev}}
      - id: id-orders-db
        name: orders-db
        type: database
        visibility: component
        component: orders
        parameters:
          HostName: db.dev
          Password: {secret: true, values: {development: db-secret-7}}
          Replica: {optional: true, values: {production: replica.prod}}
      - id: id-orders-catalog
        name: catalog
        type: service
        visibility: component
        component: orders
        oauthApp: orders-app
        parameters:
          ServiceURL: http://catalog.private
      - id: id-billing-db
        name: billing-db
        type: database
        visibility: component
        component: billing
        parameters:
          HostName: billing.dev
  - name: other
    components:
      - name: x
    connections:
      - id: id-foreign
        name: foreign-api
        type: service
        visibility: project
        parameters:
          ServiceURL: http://foreign
"""


def plan_for(
    tmp_path: Path, manifest: str, component: str = "orders", environment: str = "development", overlays: tuple = ()
) -> Plan:
    store = LocalStore(str(write(tmp_path / "store.yaml", STORE)))
    snapshot = store.fetch(Identity("shop", component, environment))
    return resolve(load_manifest(str(write(tmp_path / ".choreo" / "component.yaml", manifest))), snapshot, overlays)


def refs(*names: str) -> str:
    lines = "".join(f"    - name: {name}\n      resourceRef: service:/shop/x/v1/y/PROJECT\n" for name in names)
    return f"schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n{lines}"


def test_connection_reference_injects_every_key_under_default_names(tmp_path: Path) -> None:
    variables = plan_for(tmp_path, refs("inventory")).variables()
    assert variables == {
        "CHOREO_INVENTORY_SERVICEURL": "http://inventory.dev",
        "CHOREO_INVENTORY_CONSUMERKEY": "shared-client",
        "CHOREO_INVENTORY_CONSUMERSECRET": "shared-secret-9",
        "CHOREO_INVENTORY_TOKENURL": "http://idp/token",
    }


def test_component_connection_wins_over_project_connection_of_the_same_name(tmp_path: Path) -> None:
    variables = plan_for(tmp_path, refs("catalog")).variables()
    assert variables["CHOREO_CATALOG_SERVICEURL"] == "http://catalog.private"
    assert variables["CHOREO_CATALOG_CONSUMERKEY"] == "orders-client"
    billing = plan_for(tmp_path, refs("catalog"), component="billing").variables()
    assert billing["CHOREO_CATALOG_SERVICEURL"] == "http://catalog.dev"


def test_project_oauth_application_is_shared_by_every_component(tmp_path: Path) -> None:
    orders = plan_for(tmp_path, refs("inventory")).variables()
    billing = plan_for(tmp_path, refs("inventory", "catalog"), component="billing").variables()
    assert (
        orders["CHOREO_INVENTORY_CONSUMERKEY"]
        == billing["CHOREO_INVENTORY_CONSUMERKEY"]
        == billing["CHOREO_CATALOG_CONSUMERKEY"]
        == "shared-client"
    )
    assert orders["CHOREO_INVENTORY_CONSUMERSECRET"] == billing["CHOREO_CATALOG_CONSUMERSECRET"]


def test_secret_flags_follow_the_store(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, refs("inventory", "orders-db"))
    secret = {a.variable for a in plan.assignments if a.secret}
    assert secret == {"CHOREO_INVENTORY_CONSUMERSECRET", "CHOREO_ORDERS_DB_PASSWORD"}
    assert "db-secret-7" not in repr(plan)


def test_service_reference_injects_only_the_listed_keys(tmp_path: Path) -> None:
    plan = plan_for(
        tmp_path,
        """
        schemaVersion: 1.0
        dependencies:
          serviceReferences:
            - name: choreo:///org/shop/inventory/y/v1/PROJECT
              connectionConfig: id-inventory
              env:
                - {from: ServiceURL, to: SVC_URL}
                - {from: ConsumerSecret, to: CLIENT_SECRET}
        """,
    )
    assert plan.variables() == {"SVC_URL": "http://inventory.dev", "CLIENT_SECRET": "shared-secret-9"}


@pytest.mark.parametrize(
    "manifest, component, expected",
    [
        (
            refs("billing-db"),
            "orders",
            "connection 'billing-db' is a component connection of 'billing'; it is visible only to that component "
            "(this is 'orders')",
        ),
        (
            refs("foreign-api"),
            "orders",
            "connection 'foreign-api' belongs to project 'other'; connections are visible only inside their project",
        ),
        (
            "schemaVersion: 1.2\ndependencies:\n  serviceReferences:\n    - name: n\n      connectionConfig: id-orders-db\n"
            "      env: [{from: HostName, to: H}]\n",
            "billing",
            "connection 'orders-db' (ID 'id-orders-db') is a component connection of 'orders'",
        ),
    ],
)
def test_references_across_visibility_lines_are_refused(
    tmp_path: Path, manifest: str, component: str, expected: str
) -> None:
    with pytest.raises(AccessDenied) as caught:
        plan_for(tmp_path, manifest, component=component)
    assert expected in str(caught.value)
    assert AccessDenied.exit_code == 77


def test_every_resolution_problem_is_reported_at_once(tmp_path: Path) -> None:
    manifest = (
        refs("no-such-connection", "orders-db")
        + """
  serviceReferences:
    - name: n
      connectionConfig: id-nowhere
      env: [{from: ServiceURL, to: A}]
    - name: m
      connectionConfig: id-inventory
      env: [{from: NoSuchKey, to: B}, {from: ServiceURL, to: CHOREO_ORDERS_DB_HOSTNAME}]
configurations:
  env:
    - name: C
      valueFrom: {configForm: {required: true}}
    - name: D
      valueFrom: {configGroupRef: {name: nogroup, key: k}}
"""
    )
    with pytest.raises(ResolutionError) as caught:
        plan_for(tmp_path, manifest)
    messages = [str(p) for p in caught.value.problems]
    expected = [
        "no connection named 'no-such-connection'",
        "no connection with ID 'id-nowhere'",
        "has no key 'NoSuchKey'",
        "no config form value for 'C'",
        "no config group named 'nogroup'",
        "variable CHOREO_ORDERS_DB_HOSTNAME is set twice",
    ]
    for fragment in expected:
        assert any(fragment in message for message in messages), (fragment, messages)
    assert len(messages) == len(expected)


def test_missing_environment_value_fails_unless_optional(tmp_path: Path) -> None:
    assert "CHOREO_ORDERS_DB_REPLICA" not in plan_for(tmp_path, refs("orders-db")).variables()
    with pytest.raises(
        ResolutionError, match="connection 'catalog' has no value for 'ServiceURL' in environment 'production'"
    ):
        plan_for(tmp_path, refs("catalog"), component="billing", environment="production")


def test_configurations_env_sources(tmp_path: Path) -> None:
    plan = plan_for(
        tmp_path,
        refs("orders-db")
        + """
configurations:
  env:
    - {name: DB_PASSWORD, valueFrom: {connectionRef: {name: orders-db, key: password}}}
    - {name: LOG_LEVEL, valueFrom: {configForm: {type: string}}}
    - {name: API_TOKEN, valueFrom: {configForm: {type: secret}}}
    - {name: TIMEOUT, valueFrom: {configForm: {default: 30, required: true}}}
    - {name: OPTIONAL_ONE, valueFrom: {configForm: {required: false}}}
    - {name: FLAGS, valueFrom: {configGroupRef: {name: flags, key: enabled}}}
    - {name: LITERAL, value: true}
""",
    )
    variables = plan.variables()
    assert "CHOREO_ORDERS_DB_PASSWORD" not in variables  # renamed, not duplicated
    assert variables["DB_PASSWORD"] == "db-secret-7"
    assert (variables["LOG_LEVEL"], variables["API_TOKEN"], variables["TIMEOUT"]) == ("debug", "tok-secret-1", "30")
    assert (variables["FLAGS"], variables["LITERAL"]) == ("a,b", "true")
    assert "OPTIONAL_ONE" not in variables
    assert {a.variable for a in plan.assignments if a.secret} == {"DB_PASSWORD", "API_TOKEN"}
    assert any("read 'password' as 'Password'" in w for w in plan.warnings)


def test_connection_ref_to_an_undeclared_connection_is_refused(tmp_path: Path) -> None:
    manifest = (
        refs("orders-db") + "configurations:\n  env:\n    - {name: X, valueFrom: {connectionRef: "
        "{name: catalog, key: ServiceURL}}}\n"
    )
    with pytest.raises(
        ResolutionError, match="connection 'catalog' is not declared in dependencies.connectionReferences"
    ):
        plan_for(tmp_path, manifest)


def test_overlays_win_and_are_treated_as_secret(tmp_path: Path) -> None:
    plan = plan_for(
        tmp_path, refs("inventory"), overlays=((".env", {"CHOREO_INVENTORY_SERVICEURL": "http://localhost:1"}),)
    )
    assignment = next(a for a in plan.assignments if a.variable == "CHOREO_INVENTORY_SERVICEURL")
    assert (assignment.value, assignment.secret, assignment.origin.detail) == ("http://localhost:1", True, ".env")


def test_child_environment_precedence_and_launcher_settings(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, refs("inventory"))
    base = {"CHOREO_INVENTORY_SERVICEURL": "inherited", "PATH": "/bin", "CHOREO_RUN_TOKEN": "launcher-token"}
    overriding = child_environment(plan, base)
    assert overriding["CHOREO_INVENTORY_SERVICEURL"] == "http://inventory.dev"
    assert "CHOREO_RUN_TOKEN" not in overriding and overriding["PATH"] == "/bin"
    keeping = child_environment(plan, base, override=False)
    assert keeping["CHOREO_INVENTORY_SERVICEURL"] == "inherited"


# ---------------------------------------------------------------- dangerous names (item 12.7)


def literal(name: str, value: str = "x") -> str:
    return f"schemaVersion: 1.2\nconfigurations:\n  env:\n    - {{name: {name}, value: '{value}'}}\n"


def test_a_variable_that_changes_how_code_loads_is_refused_naming_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as caught:
        plan_for(tmp_path, literal("LD_PRELOAD", "/tmp/evil.so"))
    message = str(caught.value)
    assert "value configurations.env[0].value: variable LD_PRELOAD changes how" in message
    assert "--allow-variable LD_PRELOAD" in message and "/tmp/evil.so" not in message


def test_an_allowed_dangerous_variable_is_injected(tmp_path: Path) -> None:
    store = LocalStore(str(write(tmp_path / "store.yaml", STORE)))
    manifest = load_manifest(str(write(tmp_path / ".choreo" / "component.yaml", literal("PYTHONPATH", "/opt/lib"))))
    snapshot = store.fetch(Identity("shop", "orders"))
    plan = resolve(manifest, snapshot, allowed_variables=frozenset({"PYTHONPATH"}))
    assert plan.variables()["PYTHONPATH"] == "/opt/lib"
    with pytest.raises(ResolutionError, match="PYTHONPATH"):
        resolve(manifest, snapshot, allowed_variables=frozenset({"LD_PRELOAD"}))


def test_a_service_reference_renamed_to_path_is_refused(tmp_path: Path) -> None:
    manifest = (
        "schemaVersion: 1.2\ndependencies:\n  serviceReferences:\n"
        "    - {name: x, connectionConfig: id-inventory, env: [{from: ServiceURL, to: PATH}]}\n"
    )
    with pytest.raises(ResolutionError, match="serviceReference inventory.ServiceURL: variable PATH changes"):
        plan_for(tmp_path, manifest)


def test_an_env_file_layer_may_not_set_a_dangerous_variable(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match="env-file dev.env: variable NODE_OPTIONS changes"):
        plan_for(tmp_path, refs("inventory"), overlays=(("dev.env", {"NODE_OPTIONS": "--require /tmp/x.js"}),))


# ---------------------------------------------------------------- empty values (item 13.7)


def plan_with_store(tmp_path: Path, manifest: str, old: str, new: str) -> Plan:
    text = STORE.replace(old, new)
    assert text != STORE
    store = LocalStore(str(write(tmp_path / "store.yaml", text)))
    snapshot = store.fetch(Identity("shop", "orders"))
    return resolve(load_manifest(str(write(tmp_path / ".choreo" / "component.yaml", manifest))), snapshot)


def test_an_empty_secret_parameter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError) as caught:
        plan_with_store(tmp_path, refs("orders-db"), "development: db-secret-7", 'development: ""')
    assert "connection 'orders-db' has an empty value for 'Password' in environment 'development'" in str(caught.value)
    assert "optional: true" in str(caught.value)


def test_an_empty_required_parameter_is_refused_through_a_service_reference(tmp_path: Path) -> None:
    manifest = (
        "schemaVersion: 1.2\ndependencies:\n  serviceReferences:\n"
        "    - {name: x, connectionConfig: id-inventory, env: [{from: ServiceURL, to: INVENTORY_URL}]}\n"
    )
    with pytest.raises(ResolutionError, match=r"env\[0\]\.from: connection 'inventory' has an empty value"):
        plan_with_store(tmp_path, manifest, "development: http://inventory.dev", 'development: ""')


def test_an_optional_parameter_may_be_empty(tmp_path: Path) -> None:
    plan = plan_with_store(
        tmp_path,
        refs("orders-db"),
        "{optional: true, values: {production: replica.prod}}",
        "{optional: true, value: ''}",
    )
    assert plan.variables()["CHOREO_ORDERS_DB_REPLICA"] == ""


def test_an_empty_config_form_value_is_refused_unless_the_manifest_says_not_required(tmp_path: Path) -> None:
    form = "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: LOG_LEVEL\n      valueFrom: {configForm: {REQ}}\n"
    with pytest.raises(ResolutionError, match="the config form value for 'LOG_LEVEL' is empty"):
        plan_with_store(tmp_path, form.replace("REQ", "type: string"), "LOG_LEVEL: debug", 'LOG_LEVEL: ""')
    optional = form.replace("REQ", "type: string, required: false")
    assert plan_with_store(tmp_path, optional, "LOG_LEVEL: debug", 'LOG_LEVEL: ""').variables()["LOG_LEVEL"] == ""
    secret = form.replace("REQ", "type: secret, required: false")
    with pytest.raises(ResolutionError, match="is empty"):
        plan_with_store(tmp_path, secret, "LOG_LEVEL: debug", 'LOG_LEVEL: ""')


def test_an_empty_config_group_value_is_refused(tmp_path: Path) -> None:
    manifest = literal("X").replace(
        "{name: X, value: 'x'}", "{name: FLAGS, valueFrom: {configGroupRef: {name: flags, key: enabled}}}"
    )
    with pytest.raises(ResolutionError, match="config group 'flags' has an empty value for 'enabled'"):
        plan_with_store(tmp_path, manifest, 'development: "a,b"', 'development: ""')


def test_empty_values_written_in_the_manifest_itself_are_meant(tmp_path: Path) -> None:
    manifest = (
        "schemaVersion: 1.2\nconfigurations:\n  env:\n    - {name: A, value: ''}\n    - {name: B, value: }\n"
        "    - {name: C, valueFrom: {configForm: {type: secret, default: ''}}}\n"
    )
    assert plan_for(tmp_path, manifest).variables() == {"A": "", "B": "", "C": ""}


# ---------------------------------------------------------------- private configuration files (item 12.7)


def test_a_file_built_from_an_object_value_is_private(tmp_path: Path) -> None:
    manifest = (
        "schemaVersion: 1.2\nconfigurations:\n  file:\n    - name: s.json\n      mountPath: /app\n      values:\n"
        "        - {name: a, value: plain}\n"
        "        - {name: b, valueFrom: {configForm: {type: object, default: {nested: 1}}}}\n"
    )
    [output] = plan_for(tmp_path, manifest).files
    assert output.secret
    plain = manifest.split("        - {name: b")[0]
    [output] = plan_for(tmp_path, plain).files
    assert not output.secret


def test_a_file_built_from_an_object_the_store_holds_is_private(tmp_path: Path) -> None:
    manifest = (
        "schemaVersion: 1.2\nconfigurations:\n  file:\n    - name: s.json\n      mountPath: /app\n      values:\n"
        "        - {name: payment, valueFrom: {configForm: {type: object}}}\n"
    )
    files = "      - name: orders\n        files: {development: {s.json: {payment: {provider: sandbox}}}}\n"
    [output] = plan_with_store(tmp_path, manifest, "      - name: orders\n", files).files
    assert output.secret and b"sandbox" in output.content


def test_a_key_without_a_value_here_is_reported_once_not_as_a_missing_key(tmp_path) -> None:
    """A renamed key with no value in this environment: one problem (the value), not also "no key"."""
    from launcher.errors import ResolutionError
    from launcher.model import Connection, Identity, Snapshot

    manifest_file = write(
        tmp_path / "component.yaml",
        """
        schemaVersion: 1.2
        dependencies:
          connectionReferences:
            - {name: orders-db, resourceRef: "database:orders"}
        configurations:
          env:
            - name: DATABASE_PASSWORD
              valueFrom: {connectionRef: {name: orders-db, key: Password}}
        """,
    )
    connection = Connection("c1", "orders-db", "database", "project", "p", None, unset_keys=frozenset({"Password"}))
    snapshot = Snapshot(Identity("p", "c", "development"), "test", (connection,))
    with pytest.raises(ResolutionError) as raised:
        resolve(load_manifest(str(manifest_file)), snapshot)
    messages = [str(problem) for problem in raised.value.problems]
    assert len(messages) == 1 and "has no value for 'Password' in environment 'development'" in messages[0]
