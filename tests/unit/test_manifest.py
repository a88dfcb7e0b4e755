"""Manifest reading: every form, every quirk, every problem reported with file and path."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.errors import ManifestError, ManifestNotFound
from launcher.manifest.reader import discover, load_manifest
from support.process import write

GOOD_12 = """
schemaVersion: 1.2
dependencies:
  connectionReferences:
    - name: hr-connection
      resourceRef: service:/HRProject/UserComponent/v1/ad088/PUBLIC
  serviceReferences:
    - name: choreo:///org/p/c/ad088/v1/PUBLIC
      connectionConfig: 01ef0dc4-2490-1df8-80bd-776c36b2b760
      env:
        - from: ServiceURL
          to: SERVICE_URL
configurations:
  env:
    - name: LITERAL
      value: 42
    - name: HR_URL
      valueFrom:
        connectionRef: {name: hr-connection, key: ServiceURL}
    - name: FLAG
      valueFrom:
        configGroupRef: {name: flags, key: enabled}
    - name: PORT
      valueFrom:
        configForm: {type: number, required: false}
  file:
    - name: app.yaml
      mountPath: /app/conf
      values:
        - name: a
          value: b
"""


def load(tmp_path: Path, text: str, name: str = "component.yaml"):
    return load_manifest(str(write(tmp_path / ".choreo" / name, text)))


def problems_of(tmp_path: Path, text: str, name: str = "component.yaml") -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, text, name)
    return [str(problem) for problem in caught.value.problems]


def test_reads_every_section_of_a_12_manifest(tmp_path: Path) -> None:
    manifest = load(tmp_path, GOOD_12)
    assert manifest.schema_version == "1.2"
    assert [r.name for r in manifest.connection_references] == ["hr-connection"]
    assert manifest.service_references[0].connection_id == "01ef0dc4-2490-1df8-80bd-776c36b2b760"
    assert [(m.key, m.variable) for m in manifest.service_references[0].env] == [("ServiceURL", "SERVICE_URL")]
    assert [(e.variable, e.source.kind) for e in manifest.env] == [
        ("LITERAL", "value"),
        ("HR_URL", "connectionRef"),
        ("FLAG", "configGroupRef"),
        ("PORT", "configForm"),
    ]
    assert manifest.files[0].mount_path == "/app/conf" and manifest.files[0].file_type == "yaml"
    assert manifest.warnings == ()


@pytest.mark.parametrize("raw, expected", [("1.0", "1.0"), ("1.1", "1.1"), ('"1.2"', "1.2"), ("'1.1'", "1.1")])
def test_schema_version_as_number_or_string(tmp_path: Path, raw: str, expected: str) -> None:
    assert load(tmp_path, f"schemaVersion: {raw}\n").schema_version == expected


def test_integer_schema_version_is_read_with_a_warning(tmp_path: Path) -> None:
    manifest = load(tmp_path, "schemaVersion: 1\n")
    assert manifest.schema_version == "1.0"
    assert any("read 1 as 1.0" in warning for warning in manifest.warnings)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("schemaVersion: 2.0\n", "schemaVersion: expected one of 1.0, 1.1, 1.2, got '2.0'"),
        ("endpoints: []\n", "schemaVersion: expected one of 1.0, 1.1, 1.2, got nothing"),
        (
            "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n    - name: ab\n      resourceRef: service:/a\n",
            "dependencies.connectionReferences[0].name: invalid connection name 'ab': expected 3 to 50 characters",
        ),
        (
            "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n    - name: good-name\n",
            "dependencies.connectionReferences[0].resourceRef: expected a resourceRef",
        ),
        (
            "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n    - name: good-name\n      resourceRef: ftp:/x\n",
            "resourceRef: invalid resourceRef 'ftp:/x': for services use [service:]",
        ),
        (
            "schemaVersion: 1.2\ndependencies:\n  connectionReferences: {name: x}\n",
            "dependencies.connectionReferences: expected a list, got a mapping",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: BAD-NAME\n      value: x\n",
            "configurations.env[0].name: invalid variable name 'BAD-NAME'",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: X\n",
            "configurations.env[0]: expected `value` or `valueFrom`, got neither",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: X\n      value: 1\n      valueFrom: {configForm: {}}\n",
            "configurations.env[0]: expected exactly one of `value` or `valueFrom`, got both",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: X\n      valueFrom: {secretRef: {}}\n",
            "configurations.env[0].valueFrom: expected exactly one of connectionRef, configGroupRef, configForm",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: X\n      valueFrom: {connectionRef: {name: abc}}\n",
            "configurations.env[0].valueFrom.connectionRef.key: expected a key, got nothing",
        ),
        (
            "schemaVersion: 1.2\nconfigurations:\n  file:\n    - name: ../x\n      mountPath: /a\n",
            "configurations.file[0].name: expected a plain file name",
        ),
        ("- a\n- b\n", "expected a mapping at the top level, got a list"),
        (
            "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: X\n      valueFrom: {configGroupRef: {name: g, key: on}}\n",
            "valueFrom.configGroupRef.key: expected a key, got a boolean (YAML reads yes/no/on/off",
        ),
    ],
)
def test_problems_name_the_path_and_what_was_expected(tmp_path: Path, text: str, expected: str) -> None:
    assert any(expected in problem for problem in problems_of(tmp_path, text)), problems_of(tmp_path, text)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
        schemaVersion: 1.2
        dependencies:
          connectionReferences:
            - name: a
              resourceRef: service:/p/x/v1
            - resourceRef: y/v1
            - name: fine-one
              resourceRef: service:/p/z/v1/ep/PUBLIC
            - name: b
        """,
    )
    assert len(problems) == 4
    assert (
        problems[0].startswith(".choreo/component.yaml: dependencies.connectionReferences[0].name")
        or "dependencies.connectionReferences[0].name" in problems[0]
    )
    assert any("connectionReferences[3].resourceRef" in p for p in problems)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("schemaVersion: 1.2\nschemaVersion: 1.1\n", "line 2, column 1: invalid YAML: duplicate key 'schemaVersion'"),
        ("schemaVersion: [1.2\n", "invalid YAML"),
        ("schemaVersion: !!python/object:os.system x\n", "YAML tags that construct objects are not allowed"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "nesting deeper than 64 levels"),
    ],
)
def test_malformed_yaml_is_one_clear_problem(tmp_path: Path, text: str, expected: str) -> None:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and expected in problems[0]


def test_binary_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / ".choreo" / "component.yaml"
    path.parent.mkdir(parents=True)
    for raw, expected in ((b"schemaVersion: 1.2\x00", "NUL byte"), (b"schemaVersion: \xff\xfe", "UTF-8")):
        path.write_bytes(raw)
        with pytest.raises(ManifestError, match=expected):
            load_manifest(str(path))


def test_dependencies_indented_under_an_endpoint_are_read_with_a_warning(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        schemaVersion: 1.1
        endpoints:
          - name: ep
            service: {port: 9090}
            dependencies:
              connectionReferences:
                - name: hr-connection
                  resourceRef: service:/a/b/v1/x/PUBLIC
        """,
    )
    assert [r.name for r in manifest.connection_references] == ["hr-connection"]
    assert any("indented under an endpoint" in w for w in manifest.warnings)


def test_legacy_singular_configuration_is_read_with_a_warning(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        schemaVersion: 1.1
        configurations:
          env: [{name: A, value: x}]
        configuration:
          env: [{name: B, value: y}]
        """,
    )
    assert [e.variable for e in manifest.env] == ["A", "B"]
    assert any("legacy singular key" in w for w in manifest.warnings)


@pytest.mark.parametrize("api_version", ["core.choreo.dev/v1beta1", "core.choreo.dev/v1alpha1"])
def test_component_config_versions(tmp_path: Path, api_version: str) -> None:
    manifest = load(
        tmp_path,
        f"""
        apiVersion: {api_version}
        kind: ComponentConfig
        spec:
          outbound:
            serviceReferences:
              - name: choreo:///a/b/c/d/v1/PUBLIC
                connectionConfig: 01ef-2
                env: [{{from: ConsumerKey, to: CLIENT_ID}}]
        """,
        "component-config.yaml",
    )
    assert manifest.kind == "component-config.yaml"
    assert manifest.service_references[0].env[0].variable == "CLIENT_ID"


def test_component_config_with_wrong_kind_and_version(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "apiVersion: core.choreo.dev/v2\nkind: Other\nspec: {}\n", "component-config.yaml")
    assert any("apiVersion: expected one of core.choreo.dev/v1beta1" in p for p in problems)
    assert any("kind: expected 'ComponentConfig', got 'Other'" in p for p in problems)


def test_endpoints_yaml_declares_nothing(tmp_path: Path) -> None:
    manifest = load(tmp_path, "version: 0.1\nendpoints: []\n", "endpoints.yaml")
    assert (manifest.kind, manifest.connection_references, manifest.service_references) == ("endpoints.yaml", (), ())


def test_discovery_precedence(tmp_path: Path) -> None:
    write(tmp_path / ".choreo" / "endpoints.yaml", "version: 0.1\n")
    assert discover(str(tmp_path))[0].endswith(".choreo/endpoints.yaml")
    write(tmp_path / ".choreo" / "component-config.yaml", "apiVersion: core.choreo.dev/v1beta1\n")
    assert discover(str(tmp_path))[0].endswith(".choreo/component-config.yaml")
    write(tmp_path / ".choreo" / "component.yaml", "schemaVersion: 1.2\n")
    path, warnings = discover(str(tmp_path))
    assert path.endswith(".choreo/component.yaml")
    assert any("component-config.yaml: ignored, component.yaml takes precedence" in w for w in warnings)
    write(tmp_path / ".wso2" / "component.yaml", "schemaVersion: 1.2\n")
    path, warnings = discover(str(tmp_path))
    assert path.endswith(".wso2/component.yaml")
    assert any(".choreo: ignored" in w for w in warnings)


def test_discovery_reports_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ManifestNotFound, match=r"no manifest found \(looked for .wso2/component.yaml"):
        discover(str(tmp_path))


def test_secret_literal_never_in_repr(tmp_path: Path) -> None:
    manifest = load(tmp_path, "schemaVersion: 1.2\nconfigurations:\n  env: [{name: A, value: hunter2-literal}]\n")
    assert "hunter2-literal" not in repr(manifest)


def test_a_misspelt_key_is_warned_about_with_a_suggestion(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        """
        schemaVersion: 1.2
        dependencies:
          connectionRefrences:
            - name: hr-connection
              resourceRef: service:/a/b/v1/c/PUBLIC
        configurations:
          env:
            - name: A
              valueFrom:
                connectionRef: {name: hr-connection, key: ServiceURL, kee: x}
        """,
    )
    assert manifest.connection_references == ()
    assert any(
        "dependencies.connectionRefrences: unknown key, ignored; did you mean 'connectionReferences'?" in w
        for w in manifest.warnings
    )
    assert any("connectionRef.kee: unknown key, ignored; did you mean 'key'?" in w for w in manifest.warnings)


def test_warnings_travel_with_the_error_they_explain(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, "schemaVersion: 1.2\nconfigurations:\n  file:\n    - name: a.json\n      mountpath: /x\n")
    assert "configurations.file[0].mountPath: expected a directory" in str(caught.value)
    assert any("mountpath: unknown key, ignored; did you mean 'mountPath'?" in w for w in caught.value.warnings)


# YAML types a value by how it looks: an unquoted date is a date, `!!set`, `!!binary` and `!!timestamp`
# build other types again. Where text belongs each is one problem naming the path and what was expected,
# never a crash (a date or set as a literal value in a mounted JSON file once ended in exit 70).
TAGGED = {
    "!!timestamp 2024-01-02T03:04:05Z": "got a date and time (YAML reads an unquoted date as a date; quote the text)",
    "2024-01-02": "got a date (YAML reads an unquoted date as a date; quote the text)",
    "!!set {a, b}": "got a set",
    "!!binary aGVsbG8=": "got binary data",
    "{nested: mapping}": "got a mapping",
}
TAGGED_PLACES = [
    ("name: hr-connection", "name: {}", "dependencies.connectionReferences[0].name", "expected a connection name"),
    (
        "resourceRef: service:/HRProject/UserComponent/v1/ad088/PUBLIC",
        "resourceRef: {}",
        "dependencies.connectionReferences[0].resourceRef",
        "expected a resourceRef such as service:/",
    ),
    (
        "connectionConfig: 01ef0dc4-2490-1df8-80bd-776c36b2b760",
        "connectionConfig: {}",
        "dependencies.serviceReferences[0].connectionConfig",
        "expected a Connection ID",
    ),
    ("from: ServiceURL", "from: {}", "dependencies.serviceReferences[0].env[0].from", "expected a connection key"),
    ("to: SERVICE_URL", "to: {}", "dependencies.serviceReferences[0].env[0].to", "expected a variable name"),
    ("name: LITERAL", "name: {}", "configurations.env[0].name", "expected a variable name"),
    ("value: 42", "value: {}", "configurations.env[0].value", "expected a string, number or boolean"),
    (
        "connectionRef: {name: hr-connection, key: ServiceURL}",
        "connectionRef:\n          name: hr-connection\n          key: {}",
        "configurations.env[1].valueFrom.connectionRef.key",
        "expected a key",
    ),
    ("mountPath: /app/conf", "mountPath: {}", "configurations.file[0].mountPath", "expected a directory"),
    ("value: b", "value: {}", "configurations.file[0].values[0].value", "expected a string, number or boolean"),
]


@pytest.mark.parametrize("tagged, got", TAGGED.items())
@pytest.mark.parametrize("old, new, path, expected", TAGGED_PLACES)
def test_yaml_types_where_text_belongs_are_problems(
    tmp_path: Path, old: str, new: str, path: str, expected: str, tagged: str, got: str
) -> None:
    assert old in GOOD_12
    found = problems_of(tmp_path, GOOD_12.replace(old, new.format(tagged), 1))
    assert any(f"component.yaml: {path}: {expected}" in problem and problem.endswith(got) for problem in found), found


@pytest.mark.parametrize("tagged, got", TAGGED.items())
def test_a_config_form_default_holds_only_what_a_file_can(tmp_path: Path, tagged: str, got: str) -> None:
    text = GOOD_12.replace(
        "configForm: {type: number, required: false}",
        f"configForm:\n          type: number\n          default: [1, {tagged}]",
    )
    if tagged.startswith("{"):  # rendered as JSON text, or into a mounted file
        assert load(tmp_path, text).env[3].source.form["default"] == [1, {"nested": "mapping"}]
        return
    expected = (
        f"component.yaml: configurations.env[3].valueFrom.configForm.default[1]: expected a string, number, "
        f"boolean, list or mapping, {got}"
    )
    assert any(problem.endswith(expected) for problem in problems_of(tmp_path, text))


@pytest.mark.parametrize(
    "raw, literal",
    [("!!bool yes", True), ("on", True), ("!!int 42", 42), ("!!float 1e3", 1000.0), ("!!str 42", "42"), ("", None)],
)
def test_booleans_numbers_and_nothing_are_literal_values_as_before(tmp_path: Path, raw: str, literal: object) -> None:
    manifest = load(tmp_path, GOOD_12.replace("value: 42", f"value: {raw}"))
    assert manifest.env[0].source.literal == literal


def test_a_boolean_name_gets_the_quoting_hint(tmp_path: Path) -> None:
    found = problems_of(tmp_path, GOOD_12.replace("name: hr-connection", "name: !!bool yes", 1))
    assert [problem.split("component.yaml: ", 1)[1] for problem in found] == [
        "dependencies.connectionReferences[0].name: expected a connection name, got a boolean (YAML reads "
        "yes/no/on/off/true/false as booleans; quote the text)"
    ]


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("!!bool yes", "'True'"),
        ("2024-01-02", "a date"),
        ("!!set {a}", "a set"),
        ("!!binary aGVsbG8=", "binary data"),
        ("[1.2]", "a list"),
    ],
)
def test_schema_version_of_another_yaml_type(tmp_path: Path, raw: str, shown: str) -> None:
    found = problems_of(tmp_path, f"schemaVersion: {raw}\n")
    assert [problem.split("component.yaml: ", 1)[1] for problem in found] == [
        f"schemaVersion: expected one of 1.0, 1.1, 1.2, got {shown}"
    ]


def test_component_config_kind_of_another_yaml_type(tmp_path: Path) -> None:
    text = "apiVersion: 2024-01-02\nkind: !!binary aGVsbG8=\nspec: {}\n"
    found = problems_of(tmp_path, text, "component-config.yaml")
    assert [problem.split("component-config.yaml: ", 1)[1] for problem in found] == [
        "apiVersion: expected one of core.choreo.dev/v1beta1, core.choreo.dev/v1alpha1, got a date",
        "kind: expected 'ComponentConfig', got binary data",
    ]


# ---------------------------------------------------------------- keys that may be values are never quoted (12.5)


def test_a_literal_value_typed_as_a_key_is_refused_without_its_text(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, "schemaVersion: 1.2\nconfigurations:\n  env:\n    - {name: API_TOKEN, value:s3cr3t-9f}\n")
    everything = "\n".join([str(caught.value), *caught.value.warnings])
    assert "s3cr3t" not in everything
    assert "configurations.env[0]: an unknown key of 15 characters, ignored" in everything
    assert "space after the colon (`value: ...`)" in everything


def test_value_from_names_only_the_known_kinds_it_found(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, "schemaVersion: 1.2\nconfigurations:\n  env:\n    - {name: A, valueFrom: {s3cr3t-9f: 1}}\n")
    everything = "\n".join([str(caught.value), *caught.value.warnings])
    assert "s3cr3t" not in everything
    assert "expected exactly one of connectionRef, configGroupRef, configForm, got none of them" in everything


# ---------------------------------------------------------------- issue 14: what Choreo accepts, choreo-run accepts


def refs(tmp_path: Path, *resource_refs: str) -> str:
    entries = "".join(f"    - name: conn-{i}\n      resourceRef: '{ref}'\n" for i, ref in enumerate(resource_refs))
    return f"schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n{entries}"


@pytest.mark.parametrize(
    "ref",
    [
        "noauth/v1",
        "/proj/comp/v1/ep/PROJECT",
        "service:/proj/comp/v1/ep/PUBLIC",
        "service:comp/1.2.3",
        "comp/V2/ORGANIZATION",
        "thirdparty:my api/v1.1",
        "database:srv/db",
        "database:db",
        "storage:my-storage.service_2 space",
    ],
)
def test_resource_refs_choreo_accepts(tmp_path: Path, ref: str) -> None:
    assert load(tmp_path, refs(tmp_path, ref)).connection_references[0].resource_ref == ref


@pytest.mark.parametrize(
    "ref",
    [
        "service:/mttm/mmvhxd/v1.1/ad088/PRIVATE",
        "mttm/mmvhxd/v1.1/ad088/PUBLIC",
        "mmvhxd/v1.1/",
        "thirdparty:mttm/v1.1/invalid",
        "thirdparty:v1.1",
        "database:/mySqlDbServer/hotelDb",
        "THIRDPARTY:a/b/c",
        "storage:bad!",
        "service:/a",
    ],
)
def test_resource_refs_choreo_refuses(tmp_path: Path, ref: str) -> None:
    [problem] = problems_of(tmp_path, refs(tmp_path, ref))
    assert "dependencies.connectionReferences[0].resourceRef: invalid" in problem and repr(ref) in problem


def test_schema_version_is_a_number_as_choreo_reads_it(tmp_path: Path) -> None:
    manifest = load(tmp_path, 'schemaVersion: "1.20"\n')
    assert manifest.schema_version == "1.2" and any("read '1.20' as 1.2" in w for w in manifest.warnings)


def test_old_component_config_api_version_is_read_with_a_warning(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        'apiVersion: "0.0.1"\nkind: ComponentConfig\nspec:\n  outbound:\n    serviceReferences:\n'
        "      - {name: 'choreo:///o/p/c/e/v1/PUBLIC', connectionConfig: 01ef0dc4-2490-1df8-80bd-776c36b2b760,"
        " env: [{from: ServiceURL, to: URL}]}\n",
        "component-config.yaml",
    )
    assert manifest.service_references[0].env[0].variable == "URL"
    assert any("apiVersion: read '0.0.1' as core.choreo.dev/v1beta1" in w for w in manifest.warnings)


SERVICE_REFERENCE = (
    "  serviceReferences:\n    - name: choreo:///o/p/c/e/v1/PUBLIC\n"
    "      connectionConfig: 01ef0dc4-2490-1df8-80bd-776c36b2b760\n      env: [{from: ServiceURL, to: URL}]\n"
)


def test_a_top_level_outbound_beside_spec_is_read_with_a_warning(tmp_path: Path) -> None:
    text = "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\nspec: {}\noutbound:\n" + SERVICE_REFERENCE
    manifest = load(tmp_path, text, "component-config.yaml")
    assert [r.env[0].variable for r in manifest.service_references] == ["URL"]
    assert any("outbound: misplaced: this section belongs under `spec.outbound`" in w for w in manifest.warnings)


def test_a_top_level_outbound_beside_a_spec_outbound_is_ignored_with_a_warning(tmp_path: Path) -> None:
    text = (
        "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\nspec:\n  outbound: {}\noutbound:\n"
        + SERVICE_REFERENCE
    )
    manifest = load(tmp_path, text, "component-config.yaml")
    assert manifest.service_references == ()
    assert any("outbound: ignored: this section belongs under `spec.outbound`" in w for w in manifest.warnings)


def test_a_component_config_body_named_component_yaml_is_read_as_one(tmp_path: Path) -> None:
    text = (
        "apiVersion: core.choreo.dev/v1beta1\nkind: ComponentConfig\nspec:\n  outbound:\n"
        + SERVICE_REFERENCE.replace("\n  ", "\n    ").replace("  serviceReferences", "    serviceReferences", 1)
    )
    manifest = load(tmp_path, text)
    assert manifest.kind == "component-config.yaml" and manifest.service_references[0].env[0].variable == "URL"
    assert any("component-config.yaml body" in w and "named component.yaml" in w for w in manifest.warnings)


def test_top_level_files_and_env_are_read_under_configurations(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        "schemaVersion: 1.2\nfiles:\n  - {name: Config.toml, mountPath: /app, type: toml, values: [{name: a, value: b}]}\n"
        "env:\n  - {name: A, value: x}\n",
    )
    assert [f.name for f in manifest.files] == ["Config.toml"] and [e.variable for e in manifest.env] == ["A"]
    assert any("files: misplaced: this section belongs under `configurations.file`" in w for w in manifest.warnings)
    assert any("env: misplaced: this section belongs under `configurations.env`" in w for w in manifest.warnings)


def test_config_form_default_value_and_unknown_keys(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        "schemaVersion: 1.2\nconfigurations:\n  env:\n    - name: A\n      valueFrom:\n        configForm:\n"
        "          displayName: A\n          defaultValue: 5\n          requried: false\n          required: 'False'\n",
    )
    assert manifest.env[0].source.form["default"] == 5 and "defaultValue" not in manifest.env[0].source.form
    assert manifest.env[0].source.required is False
    assert any("configForm.requried: unknown key, ignored; did you mean 'required'?" in w for w in manifest.warnings)


def test_config_form_required_must_be_a_boolean(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "schemaVersion: 1.2\nconfigurations:\n  env:\n    - {name: A, valueFrom: {configForm: {required: abc}}}\n",
    )
    assert any("configurations.env[0].valueFrom.configForm.required: expected true or false" in p for p in found)


def test_duplicate_variable_names_in_one_list_are_refused(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, "schemaVersion: 1.2\nconfigurations:\n  env:\n    - {name: A, value: x}\n    - {name: A, value: y}\n"
    )
    assert found == [
        f"{found[0].split(': ')[0]}: configurations.env[1].name: variable A is declared twice in this list (names must be unique)"
    ]


@pytest.mark.parametrize("file_type", ["toml", "ini", "xml", "properties", "env", "text", "yaml", "json"])
def test_every_file_type_is_accepted(tmp_path: Path, file_type: str) -> None:
    text = f"schemaVersion: 1.2\nconfigurations:\n  file:\n    - {{name: f, mountPath: /a, type: {file_type}, values: []}}\n"
    assert load(tmp_path, text).files[0].file_type == file_type


def test_endpoint_problems_are_warnings(tmp_path: Path) -> None:
    manifest = load(
        tmp_path,
        "schemaVersion: 1.2\nendpoints:\n  - name: Bad_Name\n    service: {port: 80}\n    type: UDP\n",
    )
    warnings = "\n".join(manifest.warnings)
    assert "endpoints[0].name: Choreo refuses this endpoint name" in warnings
    assert "endpoints[0].service.port: Choreo expects a port greater than 1000" in warnings
    assert "endpoints[0].networkVisibilities: Choreo allows a UDP endpoint only" in warnings


# ---------------------------------------------------------------- file types: values stay data, parsed back

NASTY = {
    "plain": "value",
    "quotes": "a \"double\" and 'single'",
    "escapes": "back\\slash\ttab\nline\rcr",
    "syntax": "= : # ! ; [x] ${HOME} $HOME %(x)s",
    "unicode": "naïve ☃ 😀",
    "number": 42,
    "flag": True,
    "nested": {"inner": "v", "deeper": {"k": 1.5}, "list": [1, "two", {"three": 3}]},
}


def test_toml_round_trip() -> None:
    import tomllib

    from launcher.resolve.config import render

    parsed = tomllib.loads(render("toml", NASTY).decode())
    assert parsed == NASTY


def test_toml_sections_for_ballerina() -> None:
    import tomllib

    from launcher.resolve.config import render

    values = {"myorg": {"mymodule": {"port": 9090, "host": "db"}}, "top": "x"}
    text = render("toml", values).decode()
    assert "[myorg.mymodule]" in text and tomllib.loads(text) == values


def test_ini_round_trip_and_what_it_cannot_hold() -> None:
    import configparser

    from launcher.resolve.config import UnwritableValue, render

    values = {"top": "v = : # ; %(x)s", "n": 3, "server": {"host": "h", "port": 80, "obj": {"a": [1]}}}
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(render("ini", values).decode())
    assert parser["DEFAULT"]["top"] == "v = : # ; %(x)s" and parser["server"]["port"] == "80"
    assert parser["server"]["obj"] == '{"a": [1]}'
    with pytest.raises(UnwritableValue):
        render("ini", {"a": "two\nlines"})


def test_xml_round_trip() -> None:
    from xml.etree import ElementTree

    from launcher.resolve.config import render

    values = {"text": NASTY["escapes"] + ' <tag> & "q"', "odd key": "v", "n": {"list": ["a", "b"]}}
    root = ElementTree.fromstring(render("xml", values))
    assert root.find("text").text == values["text"]  # type: ignore[union-attr]
    assert root.find("entry[@key='odd key']").text == "v"  # type: ignore[union-attr]
    assert [item.text for item in root.iterfind("n/list/item")] == ["a", "b"]


def _java_properties(text: str) -> dict[str, str]:
    """java.util.Properties.load for the lines render writes (one logical line each)."""
    result = {}
    for line in text.splitlines():
        name, separator = _java_unescaped(line, "=:")
        value, _ = _java_unescaped(line[separator + 1 :].lstrip(" "), "")
        result[name] = value.encode("utf-16", "surrogatepass").decode("utf-16")
    return result


def _java_unescaped(text: str, stop: str) -> tuple[str, int]:
    """The characters of `text`, `\\uXXXX` and `\\t`-style escapes undone, up to the first
    unescaped character in `stop` (or the end); with the index where reading stopped."""
    chars, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            following = text[i + 1]
            if following == "u":
                chars.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
            else:
                chars.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(following, following))
                i += 2
            continue
        if char in stop:
            break
        chars.append(char)
        i += 1
    return "".join(chars), i


def test_properties_round_trip() -> None:
    from launcher.resolve.config import render

    values = {"a key=:": " leading space", **{k: v for k, v in NASTY.items() if k != "nested"}, "n": NASTY["nested"]}
    parsed = _java_properties(render("properties", values).decode("ascii"))
    assert parsed["a key=:"] == " leading space" and parsed["unicode"] == NASTY["unicode"]
    assert parsed["escapes"] == NASTY["escapes"] and parsed["syntax"] == NASTY["syntax"]
    assert parsed["n.deeper.k"] == "1.5" and parsed["n.list[2].three"] == "3" and parsed["flag"] == "true"


def test_env_round_trip_with_python_dotenv() -> None:
    import io

    from dotenv import dotenv_values

    from launcher.resolve.config import render

    values = {k: v for k, v in NASTY.items() if k != "nested"}
    parsed = dotenv_values(stream=io.StringIO(render("env", values).decode()), interpolate=False)
    assert parsed == {k: ("true" if v is True else str(v)) for k, v in values.items()}


SAME_SOURCE_STORE = """
version: 1
projects:
  - name: p
    components: [{name: svc}]
    connections:
      - {id: id-hr, name: hr-conn, type: service, visibility: project, parameters: {ServiceURL: http://hr}}
      - {id: id-other, name: other-conn, type: service, visibility: project, parameters: {ServiceURL: http://other}}
"""


@pytest.mark.parametrize("connection_id, conflict", [("id-hr", False), ("id-other", True)])
def test_the_same_variable_from_the_same_source_is_no_conflict(
    tmp_path: Path, connection_id: str, conflict: bool
) -> None:
    from launcher.backends.local.backend import LocalStore
    from launcher.errors import ResolutionError
    from launcher.model import Identity
    from launcher.resolve.resolver import resolve

    manifest = load(
        tmp_path,
        "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n"
        "    - {name: hr-conn, resourceRef: 'service:/p/hr/v1/ep/PROJECT'}\n  serviceReferences:\n"
        f"    - {{name: 'choreo:///o/p/hr/ep/v1/PROJECT', connectionConfig: {connection_id},\n"
        "       env: [{from: ServiceURL, to: CHOREO_HR_CONN_SERVICEURL}]}\n",
    )
    snapshot = LocalStore(str(write(tmp_path / "store.yaml", SAME_SOURCE_STORE))).fetch(
        Identity("p", "svc", "development")
    )
    if conflict:
        with pytest.raises(ResolutionError, match="CHOREO_HR_CONN_SERVICEURL is set twice"):
            resolve(manifest, snapshot)
        return
    plan = resolve(manifest, snapshot)
    assert [(a.variable, a.value) for a in plan.assignments] == [("CHOREO_HR_CONN_SERVICEURL", "http://hr")]
