"""Differential testing against Choreo's own validator (issue 14).

Hypothesis writes manifests of the three kinds from their grammar, near misses included (names,
resourceRefs, service identifiers, versions, keys one edit away), as component directories; the
validator (one node process) and `choreo-run check` (one process, every directory) judge them all.

* What the validator accepts, choreo-run accepts, but for the divergences docs/manifests.md lists
  (DIVERGENCES below, each with the reason there).
* For every error the validator reports, choreo-run reports an error or a warning at the same path.

The number of manifests is fixed and the generation derandomized, so CI runs the same cases in a few
seconds; failures print the manifest and both verdicts.
"""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from support.validator import Report, Verdict, check, require_validator, validate

EXAMPLES = 1500  # manifests, drawn once by hypothesis and judged in one batch by each side

UUIDS = ["19d2648b-d29c-4452-afdd-1b9311e81412", "01ef0dc4-2490-1df8-80bd-776c36b2b760"]
CONNECTION_IDS = [*UUIDS, "not-a-uuid"]
CONNECTION_NAMES = ["hello-conn", "orders db", "Valid.Name-1", "ab", "invalid__name", "x" * 51, "-lead", "Name_ "]
KEYS = ["ServiceURL", "ChoreoAPIKey", "HostName", "Password", "serviceurl", "NoSuchKey"]
ENV_NAMES = ["CFG_A", "CFG_B", "CFG_C", "_CFG_D", "1BAD", "bad-name"]
TO_NAMES = ["SR_A", "SR_B", "SR_C", "bad.name"]

# Where choreo-run refuses what the validator accepts, on purpose (docs/manifests.md, "Conformance").
DIVERGENCES = [
    r"expected exactly one of `value` or `valueFrom`, got both",
    r"expected exactly one of connectionRef, configGroupRef, configForm, got \w+, ",
    r"invalid variable name '[^']*': expected letters, digits",  # serviceReferences env[].to
    r"is set twice",
    r"is not declared in dependencies.connectionReferences",
    r"has no key 'NoSuchKey'",
]


def _sections_choreo_ignores(document: dict) -> tuple[str, ...]:
    """Paths the validator does not read (in this schemaVersion, or misplaced), which choreo-run reads
    and so checks."""
    text = str(document.get("schemaVersion")).strip()
    ignored: tuple[str, ...] = ("configurations.file", "configuration.file")
    spec = document.get("spec")
    if "outbound" in document and not (isinstance(spec, dict) and "outbound" in spec):
        ignored += ("spec.outbound",)
    if text in ("1", "1.0", "1.00"):
        ignored += ("dependencies.connectionReferences", "configurations", "configuration")
    if text not in ("1.2", "1.20"):
        ignored += ("configForm",)
    return ignored


# ---------------------------------------------------------------- the grammar, with near misses

handles = st.sampled_from(["comp", "c_1", "Comp-2", "bad comp", "c$", ""])
service_refs = st.builds(
    lambda prefix, project, component, version, endpoint, visibility: (
        f"{prefix}{project}{component}/{version}{endpoint}{visibility}"
    ),
    st.sampled_from(["", "service:", "Service:", "service"]),
    st.sampled_from(["", "/proj/", "proj/", "/pr oj/"]),
    handles,
    st.sampled_from(["v1", "V2", "1", "v1.0", "1.2.3", "va", "v"]),
    st.sampled_from(["", "/ep", "/ep-1", "/e p"]),
    st.sampled_from(["", "/PUBLIC", "/PROJECT", "/ORGANIZATION", "/Public", "/PRIVATE"]),
)
resource_refs = st.one_of(
    service_refs,
    st.builds(
        lambda name, version: f"thirdparty:{name}{version}",
        st.sampled_from(["stripe", "my api", "bad*name", "", "a.b_c-d"]),
        st.sampled_from(["/v1", "/V1.2", "/1", "", "/v1/extra"]),
    ),
    st.sampled_from(["database:srv/db", "database:db", "database:srv/db/x", "database:/db", "database:db.x"]),
    st.sampled_from(["storage:bucket", "storage:my bucket.1", "storage:bad!", "storage:", "STORAGE:b"]),
)
service_names = st.sampled_from(
    [
        "choreo:///o/p/c/e/v1/PUBLIC",
        "choreo:///o/p/c/e/v1.2/PROJECT",
        "choreo:///o/p/c/e/v1/PRIVATE",
        "choreo://o/p/c/e/v1/PUBLIC",
        "thirdparty:svc/v1",
        "thirdparty:svc",
        "database:db",
        "database:a/b/c",
        "svc",
    ]
)


def optional(strategy: st.SearchStrategy, absent_weight: float = 0.3) -> st.SearchStrategy:
    return st.one_of(st.just(None), strategy) if absent_weight else strategy


@st.composite
def mapping(draw: st.DrawFn, fields: dict[str, st.SearchStrategy]) -> dict:
    """A mapping of some of `fields` (absent ones left out), sometimes with a misspelt key."""
    result = {}
    for key, strategy in fields.items():
        if draw(st.integers(0, 9)) == 0:
            continue  # left out
        if draw(st.integers(0, 29)) == 0:
            key = key[:-1] + key[-1].swapcase() if len(key) > 1 else key  # a near miss
        result[key] = draw(strategy)
    return result


env_mappings = st.lists(mapping({"from": st.sampled_from(KEYS), "to": st.sampled_from(TO_NAMES)}), max_size=2)
service_references = st.lists(
    mapping({"name": service_names, "connectionConfig": st.sampled_from(CONNECTION_IDS), "env": env_mappings}),
    max_size=2,
)
connection_references = st.lists(
    mapping({"name": st.sampled_from(CONNECTION_NAMES), "resourceRef": resource_refs}), max_size=3
)
config_forms = mapping(
    {
        "displayName": st.sampled_from(["Name", 3]),
        "required": st.sampled_from([True, False, "true", "abc", 1]),
        "type": st.sampled_from(["string", "secret", "number"]),
        "defaultValue": st.sampled_from(["d", 0]),
    }
)
value_from = st.one_of(
    mapping({"connectionRef": mapping({"name": st.sampled_from(CONNECTION_NAMES[:3]), "key": st.sampled_from(KEYS)})}),
    mapping({"configGroupRef": mapping({"name": st.just("grp"), "key": st.just("k1")})}),
    mapping({"configForm": config_forms}),
)
env_entries = st.lists(
    st.one_of(
        mapping({"name": st.sampled_from(ENV_NAMES), "value": st.sampled_from(["x", "", 0, True, None])}),
        mapping({"name": st.sampled_from(ENV_NAMES), "valueFrom": value_from}),
    ),
    max_size=3,
)
files = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["app.toml", "Config.toml", "a.json"]),
            "mountPath": st.just("/app/conf"),
            "type": st.sampled_from(["toml", "json", "yaml", "ini", "properties"]),
            "values": st.just([{"name": "level", "value": "info"}]),
        }
    ),
    max_size=1,
    unique_by=lambda f: f["name"],
)
endpoints = st.lists(
    mapping(
        {
            "name": st.sampled_from(["ep", "ep-2", "Bad_Ep", "1ep", "e" * 51]),
            "service": mapping(
                {
                    "port": st.sampled_from([9090, 80, 70000, "9090"]),
                    "basePath": st.sampled_from(["/api", "api", "/a&b"]),
                }
            ),
            "type": st.sampled_from(["REST", "GraphQL", "GRPC", "TCP", "UDP", "WS", "Rest"]),
            "networkVisibilities": st.lists(
                st.sampled_from(["Public", "Project", "Organization", "Private"]), max_size=2
            ),
        }
    ),
    max_size=2,
)
legacy_endpoints = st.lists(
    mapping(
        {
            "name": st.sampled_from(["Greeting Service", "svc"]),
            "port": st.sampled_from([9090, 80, 70000]),
            "type": st.sampled_from(["REST", "GRPC", "UDP", "Wss"]),
            "networkVisibility": st.sampled_from(["Public", "Project", "Private"]),
            "context": st.sampled_from(["/greeting", "greeting", "/a&b"]),
        }
    ),
    max_size=2,
)
component_yaml = mapping(
    {
        "schemaVersion": st.sampled_from([1.0, 1.1, 1.2, 1.2, 1.2, "1.0", "1.1", "1.2", 1, "1.20", 1.3, "2.0"]),
        "endpoints": endpoints,
        "dependencies": mapping(
            {"connectionReferences": connection_references, "serviceReferences": service_references}
        ),
        "configurations": mapping({"env": env_entries, "file": files}),
        "configuration": mapping({"env": env_entries}),
    }
)
component_config = mapping(
    {
        "apiVersion": st.sampled_from(
            ["core.choreo.dev/v1beta1"] * 3 + ["core.choreo.dev/v1alpha1", "0.0.1", "core.choreo.dev/v1"]
        ),
        "kind": st.sampled_from(["ComponentConfig"] * 4 + ["Component"]),
        "spec": mapping({"inbound": legacy_endpoints, "outbound": mapping({"serviceReferences": service_references})}),
        "outbound": optional(mapping({"serviceReferences": service_references}), 0.9),
    }
)
endpoints_yaml = mapping({"version": st.sampled_from([0.1, "0.1", "beta"]), "endpoints": legacy_endpoints})


# ---------------------------------------------------------------- a store holding every name used


def store() -> dict:
    connections = [
        {
            "id": f"id-{index}",
            "name": name,
            "type": "service",
            "visibility": "project",
            "parameters": {key: f"{index}-{key}" for key in KEYS if key not in ("serviceurl", "NoSuchKey")},
        }
        for index, name in enumerate(CONNECTION_NAMES[:3])
    ]
    connections += [
        {
            "id": connection_id,
            "name": f"by-id-{index}",
            "type": "service",
            "visibility": "project",
            "parameters": {key: f"id{index}-{key}" for key in KEYS if key not in ("serviceurl", "NoSuchKey")},
        }
        for index, connection_id in enumerate(CONNECTION_IDS)
    ]
    form = {name: f"form-{name}" for name in ENV_NAMES}
    return {
        "version": 1,
        "projects": [
            {
                "name": "p",
                "components": [{"name": "svc", "configForm": {"development": form}}],
                "connections": connections,
                "configGroups": [{"name": "grp", "parameters": {"k1": "v1"}}],
            }
        ],
    }


def _without_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None or k == "value"}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _explained(error: tuple[str, str], document: dict) -> bool:
    path, message = error
    if any(re.search(pattern, message) for pattern in DIVERGENCES):
        return True
    ignored = _sections_choreo_ignores(document)
    return any(path.startswith(section) or f".{section}" in path for section in ignored)


def _describe(document: dict, verdict: Verdict, report: Report) -> str:
    return (
        f"\n--- manifest\n{yaml.safe_dump(document, sort_keys=False)}--- validator: valid={verdict.valid} "
        f"{verdict.paths}\n{verdict.message}\n--- choreo-run errors {report.errors}\n--- warnings {report.warnings}"
    )


def draw_manifests() -> list[tuple[str, dict]]:
    """EXAMPLES manifests of the three kinds, the same ones on every run (derandomized)."""
    found: list[tuple[str, dict]] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        st.one_of(
            component_yaml.map(lambda d: ("component.yaml", d)),
            component_yaml.map(lambda d: ("component.yaml", d)),
            component_config.map(lambda d: ("component-config.yaml", d)),
            endpoints_yaml.map(lambda d: ("endpoints.yaml", d)),
        )
    )
    def draw(item: tuple[str, dict]) -> None:
        found.append((item[0], _without_none(item[1])))  # type: ignore[arg-type]

    draw()
    return found


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, Verdict, Report]]:
    require_validator()
    root = tmp_path_factory.mktemp("differential")
    (root / "store.yaml").write_text(yaml.safe_dump(store()))
    documents = draw_manifests()
    requests = []
    for index, (file_type, document) in enumerate(documents):
        directory = root / f"d{index}"
        (directory / ".choreo").mkdir(parents=True)
        (directory / ".choreo" / file_type).write_text(yaml.safe_dump(document, sort_keys=False))
        requests.append((directory, file_type))
    verdicts = validate(requests)
    reports, stderr = check([d for d, _ in requests], root / "store.yaml")
    assert "Traceback" not in stderr, stderr
    return [
        (document, verdict, reports[directory.name])
        for (directory, _), (_, document), verdict in zip(requests, documents, verdicts, strict=True)
    ]


def test_what_the_validator_accepts_choreo_run_accepts(judged: list[tuple[dict, Verdict, Report]]) -> None:
    failures = [
        f"refused: {unexplained}" + _describe(document, verdict, report)
        for document, verdict, report in judged
        if verdict.valid and (unexplained := [e for e in report.errors if not _explained(e, document)])
    ]
    assert not failures, f"{len(failures)} divergences:\n" + "\n".join(failures[:5])


def test_what_the_validator_refuses_choreo_run_reports_at_the_same_path(
    judged: list[tuple[dict, Verdict, Report]],
) -> None:
    failures = [
        f"not reported at {missed}" + _describe(document, verdict, report)
        for document, verdict, report in judged
        if not verdict.valid and (missed := [p for p in verdict.paths if not report.covers(p)])
    ]
    assert not failures, f"{len(failures)} divergences:\n" + "\n".join(failures[:5])


def test_the_generator_reaches_both_verdicts(judged: list[tuple[dict, Verdict, Report]]) -> None:
    """A generator whose manifests all pass (or all fail) would prove little."""
    accepted = sum(verdict.valid for _, verdict, _ in judged)
    assert len(judged) // 10 <= accepted <= len(judged) - len(judged) // 10, (accepted, len(judged))
