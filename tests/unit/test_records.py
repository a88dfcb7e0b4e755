"""launcher.records: what the model's classes kept from frozen dataclasses, and the launch without them."""

from __future__ import annotations

import copy
import os
import pickle
import re
import subprocess
import sys

import pytest

from launcher.model import Assignment, Connection, Identity, OAuthApplication, Origin, Parameter
from launcher.records import Record, field
from support.process import EXAMPLE


class Point(Record):
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list, compare=False)
    secret: str = field(default="", repr=False)


class Point3(Point):
    z: int = 0


class Counter(Record, frozen=False):
    start: int
    seen: list[int] = field(default_factory=list)
    total: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.total = self.start


def test_constructor_positional_keyword_defaults_and_factories() -> None:
    assert Point(1) == Point(x=1) == Point(1, 0, [], "")
    assert Point(1).tags is not Point(1).tags  # a factory per instance
    assert Point3(1, 2, ["a"], "s", 3).z == 3 and Point3.__match_args__ == ("x", "y", "tags", "secret", "z")
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, nope=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="non-default argument"):

        class _Bad(Record):
            a: int = 0
            b: int


def test_equality_hash_and_immutability() -> None:
    assert Point(1, 2, ["a"]) == Point(1, 2, ["b"])  # compare=False
    assert Point(1) != Point3(1) and Point(1) != (1, 0)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and len({Identity("p", "c"), Identity("p", "c")}) == 1
    point = Point(1)
    with pytest.raises(AttributeError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del point.x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.other = 1  # type: ignore[attr-defined]
    assert not hasattr(point, "__dict__")


def test_repr_never_shows_hidden_fields() -> None:
    assert repr(Point(1, secret="hunter2")) == "Point(x=1, y=0, tags=[])"
    shown = repr(
        [
            Parameter("hunter2", True),
            Connection("id", "db", "database", "project", "p", None, {"Password": Parameter("hunter2")}),
            OAuthApplication("app", "hunter2", "hunter2", "hunter2"),
            Assignment("X", "hunter2", True, Origin("value", "x")),
        ]
    )
    assert "hunter2" not in shown and "Parameter(secret=True)" in shown


def test_replace_pickle_and_copy() -> None:
    point = Point3(1, 2, ["a"], "s", 3)
    assert point.replace(y=5) == Point3(1, 5, ["a"], "s", 3) and point.replace() is not point
    with pytest.raises(TypeError, match="unexpected field 'w'"):
        point.replace(w=1)
    for again in (pickle.loads(pickle.dumps(point)), copy.copy(point), copy.deepcopy(point)):
        assert again == point and type(again) is Point3 and again.secret == "s"


def test_a_mutable_record() -> None:
    counter = Counter(3)
    assert counter.total == 3 and repr(counter) == "Counter(start=3, seen=[], total=3)"
    counter.total += 1
    assert counter.total == 4 and counter.replace(start=7).total == 7  # init=False starts afresh
    assert pickle.loads(pickle.dumps(counter)).total == 4
    with pytest.raises(TypeError):
        hash(counter)


def test_a_full_path_launch_imports_no_dataclasses_typing_or_inspect() -> None:
    """Issue 16: these cost ~15 ms of every launch (docs/performance.md)."""
    env = {**os.environ, "CHOREO_RUN_FAST": "0", "CHOREO_RUN_PARSE_CACHE": "0"}
    argv = [sys.executable, "-X", "importtime", "-m", "launcher", "-C", str(EXAMPLE), "--mount-root", "/nonexistent"]
    result = subprocess.run([*argv, "--", "true"], capture_output=True, text=True, env=env, check=False)
    imported = set(re.findall(r"^import time:.*\|\s*(\S+)$", result.stderr, re.MULTILINE))
    assert "launcher.resolve.resolver" in imported, result.stderr[-2000:]  # the full path did run
    assert not imported & {"dataclasses", "typing", "inspect"}


class Slotted(Record):
    """A record whose class declares its own slots, and one field with no slot of its own."""

    __slots__ = ("a",)
    a: int
    b: int = 0


def test_fields_are_set_through_their_slots_or_as_always() -> None:
    assert (Point3(1, 2, [], "", 3).x, Point3(1, 2, [], "", 3).z) == (1, 3)  # an inherited slot and its own
    counter = Counter(5)
    assert (counter.start, counter.seen, counter.total) == (5, [], 5)
    with pytest.raises(AttributeError):  # `b` has no slot: refused by object.__setattr__, as before
        Slotted(1, 2)
