"""Hostile input: the manifest and store readers end every input in a value or a clear error.

Property-based (hypothesis): thousands of generated documents, raw bytes and YAML texts. Never a
traceback (any exception other than a LauncherError fails the test), never a hang (hypothesis
fails an example that runs past its deadline).
"""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launcher.backends.http.codec import decode_snapshot
from launcher.backends.local.store_file import parse_store
from launcher.errors import ConfigurationError, LauncherError, ManifestError
from launcher.manifest.reader import manifest_from_data
from launcher.model import Identity
from launcher.yamlfile import parse_yaml_bytes

# Keys the readers know, so generated documents reach deep into them rather than failing at the top.
VOCABULARY = [
    "schemaVersion",
    "dependencies",
    "connectionReferences",
    "serviceReferences",
    "name",
    "resourceRef",
    "connectionConfig",
    "env",
    "from",
    "to",
    "configurations",
    "configuration",
    "value",
    "valueFrom",
    "connectionRef",
    "configGroupRef",
    "configForm",
    "key",
    "file",
    "mountPath",
    "type",
    "values",
    "required",
    "default",
    "apiVersion",
    "kind",
    "spec",
    "outbound",
    "endpoints",
    "version",
    "projects",
    "components",
    "connections",
    "id",
    "visibility",
    "component",
    "parameters",
    "secret",
    "optional",
    "oauthApps",
    "environments",
    "clientId",
    "clientSecret",
    "tokenUrl",
    "auth",
    "oauthApp",
    "configGroups",
    "files",
    "development",
    "production",
    "project",
    "service",
    "database",
]
# What YAML's own tags build (`2024-01-02`, !!timestamp, !!set, !!binary): values that are not text.
YAML_TYPED = st.one_of(st.dates(), st.datetimes(), st.sets(st.integers(), max_size=3), st.binary(max_size=5))
SCALARS = st.one_of(
    st.none(),
    YAML_TYPED,
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.sampled_from(VOCABULARY),
    st.sampled_from(
        [
            "1.2",
            "1.1",
            "1.0",
            1.2,
            1,
            "service:/a/b/v1/c/PUBLIC",
            "core.choreo.dev/v1beta1",
            "ComponentConfig",
            "project",
            "component",
            "oauth",
            "hr-connection",
            "BAD NAME!",
        ]
    ),
    st.text(max_size=30),
)
KEYS = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=10), st.integers())
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=6)),
    max_leaves=40,
)
FORMS = st.sampled_from(["component.yaml", "component-config.yaml", "endpoints.yaml", "x.yaml"])
FUZZ = settings(max_examples=800, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(DOCUMENTS, FORMS)
def test_manifest_reader_gives_a_manifest_or_a_manifest_error(document: object, form: str) -> None:
    try:
        manifest_from_data(document, f".choreo/{form}")
    except ManifestError as error:
        assert error.problems and all(str(problem) for problem in error.problems)


@FUZZ
@given(DOCUMENTS)
def test_store_reader_gives_a_store_or_a_configuration_error(document: object) -> None:
    try:
        parse_store(document, "store.yaml")
    except ConfigurationError as error:
        assert error.problems


@FUZZ
@given(st.dictionaries(st.sampled_from(VOCABULARY), DOCUMENTS, max_size=6))
def test_store_shaped_documents(document: dict) -> None:
    wrapped = {"version": 1, "projects": [{"name": "p", **document}]}
    try:
        parse_store(wrapped, "store.yaml")
    except ConfigurationError as error:
        assert error.problems


@FUZZ
@given(
    st.one_of(
        DOCUMENTS,
        st.dictionaries(
            st.sampled_from(["version", "identity", "connections", "oauthApps", "configGroups", "configForm", "files"]),
            DOCUMENTS,
        ),
    )
)
def test_snapshot_decoder_gives_a_snapshot_or_a_configuration_error(document: object) -> None:
    try:
        decode_snapshot(document, "http://fuzz", Identity("p", "c", "development"))
    except ConfigurationError as error:
        assert error.problems


@settings(max_examples=1500, deadline=2000)
@given(st.binary(max_size=400))
def test_raw_bytes_parse_or_fail_cleanly(raw: bytes) -> None:
    try:
        parse_yaml_bytes(raw, "fuzz.yaml", ManifestError)
    except ManifestError as error:
        assert len(error.problems) == 1


YAML_ALPHABET = string.ascii_letters + string.digits + " :-[]{}&*!|>'\"#%@`,?\n\t"


@settings(max_examples=1500, deadline=2000)
@given(st.text(alphabet=YAML_ALPHABET, max_size=200))
def test_yaml_like_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        data = parse_yaml_bytes(text.encode(), "fuzz.yaml", ManifestError)
        manifest_from_data(data, ".choreo/component.yaml")
    except LauncherError as error:
        assert error.problems


@FUZZ
@given(DOCUMENTS)
def test_dumped_documents_round_trip_through_the_strict_loader(document: object) -> None:
    text = yaml.safe_dump(document)
    try:
        manifest_from_data(parse_yaml_bytes(text.encode(), "fuzz.yaml", ManifestError), ".choreo/component.yaml")
    except LauncherError as error:
        assert error.problems


def test_named_hostile_inputs_are_refused() -> None:
    hostile = {
        b"a: &a [*a]\n": "a recursive structure",
        b"!!python/object/apply:os.system ['true']\n": "YAML tags that construct objects are not allowed",
        b"a: 1\na: 2\n": "duplicate key 'a'",
        b"x: " + b"[" * 200 + b"]" * 200: "nesting deeper than 64 levels",
        b"\xff\xfe": "expected UTF-8 text",
        b"a\x00": "NUL byte",
        b"a: " + b"x" * (5 * 1024 * 1024): "larger than",
        b"? [a, b]\n: c\n": "expected a plain key",
    }
    for raw, fragment in hostile.items():
        try:
            parse_yaml_bytes(raw, "h.yaml", ManifestError)
        except ManifestError as error:
            assert fragment in str(error), (raw[:40], str(error))
        else:
            raise AssertionError(f"accepted {raw[:40]!r}")


def test_billion_laughs_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    raw = "\n".join(lines).encode()
    try:
        data = parse_yaml_bytes(raw, "laughs.yaml", ManifestError)
    except ManifestError:
        return
    # PyYAML shares aliased nodes instead of copying them, so the document stays small in memory.
    assert data["a8"][0] is data["a8"][1]
