"""Hostile input against the real launcher: special files, alias bombs, deep nesting, bad text, NUL values.

Every input ends quickly with one line naming the file and what was expected, and a documented exit
code (docs/failure-modes.md, "Hostile input"); never a hang, never exit 70, never a traceback.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.etcd_cluster import Cluster, gateway, unique_prefix
from support.process import DUMP_ENV, EXAMPLE, Result, clean_environment, run_launcher, write
from support.stores import example_store

IDENTITY = ["-p", "bookstore", "-c", "orders-service"]
STORE = EXAMPLE / "connections.yaml"
MANIFEST = EXAMPLE / ".choreo" / "component.yaml"


def launch(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[Result, float]:
    started = time.monotonic()
    result = run_launcher([*args], env=env, cwd=cwd, timeout=30)
    return result, time.monotonic() - started


def assert_one_line_error(result: Result, code: int, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith("choreo-run: error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


def run_example(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[Result, float]:
    return launch(
        "-C", str(EXAMPLE), *IDENTITY, "--mount-root", str(tmp_path / "mounts"), *extra, "--", *DUMP_ENV, env=env
    )


# ---------------------------------------------------------------- special files are refused, never waited on


@pytest.mark.parametrize(
    "flag, code, what",
    [
        ("--manifest", 66, "not a regular file but a FIFO"),
        ("--backend", 78, "not a regular file but a FIFO"),
        ("--env-file", 78, "env file: not a regular file but a FIFO"),
    ],
)
def test_a_fifo_given_as_an_input_file_is_refused_at_once(
    tmp_path: Path, fifo: str, flag: str, code: int, what: str
) -> None:
    result, took = run_example(tmp_path, flag, fifo)
    assert_one_line_error(result, code, fifo, what)
    assert took < 10


def test_a_fifo_as_token_file_or_cache_key_file_is_refused(tmp_path: Path, fifo: str) -> None:
    result, _ = run_example(tmp_path, "--backend", "http://127.0.0.1:9", env={"CHOREO_RUN_TOKEN_FILE": fifo})
    assert_one_line_error(result, 78, fifo, "the token file: not a regular file but a FIFO")
    result, _ = run_example(tmp_path, "--cache", "--cache-key-file", fifo)
    assert_one_line_error(result, 78, fifo, "the cache key file: not a regular file but a FIFO")


@pytest.mark.parametrize("flag, code", [("--manifest", 66), ("--backend", 78), ("--env-file", 78)])
def test_a_device_is_refused(tmp_path: Path, flag: str, code: int) -> None:
    result, took = run_example(tmp_path, flag, "/dev/zero")
    assert_one_line_error(result, code, "/dev/zero", "not a regular file but a character device")
    assert took < 10


def test_a_fifo_in_place_of_the_cache_entry_is_ignored_and_the_launch_fails_closed(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "launcher", "serve-http", "--store", str(STORE), "--tokens", _tokens(tmp_path)]
        + ["--port", str(port)],
        env=clean_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, server)
        cached = ["--backend", f"http://127.0.0.1:{port}", "--cache", "--cache-dir", str(tmp_path / "cache")]
        cached += ["--deadline", "2", "--timeout", "0.5"]
        env = {"CHOREO_RUN_TOKEN": "orders-token-1", "CHOREO_RUN_CACHE_KEY": "k" * 32}
        first, _ = run_example(tmp_path, *cached, env=env)
        assert first.returncode == 0, first.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    [entry] = (tmp_path / "cache").glob("*.cache")
    entry.unlink()
    os.mkfifo(entry)
    second, took = run_example(tmp_path, *cached, env=env)
    assert_one_line_error(second, 69)
    assert "cache file not read (not a regular file but a FIFO (named pipe)); ignored" in second.stderr
    assert took < 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tokens(tmp_path: Path) -> str:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "version: 1\ntokens:\n  - {name: o, token: orders-token-1, project: bookstore, component: orders-service}\n"
    )
    return str(tokens)


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert process.poll() is None, "serve-http exited"
            time.sleep(0.05)
    raise AssertionError("serve-http did not start listening")


# ---------------------------------------------------------------- bounded YAML


def alias_bomb(top: str, levels: int = 9) -> str:
    lines = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return top + "\n".join(lines) + "\n"


def test_a_small_alias_bomb_manifest_is_refused_quickly(tmp_path: Path) -> None:
    manifest = write(tmp_path / "component.yaml", alias_bomb("schemaVersion: 1.2\n"))
    assert manifest.stat().st_size < 1024
    for command in (["check"], []):
        result, took = launch(*command, "-C", str(EXAMPLE), "--manifest", str(manifest), *IDENTITY, "--", "true")
        assert_one_line_error(result, 65, str(manifest), "aliases expand the document by more than")
        assert took < 10


def test_a_small_alias_bomb_store_is_refused_quickly(tmp_path: Path) -> None:
    store = write(tmp_path / "connections.yaml", alias_bomb("version: 1\n"))
    store.chmod(0o600)
    result, took = launch("check", "-C", str(EXAMPLE), "--backend", str(store), *IDENTITY)
    assert_one_line_error(result, 78, str(store), "aliases expand the document by more than")
    assert took < 10


def test_deeply_nested_block_sequences_are_refused_not_a_traceback(tmp_path: Path) -> None:
    deep = "configurations:\n  env:\n" + "".join("  " * (i + 2) + "-\n" for i in range(300)) + "  " * 302 + "- x\n"
    manifest = write(tmp_path / "component.yaml", "schemaVersion: 1.2\n" + deep)
    result, _ = launch("check", "-C", str(EXAMPLE), "--manifest", str(manifest), *IDENTITY)
    assert_one_line_error(result, 65, str(manifest), "nesting deeper than 64 levels")


# ---------------------------------------------------------------- text and values no variable can hold


def test_a_non_utf8_env_file_is_a_configuration_error(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_bytes(b"GOOD=1\nBAD=caf\xe9\n")
    result, _ = run_example(tmp_path, "--env-file", str(env_file))
    assert_one_line_error(result, 78, str(env_file), "env file: expected UTF-8 text, found a bad byte at offset 14")


def test_a_nul_in_a_store_value_is_refused_at_resolution_on_every_launch(component) -> None:
    directory = component(
        "schemaVersion: 1.2\ndependencies:\n  connectionReferences:\n    - {name: my-db, resourceRef: database:x/y}\n",
        """
        version: 1
        projects:
          - name: p
            components: [{name: c}]
            connections:
              - {id: c-1, name: my-db, type: database, visibility: project,
                 parameters: {HostName: h, Password: "before\\0after"}}
        """,
    )
    (directory / "connections.yaml").chmod(0o600)
    for _ in range(3):  # a repeated launch must not take a fast path that fails differently
        result, _ = launch("-C", str(directory), "-p", "p", "-c", "c", "--", "true")
        assert_one_line_error(
            result, 67, "the value of CHOREO_MY_DB_PASSWORD contains a NUL character", "connection my-db.Password"
        )
        assert "before" not in result.stderr


def test_an_empty_command_is_a_usage_error() -> None:
    result, _ = launch("-C", str(EXAMPLE), *IDENTITY, "--", "")
    assert_one_line_error(result, 64, "expected a command to run")


def test_a_non_utf8_etcd_value_is_a_malformed_answer(etcd_single: Cluster) -> None:
    prefix = unique_prefix()
    etcd_single.backend(prefix, etcd_allow_no_auth=True).push(example_store())
    member = etcd_single.members[0]
    start = f"/{prefix.strip('/')}/".encode()
    end = start[:-1] + bytes([start[-1] + 1])
    answer = gateway(
        member,
        "/v3/kv/range",
        {"key": base64.b64encode(start).decode(), "range_end": base64.b64encode(end).decode(), "keys_only": True},
    ).json()
    key = next(kv["key"] for kv in answer["kvs"] if b"/shared/" in base64.b64decode(kv["key"]))  # read by every fetch
    put = {"key": key, "value": base64.b64encode(b'{"name": "caf\xe9"}').decode()}
    assert gateway(member, "/v3/kv/put", put).status_code == 200
    url = etcd_single.url(prefix)
    result, _ = launch("check", "-C", str(EXAMPLE), *IDENTITY, "--backend", url, "--etcd-allow-no-auth")
    assert_one_line_error(result, 78, base64.b64decode(key).decode(), "the value is not UTF-8 text")
    assert "caf" not in result.stderr
