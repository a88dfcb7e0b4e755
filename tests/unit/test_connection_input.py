"""Parameter values for the connection commands: the hidden prompt is the CLI's, passed in."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from launcher.backends.local.store_file import ALL_ENVIRONMENTS
from launcher.connections.input import parameter_updates, secret_value


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_secret_on_a_terminal_comes_from_the_prompt_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal("not read\n"))
    asked: list[str] = []
    value = secret_value("Password", prompt=lambda label: asked.append(label) or "typed")
    assert (value, asked) == ("typed", ["Password (input hidden)"])


def test_without_a_prompt_or_a_terminal_a_secret_is_one_line_of_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))
    assert secret_value("Password", prompt=lambda label: pytest.fail("prompted without a terminal")) == "from-stdin"
    monkeypatch.setattr("sys.stdin", _Terminal("line\n"))
    assert secret_value("Password") == "line"


def test_param_file_scalars_are_text_by_the_one_rule(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("Enabled: true\nPort: 5432\nRatio: 0.5\n")
    updates = {update.key: update.values for update in parameter_updates((), (), str(params), ())}
    assert updates == {
        "Enabled": {ALL_ENVIRONMENTS: "true"},
        "Port": {ALL_ENVIRONMENTS: "5432"},
        "Ratio": {ALL_ENVIRONMENTS: "0.5"},
    }
