"""One URL parser for every backend, and writes refused by read-only backends (real launcher processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.backends import REGISTRY, backend_class, parse_backend_url, redact
from launcher.errors import ConfigurationError
from support.process import EXAMPLE, run_launcher

READ_ONLY = [
    "servicebinding:",
    "servicebinding://",
    "servicebinding:bindings",
    "SERVICEBINDING:///bindings",
    "http://127.0.0.1:1",
    "https://127.0.0.1:1/base",
    "HTTP://127.0.0.1:1",
]


@pytest.mark.parametrize(
    "url, scheme, rest",
    [
        ("connections.yaml", "file", "connections.yaml"),
        ("./dir/my:store.yaml", "file", "./dir/my:store.yaml"),  # a colon in a path is no scheme
        ("my:store.yaml", "file", "my:store.yaml"),  # nor an unregistered short form
        ("./a://b", "file", "./a://b"),  # nor something that cannot be a scheme
        ("file:///abs/s.yaml", "file", "/abs/s.yaml"),
        ("file:rel/s.yaml", "file", "rel/s.yaml"),
        ("etcd://h1:2379,h2/choreo", "etcd", "h1:2379,h2/choreo"),
        ("ETCDS://h1/p", "etcds", "h1/p"),
        ("servicebinding:", "servicebinding", ""),
        ("servicebinding:///bindings", "servicebinding", "/bindings"),
        ("servicebinding:dev/bindings", "servicebinding", "dev/bindings"),
        ("https://host:8443/base", "https", "host:8443/base"),
        ("gopher://host/x", "gopher", "host/x"),  # parsed; refused when opened (below)
    ],
)
def test_contract_one_parser_splits_every_backend_url(url: str, scheme: str, rest: str) -> None:
    parsed = parse_backend_url(url)
    assert (parsed.scheme, parsed.rest) == (scheme, rest)


def test_contract_credentials_never_show_in_a_parsed_url() -> None:
    parsed = parse_backend_url("etcd://user:hunter2@h1:2379/p")
    assert parsed.shown == redact(parsed.original) == "etcd://***@h1:2379/p"
    assert "hunter2" not in repr(parsed) and "hunter2" not in parsed.shown


def test_contract_every_registered_scheme_has_a_backend_class_and_unknown_ones_are_refused() -> None:
    for scheme in REGISTRY:
        assert backend_class(parse_backend_url(f"{scheme}://x")).__name__
    with pytest.raises(ConfigurationError, match="unknown scheme 'gopher'"):
        backend_class(parse_backend_url("gopher://user:pw@host/x"))


@pytest.mark.parametrize("url", READ_ONLY)
def test_contract_connection_commands_refuse_a_read_only_backend_and_create_nothing(url: str, tmp_path: Path) -> None:
    # Once, `--backend servicebinding:` was taken for a file name and a store file `servicebinding:` appeared.
    result = run_launcher(
        ["connection", "add-component", "svc", "-p", "proj", "--backend", url],
        cwd=tmp_path,
        env={"SERVICE_BINDING_ROOT": str(tmp_path / "bindings")},
    )
    assert result.returncode == 64, result.stderr
    assert "is read-only" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_contract_store_push_refuses_a_read_only_backend(tmp_path: Path) -> None:
    result = run_launcher(
        ["store", "push", "--store", str(EXAMPLE / "connections.yaml"), "http://127.0.0.1:1/x"], cwd=tmp_path
    )
    assert result.returncode == 64 and "is read-only" in result.stderr, result.stderr


@pytest.mark.parametrize("url", ["store.yaml", "file:store.yaml", "file://store.yaml"])
def test_contract_a_file_url_writes_the_file_it_names(url: str, tmp_path: Path) -> None:
    result = run_launcher(["connection", "add-component", "svc", "-p", "proj", "--backend", url], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["store.yaml", "store.yaml.lock"]
