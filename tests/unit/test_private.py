"""launcher.files.private and the pure helpers of docs/security.md (the attacks themselves are in
tests/integration/test_security_*.py, with real processes and a real second user)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from launcher.credentials import read_dotenv
from launcher.files.private import (
    Escapes,
    UnsafeDirectory,
    contained_parts,
    open_contained,
    private_directory,
    write_without_symlinks,
)
from launcher.launch.environment import apply_assignments
from launcher.naming import reserved_variable_problem
from launcher.settings import is_secret_setting, secret_in_block, secrets_in_block


def test_a_private_directory_is_created_0700_with_its_missing_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "plans"
    assert private_directory(str(target)) == str(target)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_an_existing_private_directory_is_accepted_and_a_wider_one_refused(tmp_path: Path) -> None:
    target = tmp_path / "d"
    target.mkdir(mode=0o700)
    private_directory(str(target), create=False)
    os.chmod(target, 0o750)
    with pytest.raises(UnsafeDirectory, match=r"d: has mode 0750, expected a private directory"):
        private_directory(str(target), repair=False)
    private_directory(str(target), trusted=True)  # a directory the user named may be 0750
    private_directory(str(target))  # ours, writable by us alone: narrowed, not refused
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    os.chmod(target, 0o770)
    with pytest.raises(UnsafeDirectory, match=r"d: has mode 0770"):  # others could have written in it
        private_directory(str(target))


def test_a_symlink_is_never_a_private_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UnsafeDirectory, match="link: is a symlink; expected a real directory") as caught:
        private_directory(str(tmp_path / "link"))
    assert caught.value.strerror.startswith(str(tmp_path / "link"))  # callers that print strerror say why


def test_a_parent_others_can_write_without_the_sticky_bit_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(UnsafeDirectory, match="writable by other users"):
        private_directory(str(shared / "mine"))
    os.chmod(shared, 0o1777)  # as /tmp: others cannot replace what is ours
    private_directory(str(shared / "mine"))


@pytest.mark.parametrize(
    "relative, expected",
    [
        ("a/b/c", ["a", "b", "c"]),
        ("/app/config/x.json", ["app", "config", "x.json"]),
        ("a/../b/./c", ["b", "c"]),
        ("/app/../etc/x", ["etc", "x"]),
    ],
)
def test_contained_parts_normalises(relative: str, expected: list[str]) -> None:
    assert contained_parts(relative) == expected


@pytest.mark.parametrize("relative", ["..", "../x", "a/../../x", "/app/../../etc/x"])
def test_contained_parts_refuses_climbing_out(relative: str) -> None:
    with pytest.raises(Escapes):
        contained_parts(relative)


def test_open_contained_refuses_a_symlink_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "a").symlink_to(tmp_path)
    root = os.open(tmp_path / "root", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(Escapes, match="a is a symlink"):
            open_contained(root, ["a", "b"], str(tmp_path / "root"))
    finally:
        os.close(root)
    assert not (tmp_path / "b").exists()


def test_write_without_symlinks_replaces_a_symlinked_file_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").symlink_to(victim)
    write_without_symlinks(str(tmp_path / "out" / "f"), b"new", 0o600)
    assert victim.read_text() == "keep" and not (tmp_path / "out" / "f").is_symlink()
    assert (tmp_path / "out" / "f").read_bytes() == b"new"


def test_launcher_settings_are_reserved_and_never_applied() -> None:
    assert "CHOREO_RUN_BACKEND is reserved" in (reserved_variable_problem("CHOREO_RUN_BACKEND") or "")
    assert reserved_variable_problem("CHOREO_RUNNER_URL") is None
    assert apply_assignments({}, [("CHOREO_RUN_BACKEND", "x"), ("A", "1")]) == {"A": "1"}


def test_secret_settings() -> None:
    assert all(
        map(
            is_secret_setting,
            ["CHOREO_RUN_TOKEN", "CHOREO_RUN_ETCD_PASSWORD", "CHOREO_RUN_CACHE_KEY", "CHOREO_RUN_TOKEN_FILE"],
        )
    )
    assert not any(map(is_secret_setting, ["CHOREO_RUN_BACKEND", "CHOREO_RUN_HANDOVER_FD", "TOKEN"]))


def test_the_secrets_held_in_a_block_are_the_values_not_the_file_names() -> None:
    """One rule for supervise mode (secret_in_block) and --watch's handover (secrets_in_block)."""
    environ = {
        "CHOREO_RUN_TOKEN": "t",
        "CHOREO_RUN_ETCD_PASSWORD_FILE": "/run/secrets/p",
        "CHOREO_RUN_CACHE_KEY": "k",
        "CHOREO_RUN_BACKEND": "etcd://e",
        "HOME": "/h",
    }
    assert secrets_in_block(environ) == {"CHOREO_RUN_TOKEN": "t", "CHOREO_RUN_CACHE_KEY": "k"}
    assert secret_in_block(environ)
    files_only = {"CHOREO_RUN_TOKEN_FILE": "/run/secrets/t", "CHOREO_RUN_BACKEND": "etcd://e"}
    assert secrets_in_block(files_only) == {} and not secret_in_block(files_only)


def test_read_dotenv_interpolates_without_launcher_settings(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("A=${CHOREO_RUN_TOKEN}\nB=${HOME}/x\nC=${B}/y\nD\n")
    values = read_dotenv(str(env_file), {"CHOREO_RUN_TOKEN": "secret", "HOME": "/h"})
    assert values == {"A": "", "B": "/h/x", "C": "/h/x/y", "D": None}


def test_settings_holding_a_token_a_password_or_a_cache_key_hold_credentials() -> None:
    """What decides that a launcher must not stay resident beside its service (launcher.launch.start)."""
    from launcher.backends.base import BackendSettings
    from launcher.backends.cache import CacheSettings
    from launcher.resolve.pipeline import Settings

    assert not Settings().holds_credentials()
    assert not Settings(backend_settings=BackendSettings(username="reader")).holds_credentials()
    assert Settings(backend_settings=BackendSettings(token="t")).holds_credentials()
    assert Settings(backend_settings=BackendSettings(password="p")).holds_credentials()
    assert Settings(cache=CacheSettings(b"k" * 16, "/tmp", 60.0)).holds_credentials()
