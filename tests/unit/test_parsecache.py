"""The parse cache (launcher.files.parsecache): never stale, private, never keeps a failure, off by default."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.documents.yamlfile import load_yaml_file
from launcher.errors import ConfigurationError
from launcher.files import parsecache
from support.process import REPO


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    parsecache.enable({"XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        yield tmp_path / "cache" / "choreo-run" / "parsed"
    finally:
        parsecache.disable()


def load(path: Path) -> object:
    return load_yaml_file(str(path), ConfigurationError, ConfigurationError)


def test_off_unless_a_launch_turns_it_on(tmp_path: Path) -> None:
    assert parsecache.directory is None
    parsecache.enable({"XDG_CACHE_HOME": str(tmp_path), "CHOREO_RUN_PARSE_CACHE": "0"})
    assert parsecache.directory is None
    document = tmp_path / "a.yaml"
    document.write_text("a: 1\n")
    assert load(document) == {"a": 1}
    assert not (tmp_path / "choreo-run").exists()


def test_a_second_read_is_served_from_the_cache_and_equal(cache: Path, tmp_path: Path) -> None:
    document = tmp_path / "store.yaml"
    document.write_text("a: [1, 2.5, true, null, 'x']\nb: {c: d}\n")
    first = load(document)
    (entry,) = cache.iterdir()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert parsecache.lookup(str(document), document.read_bytes()) == (True, first)
    assert load(document) == first


def test_an_edit_that_keeps_size_and_mtime_is_never_served_stale(cache: Path, tmp_path: Path) -> None:
    document = tmp_path / "store.yaml"
    document.write_text("password: old-secret\n")
    before = document.stat()
    assert load(document) == {"password": "old-secret"}
    document.write_text("password: new-secret\n")  # same length
    os.utime(document, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load(document) == {"password": "new-secret"}


def test_the_entry_of_a_changed_file_is_removed_and_a_failure_is_never_kept(cache: Path, tmp_path: Path) -> None:
    document = tmp_path / "store.yaml"
    document.write_text("password: old-secret\n")
    load(document)
    document.write_text("password: [unclosed\n")
    for _ in range(2):  # reported every time, never served from anywhere
        with pytest.raises(ConfigurationError):
            load(document)
    assert not any(b"old-secret" in entry.read_bytes() for entry in cache.iterdir())


def test_an_entry_in_a_directory_others_can_read_is_not_trusted(cache: Path, tmp_path: Path) -> None:
    document = tmp_path / "store.yaml"
    document.write_text("a: 1\n")
    load(document)
    os.chmod(cache, 0o755)
    assert parsecache.lookup(str(document), document.read_bytes()) == (False, None)
    os.chmod(cache, 0o700)
    (entry,) = cache.iterdir()
    os.chmod(entry, 0o644)
    assert parsecache.lookup(str(document), document.read_bytes()) == (False, None)


def test_a_document_marshal_cannot_hold_is_parsed_every_time(cache: Path, tmp_path: Path) -> None:
    document = tmp_path / "dated.yaml"
    document.write_text("when: 2024-01-02\n")
    assert str(load(document)["when"]) == "2024-01-02"  # type: ignore[index]
    assert not cache.exists() or not list(cache.iterdir())


def test_a_cached_read_does_not_import_pyyaml(tmp_path: Path) -> None:
    document = tmp_path / "component.yaml"
    document.write_text("schemaVersion: 1.2\n")
    script = (
        "import sys; from launcher.files import parsecache; from launcher.errors import ManifestError; "
        "from launcher.documents.yamlfile import load_yaml_file; "
        f"parsecache.enable({{'XDG_CACHE_HOME': {str(tmp_path / 'cache')!r}}}); "
        f"print(load_yaml_file({str(document)!r}, ManifestError, ManifestError), 'yaml' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [run.stdout.strip() for run in runs] == ["{'schemaVersion': 1.2} True", "{'schemaVersion': 1.2} False"]
