"""Bounded YAML (launcher.documents.yamlfile) and safe reads (launcher.files.reading): depth, aliases, size, special files."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from launcher.documents.yamlfile import MAX_ALIAS_EXPANSION, MAX_DEPTH, load_yaml_file, parse_yaml_bytes
from launcher.errors import ConfigurationError, ManifestError, ManifestNotFound
from launcher.files.reading import (
    DIRECTORY,
    MISSING,
    NOT_TEXT,
    SPECIAL,
    TOO_LARGE,
    FileRefused,
    read_small_file,
    read_small_text,
)


def refused(raw: bytes) -> str:
    with pytest.raises(ManifestError) as caught:
        parse_yaml_bytes(raw, "h.yaml", ManifestError)
    assert len(caught.value.problems) == 1
    return str(caught.value)


def block_sequences(levels: int) -> bytes:
    return b"x:\n" + b"".join(b"  " * i + b"-\n" for i in range(1, levels)) + b"  " * levels + b"- leaf\n"


# ---------------------------------------------------------------- depth, measured on the node tree


@pytest.mark.parametrize("levels", [300, 1500])
def test_deep_block_sequences_are_refused_not_a_recursion_error(levels: int) -> None:
    assert "nesting deeper than 64 levels" in refused(block_sequences(levels))


def test_deep_compact_block_sequences_are_refused() -> None:
    # `- - - - x` nests without any indentation to speak of: a text heuristic misses it.
    assert "nesting deeper than 64 levels" in refused(b"- " * 500 + b"x\n")


@pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b"{a: ", b"}")])
def test_deep_flow_collections_are_refused(opening: bytes, closing: bytes) -> None:
    assert "nesting deeper than 64 levels" in refused(b"x: " + opening * 500 + closing * 500)
    # Far deeper, libyaml may stop first with its own limit: still one clear line, never a crash.
    message = refused(b"x: " + opening * 100_000 + closing * 100_000)
    assert "nesting deeper than 64 levels" in message or "maximum nesting depth" in message


def test_depth_limit_is_exact_and_counts_block_and_flow_alike() -> None:
    # The top mapping is level 1; then MAX_DEPTH - 1 flow sequences, or one more.
    inner = MAX_DEPTH - 1
    assert parse_yaml_bytes(b"x: " + b"[" * inner + b"]" * inner, "ok.yaml", ManifestError) is not None
    assert "nesting deeper" in refused(b"x: " + b"[" * (inner + 1) + b"]" * (inner + 1))
    # Block sequences count the same way: the mapping, then one per `-` level.
    assert parse_yaml_bytes(block_sequences(MAX_DEPTH - 1), "ok.yaml", ManifestError) is not None
    assert "nesting deeper" in refused(block_sequences(MAX_DEPTH))


def test_depth_counts_through_aliases() -> None:
    deep = b"[" * 40 + b"]" * 40
    assert "through an alias" in refused(b"a: &a " + deep + b"\nb: " + b"[" * 30 + b"*a" + b"]" * 30)


def test_deep_indentation_that_is_not_nesting_is_fine() -> None:
    # A literal block indented far to the right was refused by the old indentation heuristic.
    text = b"a:\n  b: |\n" + b"".join(b" " * 200 + b"line\n" for _ in range(3))
    assert parse_yaml_bytes(text, "ok.yaml", ManifestError) == {"a": {"b": "line\n" * 3}}


# ---------------------------------------------------------------- aliases


def laughs(levels: int, fan_out: int = 10) -> bytes:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fan_out) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan_out) + "]" for i in range(1, levels)]
    return "\n".join(lines).encode()


def test_billion_laughs_is_refused_quickly_and_says_why() -> None:
    started = time.perf_counter()
    message = refused(laughs(9))
    assert "aliases expand the document by more than" in message and "line " in message
    assert time.perf_counter() - started < 1


def test_a_one_kilobyte_alias_bomb_is_refused() -> None:
    raw = laughs(12, fan_out=9)
    assert len(raw) < 1024
    assert "aliases expand" in refused(raw)


def test_a_few_aliases_are_accepted_and_shared() -> None:
    data = parse_yaml_bytes(laughs(4), "ok.yaml", ManifestError)
    assert data["a3"][0] is data["a3"][1]  # not copied in memory
    assert len(data["a3"]) == 10


def test_the_alias_budget_is_what_the_copies_add() -> None:
    # One anchored string of N characters aliased k times adds k * (N + 1).
    value = "v" * 1000
    count = MAX_ALIAS_EXPANSION // 1001
    fits = f"a: &a {value}\nb: [" + ", ".join(["*a"] * count) + "]\n"
    assert len(parse_yaml_bytes(fits.encode(), "ok.yaml", ManifestError)["b"]) == count
    over = f"a: &a {value}\nb: [" + ", ".join(["*a"] * (count + 1)) + "]\n"
    assert "aliases expand" in refused(over.encode())


def test_merge_keys_still_work() -> None:
    raw = b"base: &base {host: h, port: 1}\nprod: {<<: *base, user: u}\nmulti: {<<: [*base, {x: 1}]}\n"
    data = parse_yaml_bytes(raw, "ok.yaml", ManifestError)
    assert data["prod"] == {"host": "h", "port": 1, "user": "u"}
    assert data["multi"] == {"host": "h", "port": 1, "x": 1}


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b"a: &a [*a]\n", "recursive structure"),
        (b"a: &a {b: [1, {c: *a}]}\n", "recursive structure"),
        (b"a: *nowhere\n", "undefined alias 'nowhere'"),
        (b"a: &x 1\nb: &x 2\n", "duplicate anchor 'x'"),
        (b"a: 1\n---\nb: 2\n", "expected a single document"),
        (b"a: 1\na: 2\n", "duplicate key 'a'"),
        (b"!!python/object/apply:os.system ['true']\n", "YAML tags that construct objects are not allowed"),
    ],
)
def test_malformed_documents_name_the_problem(raw: bytes, fragment: str) -> None:
    assert fragment in refused(raw)


def test_empty_and_comment_only_documents_are_none() -> None:
    assert parse_yaml_bytes(b"", "e.yaml", ManifestError) is None
    assert parse_yaml_bytes(b"# nothing\n", "e.yaml", ManifestError) is None


def test_marks_and_types_are_as_pyyaml_builds_them() -> None:
    data = parse_yaml_bytes(b"a: 1\nb: 1.5\nc: true\nd: null\ne: '1'\nf: [x, {g: h}]\n", "t.yaml", ManifestError)
    assert data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1", "f": ["x", {"g": "h"}]}


# ---------------------------------------------------------------- reading files safely


def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


def refusal(path: str, limit: int = 1024) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        read_small_file(path, limit)
    return caught.value


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = fifo(tmp_path)
    started = time.perf_counter()
    error = refusal(path)
    assert (error.kind, error.reason) == (SPECIAL, "not a regular file but a FIFO (named pipe)")
    assert time.perf_counter() - started < 1


def test_a_fifo_with_a_writer_is_still_refused(tmp_path: Path) -> None:
    path = fifo(tmp_path)
    writer = threading.Thread(target=lambda: Path(path).write_bytes(b"a: 1\n"), daemon=True)
    writer.start()
    assert refusal(path).kind == SPECIAL
    os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # let the writer finish


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    error = refusal(device)
    assert error.kind == SPECIAL and "character device" in error.reason


def test_missing_directory_too_large_and_text(tmp_path: Path) -> None:
    assert refusal(str(tmp_path / "absent")).kind == MISSING
    assert refusal(str(tmp_path)).kind == DIRECTORY
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1025)
    assert (refusal(str(big)).kind, refusal(str(big)).reason) == (TOO_LARGE, "file is larger than 1 KiB")
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * 1024)
    assert read_small_file(str(exact), 1024) == b"x" * 1024
    for content, fragment in [(b"a\x00b", "NUL byte at offset 1"), (b"ok\xff", "bad byte at offset 2")]:
        bad = tmp_path / "bad"
        bad.write_bytes(content)
        with pytest.raises(FileRefused) as caught:
            read_small_text(str(bad), 1024)
        assert caught.value.kind == NOT_TEXT and fragment in caught.value.reason


def test_a_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("value")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert read_small_file(str(tmp_path / "link"), 100) == b"value"


def test_load_yaml_file_maps_refusals_to_the_callers_classes(tmp_path: Path) -> None:
    path = fifo(tmp_path)
    with pytest.raises(ManifestNotFound, match="not a regular file but a FIFO"):
        load_yaml_file(path, ManifestError, ManifestNotFound)
    with pytest.raises(ConfigurationError, match="file not found"):
        load_yaml_file(str(tmp_path / "absent"), ConfigurationError, ConfigurationError)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (4 * 1024 * 1024))
    with pytest.raises(ManifestError, match="larger than 4 MiB"):
        load_yaml_file(str(big), ManifestError, ManifestNotFound)
