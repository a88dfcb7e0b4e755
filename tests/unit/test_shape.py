"""The validation cursor every reader walks parsed YAML with, and the one scalar-to-text rule."""

from __future__ import annotations

import datetime

import pytest

from launcher.documents.shape import Node, scalar_text
from launcher.errors import ConfigurationError


@pytest.mark.parametrize(
    "value, text",
    [
        (True, "true"),
        (False, "false"),
        (5432, "5432"),
        (1.5, "1.5"),
        ("x", "x"),
        ("", ""),
        (None, None),
        (datetime.date(2024, 1, 2), None),
        ({1}, None),
        (b"x", None),
        ([], None),
        ({}, None),
    ],
)
def test_scalar_text(value: object, text: str | None) -> None:
    assert scalar_text(value) == text


def test_a_walk_reports_each_wrong_shape_once_where_it_is() -> None:
    root = Node.root({"items": [{"name": "a"}, "b", {"name": True, "nmae": "c"}], "flag": "maybe"}, "f.yaml")
    names = [item.key("name").text("a name") for item in root.key("items").mappings(frozenset({"name"}))]
    assert names == ["a", None]
    assert root.flag("flag", False) is False
    assert root.key("absent").key("deeper").list() == []  # navigating never fails
    with pytest.raises(ConfigurationError) as caught:
        root.raise_if_any(ConfigurationError)
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml: items[1]: expected a mapping, got a string",
        "f.yaml: items[2].name: expected a name, got a boolean (YAML reads yes/no/on/off/true/false as booleans; "
        "quote the text)",
        "f.yaml: flag: expected true or false, got a string",
    ]
    assert caught.value.warnings == ["f.yaml: items[2].nmae: unknown key, ignored; did you mean 'name'?"]


def test_a_node_never_shows_its_value() -> None:
    assert repr(Node.root({"password": "hunter2"}, "f.yaml").key("password")) == "Node(password)"
