"""launcher.cli.argv, the launch command's parser without click, against click itself.

Issue 11 removed a second argv parser that had drifted from click; this one is generated from the same
option table (launcher.cli.options), and these properties are what keeps it from drifting: on argv and
environments generated from that table (every flag word, `--opt=value`, clusters like `-qC dir` and
`-Cdir`, `--`, repeated options, unknown options, values that do not convert, paths of the wrong kind,
every CHOREO_RUN_* variable with good and bad values), whatever the parser accepts click parses to the
same values, and it accepts every well-formed launch.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from launcher.cli import argv as fast
from launcher.cli.commands import cli, run
from launcher.cli.common import state
from launcher.cli.main import _route, takes_value
from launcher.cli.options import OPTIONS, PIPELINE, RUN, PathType, SecondsType

SPECS = [OPTIONS[name] for name in (*PIPELINE, *RUN)]
PLACES = Path(tempfile.mkdtemp(prefix="choreo-argv-"))
atexit.register(shutil.rmtree, PLACES, True)
(PLACES / "a-dir").mkdir()
(PLACES / "a-file").write_text("x\n")
A_DIR, A_FILE, MISSING = str(PLACES / "a-dir"), str(PLACES / "a-file"), str(PLACES / "missing")


def words(spec: Any) -> list[str]:
    return [word for decl in spec.decls if decl.startswith("-") for word in decl.split("/") if word]


def is_flag(spec: Any) -> bool:
    return bool(spec.attrs.get("is_flag")) or any("/" in decl for decl in spec.decls)


def short(word: str) -> bool:
    return len(word) == 2 and word[0] == "-" and word[1] != "-"


# ---------------------------------------------------------------- what is generated

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
ANY_VALUE = st.one_of(
    st.sampled_from(["", ".", "-", "--", "-q", "--timeout", "1.5", " 2 ", "nan", "inf", "1e3", "1_0", "x", "a b"]),
    st.sampled_from([A_DIR, A_FILE, MISSING, f"{A_FILE}:{A_DIR}", f"{MISSING}:{MISSING}"]),
    TEXT,
)
FLAG_VARIABLE = st.sampled_from(["", "1", "0", "true", "False", " YES ", "on", "off", "t", "n", "maybe", "2", "é"])
ANY_VARIABLE = st.one_of(FLAG_VARIABLE, ANY_VALUE)
NOISE = st.sampled_from(
    ["--", "-", "-h", "--help", "--version", "--bogus", "-Z", "-q-", "--debug=1", "--exec=", "-=", "run", "true"]
)


def seconds(kind: SecondsType) -> st.SearchStrategy[str]:
    """What a SecondsType option takes: finite numbers above zero (zero too, with zero_ok)."""
    finite = st.floats(min_value=0, allow_nan=False, allow_infinity=False, exclude_min=not kind.zero_ok)
    return st.one_of(finite.map(repr), st.integers(1, 10**6).map(str), st.sampled_from([" 3 ", "1e3", "0.5"]))


def good_value(spec: Any) -> st.SearchStrategy[str]:
    kind = spec.attrs.get("type")
    if isinstance(kind, SecondsType):
        return seconds(kind)
    if isinstance(kind, PathType):
        fitting = [MISSING, "-"] + ([A_DIR] if kind.dir_okay else []) + ([A_FILE] if kind.file_okay else [])
        return st.sampled_from(fitting)
    return TEXT


@st.composite
def one_option(draw: st.DrawFn, spec: Any, good: bool) -> list[str]:
    word = draw(st.sampled_from(words(spec)))
    if is_flag(spec):
        return [word]
    value = draw(good_value(spec) if good else st.one_of(good_value(spec), ANY_VALUE))
    if short(word):
        return draw(st.sampled_from([[word, value], [word + value]])) if value else [word, value]
    return draw(st.sampled_from([[word, value], [f"{word}={value}"]]))


@st.composite
def cluster(draw: st.DrawFn, good: bool) -> list[str]:
    """Short flags run together, maybe ending in a short option that takes a value: `-qC dir`, `-qCdir`."""
    flags = [w for spec in SPECS if is_flag(spec) for w in words(spec) if short(w)]
    valued = [spec for spec in SPECS if not is_flag(spec) and any(short(w) for w in words(spec))]
    letters = "".join(w[1] for w in draw(st.lists(st.sampled_from(flags), min_size=1, max_size=3)))
    if not draw(st.booleans()):
        return ["-" + letters]
    spec = draw(st.sampled_from(valued))
    word = next(w for w in words(spec) if short(w))
    value = draw(good_value(spec) if good else st.one_of(good_value(spec), ANY_VALUE))
    return draw(st.sampled_from([[f"-{letters}{word[1]}", value], [f"-{letters}{word[1]}{value}"]]))


@st.composite
def argvs(draw: st.DrawFn, good: bool = False) -> list[str]:
    pieces = st.one_of(*(one_option(spec, good) for spec in SPECS), cluster(good))
    if not good:
        pieces = st.one_of(pieces, NOISE.map(lambda word: [word]), ANY_VALUE.map(lambda word: [word]))
    argv = [word for piece in draw(st.lists(pieces, max_size=8)) for word in piece]
    command = draw(st.lists(st.one_of(st.sampled_from(["true", "--", "-q", "x"]), TEXT), max_size=3))
    ending = draw(st.sampled_from([["--"], []] if good else [["--"], [], ["--", "--"]]))
    if good and command and command[0].startswith("-"):
        ending = ["--"]
    return argv + ending + command


@st.composite
def environments(draw: st.DrawFn, good: bool = False) -> dict[str, str]:
    environment = {}
    for spec in draw(st.lists(st.sampled_from([s for s in SPECS if s.variable]), max_size=6, unique_by=id)):
        if not good:
            environment[spec.variable] = draw(ANY_VARIABLE)
        elif is_flag(spec):
            environment[spec.variable] = draw(FLAG_VARIABLE.filter(lambda v: v.strip().lower() != "maybe"))
        elif spec.attrs.get("multiple"):
            environment[spec.variable] = " ".join(draw(st.lists(good_value(spec).filter(_plain), max_size=3)))
        else:
            environment[spec.variable] = draw(good_value(spec))
    if not good and draw(st.integers(0, 20)) == 0:
        environment[fast.COMPLETION_VARIABLE] = "bash_complete"
    return {name: value for name, value in environment.items() if not (good and value in ("2", "é"))}


def _plain(value: str) -> bool:
    return bool(value) and value.split() == [value] and ":" not in value


# ---------------------------------------------------------------- the comparison


def comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, tuple):
        return tuple(comparable(item) for item in value)
    return value


def parse_fast(argv: list[str], environment: dict[str, str]) -> tuple[dict[str, Any], dict[str, bool]] | None:
    state.update(debug=False, quiet=False)
    parsed = fast.parse_run(list(argv), environment)
    if parsed is None:
        return None
    command, options, callbacks = parsed
    for callback, value in callbacks:
        callback(None, None, value)
    return {**options, "command": command}, {"debug": state["debug"], "quiet": state["quiet"]}


def parse_click(argv: list[str]) -> tuple[dict[str, Any], dict[str, bool]]:
    """What click gives the run callback, with the group's context as its parent (`-h` is help there too)."""
    state.update(debug=False, quiet=False)
    parent = click.Context(cli, info_name="choreo-run", **cli.context_settings)
    with run.make_context("run", list(argv), parent=parent) as context:
        return dict(context.params), {"debug": state["debug"], "quiet": state["quiet"]}


def same_as_click(argv: list[str], environment: dict[str, str]) -> bool:
    """True when the parser accepted the argv (and gave exactly click's values); False when it declined."""
    with mock.patch.dict(os.environ, environment, clear=True):
        mine = parse_fast(argv, environment)
        if mine is None:
            return False
        try:
            theirs = parse_click(argv)
        except click.exceptions.ClickException as error:  # pragma: no cover - the failure being tested for
            pytest.fail(f"accepted what click refuses ({error.format_message()}): {argv} {environment}")
    (options, flags), (click_options, click_flags) = mine, theirs
    assert {k: comparable(v) for k, v in options.items()} == {k: comparable(v) for k, v in click_options.items()}
    assert [type(options[k]) for k in sorted(options)] == [type(click_options[k]) for k in sorted(options)]
    assert flags == click_flags
    return True


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs(), environment=environments())
def test_whatever_it_accepts_click_parses_the_same(argv: list[str], environment: dict[str, str]) -> None:
    event("accepted" if same_as_click(argv, environment) else "declined")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs(good=True), environment=environments(good=True))
def test_it_accepts_every_well_formed_launch(argv: list[str], environment: dict[str, str]) -> None:
    assert same_as_click(argv, environment), f"declined a well-formed launch: {argv} {environment}"


# ---------------------------------------------------------------- cases worth naming


@pytest.mark.parametrize(
    ("argv", "environment"),
    [
        (["-qp", "P", "-c", "C", "--", "true"], {}),  # issue 11's -qp replay bug
        (["-qCdir", "--timeout=2.5", "--store", "a", "--backend=b", "true", "--", "x"], {}),
        (["-C", "--", "true"], {}),  # `--` as the value of -C, then the command
        (["--no-cache", "--cache", "--exec", "--supervise", "--exec", "--", "true"], {}),
        (["--debug", "--", "true"], {"CHOREO_RUN_QUIET": " Yes ", "CHOREO_RUN_DEBUG": "no"}),
        (["--", "true"], {"CHOREO_RUN_BACKEND": " a  b ", "CHOREO_RUN_ENV_FILE": "x::y", "CHOREO_RUN_TIMEOUT": "1e1"}),
        (["--", "true"], {"CHOREO_RUN_CACHE": "", "CHOREO_RUN_DEADLINE": "", "CHOREO_RUN_ALLOW_VARIABLE": "   "}),
        (["--cache", "--", "true"], {"CHOREO_RUN_CACHE": "0", "CHOREO_RUN_REWRITE_SIGNAL": "SIGTERM:SIGQUIT"}),
        (["--rewrite-signal", "A:B", "--", "true"], {"CHOREO_RUN_REWRITE_SIGNAL": "C:D E:F"}),
        ([], {}),
    ],
)
def test_named_cases_are_accepted_and_equal(argv: list[str], environment: dict[str, str]) -> None:
    assert same_as_click(argv, environment)


@pytest.mark.parametrize(
    ("argv", "environment"),
    [
        (["-h"], {}),
        (["--help"], {}),
        (["-qh"], {}),
        (["--version"], {}),
        (["--bogus", "--", "true"], {}),
        (["--timeout", "soon", "--", "true"], {}),
        (["--timeout"], {}),
        (["-C"], {}),
        (["--debug=yes", "--", "true"], {}),
        (["-C", A_FILE, "--", "true"], {}),  # click: "Directory ... is a file."
        (["--manifest", A_DIR, "--", "true"], {}),  # click: "File ... is a directory."
        (["--", "true"], {"CHOREO_RUN_DEADLINE": "later"}),
        (["--deadline", "nan", "--", "true"], {}),  # click: "nan is not a finite number of seconds"
        (["--timeout=-1", "--", "true"], {}),
        (["--watch-interval", "0", "--", "true"], {}),
        (["--", "true"], {"CHOREO_RUN_DEADLINE": "inf"}),
        (["--", "true"], {"CHOREO_RUN_WATCH": "maybe"}),
        (["--", "true"], {"CHOREO_RUN_ENV_FILE": f"{MISSING}:{A_DIR}"}),
        (["--", "true"], {fast.COMPLETION_VARIABLE: "bash_complete"}),
    ],
)
def test_it_declines_what_click_must_answer(argv: list[str], environment: dict[str, str]) -> None:
    assert fast.parse_run(argv, environment) is None


def test_the_parser_is_built_from_the_table_rather_than_disabled() -> None:
    """An option attribute the parser does not understand turns it off (click parses all): fail loudly here."""
    assert fast.TABLE is not None
    long_words, short_words, specs = fast.TABLE
    assert {spec.name for spec in specs} | {"command"} == {param.name for param in run.params}
    click_words = {word for param in run.params for word in [*param.opts, *param.secondary_opts] if word[0] == "-"}
    assert set(long_words) | set(short_words) == click_words


def test_route_knows_which_flags_take_a_value_as_click_does() -> None:
    expected = {
        name for param in run.params if isinstance(param, click.Option) and not param.is_flag for name in param.opts
    }
    assert takes_value() == expected
    assert _route(["-C", "plan", "--", "true"]) == ["run", "-C", "plan", "--", "true"]
    assert _route(["-q", "plan", "-C", "d"]) == ["plan", "-q", "-C", "d"]


def test_a_launch_is_parsed_and_started_without_importing_click() -> None:
    code = (
        "import sys; import launcher.cli.main, launcher.cli.argv, launcher.cli.run; "
        "assert 'click' not in sys.modules, sorted(m for m in sys.modules if m.startswith('click'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
