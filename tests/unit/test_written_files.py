"""Values are data in every written file (docs/security.md, section 2), checked with the real readers.

The dotenv text (the reload env file, `export --format dotenv`) must read back byte for byte through
POSIX sh's `.` (dash, busybox sh when installed), bash's `source` (also with --posix) and
python-dotenv's `dotenv_values` (interpolating, as by default); the shell text (`export --format
shell`) through `.` and `eval` in sh and bash; JSON through json.loads. Hypothesis generates the
values: quotes, `$`, `${NAME}` (names the environment and the file itself define), `$(...)`,
backquotes, backslashes, newlines, CR, tabs, non-ASCII, U+0085, U+2028, spaces at either end, `#`,
`=`, the empty string. Each example writes many variables to one file and starts each reader once,
so the real shells run a few hundred times in a few seconds. A shell that ran a command substitution
would leave a file in its working directory: none may appear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dotenv import dotenv_values
from dotenv.parser import parse_stream
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from launcher.errors import OutputError
from launcher.resolve.output import dotenv_file, dotenv_line, shell_line

# Variables the readers' environment holds while they read: a value naming them must not take theirs.
HOSTILE_ENVIRONMENT = {"HOME": "/home/hostile", "X": "from-the-environment", "V0": "env-V0", "": "empty-name"}

FRAGMENTS = [
    "'",
    '"',
    "\\",
    "\\\\",
    "\\'",
    "'\\''",
    "$",
    "$$",
    "$HOME",
    "${HOME}",
    "${X}",
    "${V0}",
    "${V1:-default}",
    "${:-}",
    "${=:-$}",
    "${",
    "}",
    "$(touch pwned-dollar)",
    "`touch pwned-backquote`",
    "$'\\n'",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "#",
    " #",
    "=",
    "\u0085",
    "\u2028",
    "\u00a0",
    "\ufeff",
    "é",
    "日本",
    "🙂",
    "EOF",
    "\n#\n",
    "#'",
    ";",
    "&",
    "|",
    "*",
    "~",
    "!",
    "\\\n",
]
# Any text but NUL (no environment variable can hold one; refused below) and lone surrogates.
CHARACTERS = st.characters(blacklist_characters="\0", blacklist_categories=("Cs",))
VALUES = st.lists(st.one_of(st.sampled_from(FRAGMENTS), CHARACTERS), max_size=12).map("".join)
BATCHES = st.lists(VALUES, min_size=1, max_size=25)

NASTY = [
    "",
    "plain",
    "it's",
    "'",
    "\\",
    "trailing\\",
    "C:\\new\\table",
    "$(touch pwned-1)",
    "`touch pwned-2`",
    "${HOME}",
    "${V0}",
    "${=:-$}",
    "$HOME $X",
    "line1\nline2",
    "cr\rlf\r\n",
    "\n#\n",
    "#",
    " leading and trailing ",
    "a=b=c",
    "\u0085\u2028\t é",
    "'\"'\"\\'\\\"",
    "\\'",
    "$'x'",
]

SHELLS = [["dash"], ["bash"], ["bash", "--posix"]] + ([["busybox", "sh"]] if shutil.which("busybox") else [])
LOCALES = ["C", "C.UTF-8"]


@contextmanager
def hostile_environment() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in HOSTILE_ENVIRONMENT.items() if k})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def names(values: list[str]) -> list[str]:
    return [f"V{index}" for index in range(len(values))]


def read_with_shell(shell: list[str], directory: Path, text: str, count: int, how: str = ". ./written") -> list[str]:
    """Source (or eval) the text with `set -eu` and print each variable NUL-terminated."""
    (directory / "written").write_bytes(text.encode())
    printed = " ".join(f'"$V{index}"' for index in range(count))
    environment = {"PATH": os.environ["PATH"], "LC_ALL": LOCALES[count % 2], **HOSTILE_ENVIRONMENT}
    environment.pop("")
    completed = subprocess.run(
        [*shell, "-c", f"set -eu; {how}; printf '%s\\0' {printed}"],
        cwd=directory,
        env=environment,
        capture_output=True,
        timeout=30,
    )
    assert (completed.returncode, completed.stderr) == (0, b""), shell
    return completed.stdout.decode().split("\0")[:-1]


def read_with_dotenv(path: Path, interpolate: bool = True) -> dict[str, str | None]:
    with open(path, encoding="utf-8") as stream:
        assert not [binding.original for binding in parse_stream(stream) if binding.error]
    with hostile_environment():
        return dict(dotenv_values(path, interpolate=interpolate))


def assert_nothing_ran(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == ["written"]


# ------------------------------------------------------------------ dotenv: three readers agree


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BATCHES)
@example(NASTY)
def test_dotenv_text_reads_back_exactly_in_sh_bash_and_python_dotenv(values: list[str]) -> None:
    text = dotenv_file(zip(names(values), values, strict=True))
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        for shell in SHELLS:
            assert read_with_shell(shell, directory, text, len(values)) == values, shell
        assert read_with_shell(["bash"], directory, text, len(values), how="source ./written") == values
        assert read_with_shell(["dash"], directory, text, len(values), how="set -a; . ./written") == values
        assert_nothing_ran(directory)
        assert read_with_dotenv(directory / "written") == dict(zip(names(values), values, strict=True))


@settings(max_examples=40, deadline=None)
@given(BATCHES)
def test_values_dotenv_would_not_interpolate_read_back_without_interpolation_too(values: list[str]) -> None:
    """A reader with interpolate=False sees the same, except for values holding a ${...} (written for the default)."""
    from launcher.resolve.output import _INTERPOLATED

    kept = [value for value in values if not _INTERPOLATED.search(value)]
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / "written"
        path.write_text(dotenv_file(zip(names(kept), kept, strict=True)), encoding="utf-8")
        assert read_with_dotenv(path, interpolate=False) == dict(zip(names(kept), kept, strict=True))


def test_most_values_are_one_plain_single_quoted_line() -> None:
    assert dotenv_line("URL", "https://x.example/a?b=c&d=$e #f") == "URL='https://x.example/a?b=c&d=$e #f'\n"
    assert dotenv_line("EMPTY", "") == "EMPTY=''\n"
    assert dotenv_line("TWO", "a\nb") == "TWO='a\nb'\n"


def test_a_value_no_quoting_serves_every_reader_is_written_once_for_each() -> None:
    assert dotenv_line("Q", "it's $(id)") == (
        "Q='\\';Q=\"it\"\\'\"s \\$(id)\";case x in y) : <<\\# '#';; esac\nQ=\"it's $(id)\"\n#\n"
    )
    assert dotenv_line("I", "${HOME}").splitlines()[1] == 'I="${=:-$}{HOME}"'
    # The example in docs/security.md, section 2.
    assert dotenv_line("NAME", "it's $(id) ${HOME}") == (
        "NAME='\\';NAME=\"it\"\\'\"s \\$(id) \\${HOME}\";case x in y) : <<\\# '#';; esac\n"
        'NAME="it\'s ${=:-$}(id) ${=:-$}{HOME}"\n'
        "#\n"
    )
    documented = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    assert dotenv_line("NAME", "it's $(id) ${HOME}") in documented


# ------------------------------------------------------------------ shell: sh and bash, `.` and eval


@settings(max_examples=25, deadline=None)
@given(BATCHES)
@example(NASTY)
def test_shell_text_reads_back_exactly_through_eval_and_dot(values: list[str]) -> None:
    text = "".join(shell_line(name, value) for name, value in zip(names(values), values, strict=True))
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        for shell in SHELLS:
            assert read_with_shell(shell, directory, text, len(values)) == values, shell
            assert read_with_shell(shell, directory, text, len(values), how='eval "$(cat ./written)"') == values
        assert_nothing_ran(directory)


# ------------------------------------------------------------------ json


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True), st.text()))
def test_json_export_reads_back_exactly(variables: dict[str, str]) -> None:
    from launcher.model import Assignment, Identity, Origin, Plan

    assignments = tuple(Assignment(name, value, False, Origin("test", "x")) for name, value in variables.items())
    plan = Plan(Identity("p", "c", "development"), "manifest.yaml", assignments, (), ())
    from launcher.resolve.output import export

    assert json.loads(export(plan, "json", reveal=True)) == variables


# ------------------------------------------------------------------ what cannot be written


@pytest.mark.parametrize("write", [dotenv_line, shell_line])
def test_a_nul_character_is_refused_without_quoting_the_value(write) -> None:
    with pytest.raises(OutputError) as raised:
        write("TOKEN", "s3cr3t\0rest")
    assert raised.value.exit_code == 73
    assert "TOKEN" in str(raised.value) and "NUL" in str(raised.value) and "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("write", [dotenv_line, shell_line])
def test_a_lone_surrogate_is_refused(write) -> None:
    with pytest.raises(OutputError, match="not Unicode text"):
        write("TOKEN", "a\udc80b")


@pytest.mark.parametrize("name", ["$(touch pwned)", "A B", "1A", "A-B", "", "A=B", "hunter2.x"])
@pytest.mark.parametrize("write", [dotenv_line, shell_line])
def test_a_name_that_is_not_an_identifier_is_refused_and_not_quoted(write, name: str) -> None:
    with pytest.raises(OutputError, match="variable name that is not letters, digits and _") as raised:
        write(name, "value")
    assert not name or name not in str(raised.value)
