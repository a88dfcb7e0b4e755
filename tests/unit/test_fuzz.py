"""Hostile input: every reader ends every input in a value or a clear error.

Property-based (hypothesis). In process: thousands of generated documents, raw bytes and YAML texts
for the manifest, store and snapshot readers, and etcd range answers. Never a traceback (any
exception other than a LauncherError fails the test), never a hang (hypothesis fails an example
that runs past its deadline). Then the real launcher as a subprocess, for a bounded number of
examples: mutated stores (launched twice, so the second launch may take the fast path), env files,
and HTTP backend answers; no exit 70 and no "Traceback" anywhere in its output.
"""

from __future__ import annotations

import base64
import copy as copy_module
import json
import os
import shutil
import string
import tempfile

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launcher.backends.etcd.backend import _decoded_pairs
from launcher.backends.etcd.layout import kvs_to_document
from launcher.backends.http.codec import decode_snapshot, encode_snapshot
from launcher.backends.local.store_file import parse_store
from launcher.documents.yamlfile import parse_yaml_bytes
from launcher.errors import ConfigurationError, LauncherError, ManifestError
from launcher.manifest.reader import manifest_from_data
from launcher.model import Identity
from support.http_fixtures import Answer, json_answer, scripted, url_of
from support.process import EXAMPLE, Result, run_launcher

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
FUZZ = settings(max_examples=250, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


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


@settings(max_examples=600, deadline=2000)
@given(st.binary(max_size=400))
def test_raw_bytes_parse_or_fail_cleanly(raw: bytes) -> None:
    try:
        parse_yaml_bytes(raw, "fuzz.yaml", ManifestError)
    except ManifestError as error:
        assert len(error.problems) == 1


YAML_ALPHABET = string.ascii_letters + string.digits + " :-[]{}&*!|>'\"#%@`,?\n\t"


@settings(max_examples=600, deadline=2000)
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


# ---------------------------------------------------------------- etcd range answers (in process)


def _json_able(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


ETCD_KEYS = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"projects/p/shared/project", b"projects/p/components/c/connections/x", b"org/config-groups/g"]),
)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"key": ETCD_KEYS, "value": st.binary(max_size=30)}),
            st.fixed_dictionaries({"key": ETCD_KEYS, "value": DOCUMENTS.filter(_json_able).map(json.dumps)}),
        ),
        max_size=5,
    )
)
def test_etcd_range_answers_give_a_store_document_or_a_configuration_error(pairs: list[dict]) -> None:
    kvs = [
        {"key": base64.b64encode(b"/p/" + p["key"]).decode(), "value": base64.b64encode(_bytes(p["value"])).decode()}
        for p in pairs
    ]
    try:
        kvs_to_document(_decoded_pairs(kvs, "etcd://fuzz"), "/p", "etcd://fuzz")
    except ConfigurationError as error:
        assert error.problems


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


# ---------------------------------------------------------------- the real launcher, as a subprocess

# Exit codes documented in docs/exit-codes.md for a launch that fails before the service runs, and
# 0 (`check`, or the service `true`). 70 is a bug and never expected.
DOCUMENTED = {0, 64, 65, 66, 67, 69, 73, 77, 78, 126, 127}
EXAMPLE_STORE_DOC = yaml.safe_load((EXAMPLE / "connections.yaml").read_text())
ORDERS = ["-p", "bookstore", "-c", "orders-service"]
LAUNCHES = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\0", "a\0b", "${CHOREO_RUN_TOKEN}", "${HOME}", "\r\n", "'", '"', "\\", "é"]),
)


def _paths(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into `document`, the root excluded."""
    found = []
    children = (
        document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


STORE_PATHS = _paths(EXAMPLE_STORE_DOC)


def _replaced(document: object, path: tuple, value: object) -> object:
    copy = copy_module.deepcopy(document)
    target = copy
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return copy


def assert_clean(result: Result) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode != 70, output
    assert result.returncode in DOCUMENTED, (result.returncode, output)
    for line in result.stderr.splitlines():
        assert line.startswith(("choreo-run: error: ", "choreo-run: warning: ")), result.stderr


def _component(directory: str, store_text: bytes) -> str:
    component = os.path.join(directory, "svc")
    os.makedirs(os.path.join(component, ".choreo"), exist_ok=True)
    shutil.copy(EXAMPLE / ".choreo" / "component.yaml", os.path.join(component, ".choreo", "component.yaml"))
    store = os.path.join(component, "connections.yaml")
    with open(store, "wb") as handle:
        handle.write(store_text)
    os.chmod(store, 0o600)
    return component


@LAUNCHES
@given(
    st.one_of(
        st.tuples(st.sampled_from(STORE_PATHS), st.one_of(SCALARS, HOSTILE_TEXT, DOCUMENTS)).map(
            lambda change: yaml.safe_dump(_replaced(EXAMPLE_STORE_DOC, *change)).encode()
        ),
        st.binary(max_size=200).map(lambda junk: (EXAMPLE / "connections.yaml").read_bytes() + junk),
    )
)
def test_launching_against_a_mutated_store_ends_cleanly_every_time(store_text: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        component = _component(directory, store_text)
        mounts = ["--mount-root", os.path.join(directory, "mounts")]
        assert_clean(run_launcher(["check", "-C", component, *ORDERS], timeout=30))
        for _ in range(2):  # the second launch replays a record when the first made one
            assert_clean(run_launcher(["-C", component, *ORDERS, *mounts, "--", "true"], timeout=30))


ENV_LINES = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["A", "B_2", "CHOREO_RUN_X", "1BAD", "export C", "a b", ""]), HOSTILE_TEXT).map(
            lambda pair: f"{pair[0]}={pair[1]}"
        ),
        HOSTILE_TEXT,
    ),
    max_size=6,
).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))


@LAUNCHES
@given(st.one_of(ENV_LINES, st.binary(max_size=100)))
def test_launching_with_any_env_file_ends_cleanly(env_text: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        component = _component(directory, (EXAMPLE / "connections.yaml").read_bytes())
        env_file = os.path.join(directory, "fuzz.env")
        with open(env_file, "wb") as handle:
            handle.write(env_text)
        mounts = ["--mount-root", os.path.join(directory, "mounts")]
        for _ in range(2):
            assert_clean(
                run_launcher(["-C", component, *ORDERS, *mounts, "--env-file", env_file, "--", "true"], timeout=30)
            )


def _valid_answer() -> dict:
    from launcher.backends.local.view import store_snapshot
    from support.stores import example_store

    return encode_snapshot(
        store_snapshot(example_store(), Identity("bookstore", "orders-service", "development"), "fuzz")
    )


VALID_ANSWER = _valid_answer()
ANSWER_PATHS = _paths(VALID_ANSWER)
ANSWERS = st.one_of(
    st.tuples(
        st.sampled_from(ANSWER_PATHS), st.one_of(SCALARS.filter(_json_able), HOSTILE_TEXT, DOCUMENTS.filter(_json_able))
    ).map(lambda change: json_answer(_replaced(VALID_ANSWER, *change))),
    st.builds(
        Answer,
        st.sampled_from([200, 200, 301, 400, 401, 403, 404, 418]),
        st.one_of(st.binary(max_size=60), DOCUMENTS.filter(_json_able).map(lambda d: json.dumps(d).encode())),
        st.sampled_from([(), (("Content-Type", "application/json"),), (("Content-Encoding", "gzip"),)]),
    ),
)


@LAUNCHES
@given(ANSWERS)
def test_any_http_answer_ends_cleanly(answer: Answer) -> None:
    with scripted(answer) as server:
        result = run_launcher(
            ["check", "-C", str(EXAMPLE), *ORDERS, "--backend", url_of(server), "--deadline", "2", "--timeout", "1"],
            env={"CHOREO_RUN_TOKEN": "fuzz-token"},
            timeout=30,
        )
    assert_clean(result)
