"""Choreo's own validator's test suite, run as ours (issue 14).

Every sample in its test/component-yaml-samples.js and test/endpoints-yaml-samples.js is written as a
component directory; the validator (tests/support/choreo_validator.js, reading ../shared in place)
and `choreo-run check` each judge all of them in one process. What the validator accepts,
choreo-run accepts; for every error the validator reports, choreo-run reports an error or a warning
at the same path (docs/manifests.md, "Conformance").
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.validator import check, require_validator, samples, validate

ENDPOINT_SAMPLES = {
    "validEndpointsYaml",
    "missingRequiredFieldsEndpointsYaml",
    "invalidPortEndpointsYaml",
    "validateTypeFieldYaml",
    "validateVisibilityFieldYaml",
    "validateContextFieldYaml",
    "validateContextRequiredScenariosYaml",
    "validateSchemaFilePathYaml",
}

# Everything the valid samples reference, so that a valid sample resolves and `check` says ok.
STORE = {
    "version": 1,
    "projects": [
        {
            "name": "p",
            "components": [
                {
                    "name": "svc",
                    "configForm": {"development": {"REDIS_URL": "redis://cache", "DB_USER": "app"}},
                    "files": {"development": {"application.yaml": {"logging": {"level": "info"}}}},
                }
            ],
            "connections": [
                {
                    "id": "conn-hello",
                    "name": "hello-conn",
                    "type": "service",
                    "visibility": "project",
                    "parameters": {"ServiceURL": "http://hello", "ChoreoAPIKey": "key"},
                },
                {
                    "id": "19d2648b-d29c-4452-afdd-1b9311e81412",
                    "name": "greeter",
                    "type": "service",
                    "visibility": "project",
                    "parameters": {"ServiceURL": "http://greeter"},
                },
            ],
            "configGroups": [{"name": "hello-config-group", "parameters": {"config-key": "v"}}],
        }
    ],
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, object, object]]:
    require_validator()
    root = tmp_path_factory.mktemp("samples")
    requests, names = [], []
    for index, (name, text) in enumerate(sorted(samples().items())):
        file_type = "endpoints.yaml" if name in ENDPOINT_SAMPLES else "component.yaml"
        directory = root / f"d{index}"
        (directory / ".choreo").mkdir(parents=True)
        (directory / ".choreo" / file_type).write_text(text)
        (directory / "dummy-openapi.yaml").write_text("openapi: 3.0.0\n")  # the schema file the samples name
        requests.append((directory, file_type))
        names.append(name)
    store = root / "store.yaml"
    store.write_text(yaml.safe_dump(STORE))
    oracle = validate(requests)
    reports, _ = check([d for d, _ in requests], store)
    return [(name, verdict, reports[d.name]) for name, verdict, (d, _) in zip(names, oracle, requests, strict=True)]


def test_there_are_samples_of_both_verdicts(verdicts: list) -> None:
    valid = [name for name, verdict, _ in verdicts if verdict.valid]
    assert len(verdicts) >= 25 and len(valid) >= 4, valid


def test_what_the_validator_accepts_choreo_run_accepts(verdicts: list) -> None:
    refused = {name: report.errors for name, verdict, report in verdicts if verdict.valid and report.errors}
    assert not refused


def test_what_the_validator_refuses_choreo_run_reports_at_the_same_path(verdicts: list) -> None:
    missed = {
        name: [path for path in verdict.paths if not report.covers(path)]
        for name, verdict, report in verdicts
        if not verdict.valid
    }
    assert not {name: paths for name, paths in missed.items() if paths}


def test_a_refused_sample_is_refused_where_choreo_run_reads_it(verdicts: list) -> None:
    """Connection names and references, variable names and sources are what choreo-run acts on: there
    the validator's refusals are choreo-run's errors, not warnings."""
    by_name = {name: (verdict, report) for name, verdict, report in verdicts}
    for name, prefix in [
        ("validateConnectionReferenceName", "dependencies.connectionReferences[2].name"),
        ("validateConnectionReferenceResourceRef", "dependencies.connectionReferences[23].resourceRef"),
        ("validateConfigurationsV2", "configuration.env[8].valueFrom.configForm.required"),
    ]:
        verdict, report = by_name[name]
        assert not verdict.valid
        assert any(path == prefix for path, _ in report.errors), report.errors


def test_the_driver_agrees_with_the_validator_run_as_documented(verdicts: list, tmp_path: Path) -> None:
    """The batch driver says what `node dist/index.js` says for one directory (ABOUT.md)."""
    import os
    import subprocess

    from support.validator import VALIDATOR

    text = samples()["validateConnectionReferenceResourceRef"]
    (tmp_path / ".choreo").mkdir()
    (tmp_path / ".choreo" / "component.yaml").write_text(text)
    done = subprocess.run(
        ["node", str(VALIDATOR / "dist" / "index.js")],
        env={**os.environ, "INPUT_SOURCE-ROOT-DIR-PATH": str(tmp_path), "INPUT_FILE-TYPE": "component.yaml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    [verdict] = validate([(tmp_path, "component.yaml")])
    assert verdict.message.strip() in done.stdout
