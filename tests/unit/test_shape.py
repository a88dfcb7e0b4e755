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


@pytest.mark.parametrize(
    "value",
    ["  text  ", "", "   ", 5432, 1.5, True, None, datetime.date(2024, 1, 2), [], {}],
)
@pytest.mark.parametrize("required", [True, False])
def test_text_at_is_key_then_text(value: object, required: bool) -> None:
    """text_at makes the child node only to report, so it must answer and report exactly as key().text()."""
    by_key = Node.root({"v": value}, "f.yaml")
    at = Node.root({"v": value}, "f.yaml")
    assert at.text_at("v", "a thing", required=required) == by_key.key("v").text("a thing", required=required)
    assert at.sink.problems == by_key.sink.problems
    absent, absent_by_key = Node.root({}, "f.yaml"), Node.root({}, "f.yaml")
    assert absent.text_at("v", required=required) == absent_by_key.key("v").text(required=required)
    assert absent.sink.problems == absent_by_key.sink.problems


@pytest.mark.parametrize("value", ["x", "", 5432, 1.5, False, None, datetime.date(2024, 1, 2), [1], {"a": 1}])
def test_scalar_at_is_key_then_scalar(value: object) -> None:
    at, by_key = Node.root({"v": value}, "f.yaml"), Node.root({"v": value}, "f.yaml")
    assert at.scalar_at("v") == by_key.key("v").scalar()
    assert at.sink.problems == by_key.sink.problems
    not_a_mapping = Node.root(["v"], "f.yaml")
    assert not_a_mapping.scalar_at("v") is None
    assert [str(p) for p in not_a_mapping.sink.problems] == [
        "f.yaml: v: expected a string, number or boolean, got nothing"
    ]


def test_a_path_is_written_when_asked_and_names_keys_as_before() -> None:
    root = Node.root({"a": [{"b": {"odd key!": 1, 7: 2}}]}, "f.yaml")
    item = root.key("a").at(0).key("b")
    assert item._path is None  # nothing has asked yet
    assert item.path == "a[0].b"
    assert item.key("odd key!").path == "a[0].b.<a key of 8 characters>"  # described, never quoted
    assert [name for name, _ in item.entries()] == ["odd key!", "7"]
    assert [node.path for _, node in item.entries()] == ["a[0].b.<a key of 8 characters>", "a[0].b.7"]
    assert Node(1, "given.path", root.sink).key("x").path == "given.path.x"
    assert [node.path for node in root.key("a").list()] == ["a[0]"]
