"""Every option of every command has a CHOREO_RUN_* variable, or is a listed exception; the document agrees.

The walk covers the whole click tree, the commands main.py registers lazily (OPTIONAL_COMMANDS)
included. Adding an option without a variable fails here until it gets one (and a row in
docs/configuration.md), or is added to NO_VARIABLE below *and* to the document's exception table.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from launcher.cli import commands as cli_commands
from launcher.cli import main as cli_main
from launcher.cli.decorators import click_attrs
from launcher.cli.options import MODE_VARIABLE, OPTIONS
from launcher.launch import modes

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
SOURCE = Path(__file__).resolve().parents[2] / "launcher"
VARIABLE = re.compile(r"CHOREO_RUN_[A-Z0-9_]*[A-Z0-9]")
ROOT = "choreo-run"

# (command, option's first long flag) -> why it has no variable. docs/configuration.md says the same.
PER_CHANGE = "what one connection change is about"
NO_VARIABLE = {
    (ROOT, "--version"): "not a setting",
    ("export", "--reveal"): "secrets are printed only when asked for each time",
    ("connection show", "--reveal"): "secrets are printed only when asked for each time",
    ("store roles", "--reset-passwords"): "destructive",
    ("store roles", "--enable-auth"): "destructive",
    ("connection delete", "--force"): "destructive",
    ("connection delete", "--prune"): "destructive",
    **{
        ("connection create", flag): PER_CHANGE
        for flag in (
            "--type",
            "--visibility",
            "--resource-ref",
            "--oauth",
            "--oauth-app",
            "--dedicated-oauth-app",
            "--token-url",
            "--env",
            "--param",
            "--secret",
            "--param-file",
        )
    },
    **{
        ("connection update", flag): PER_CHANGE
        for flag in ("--remove", "--resource-ref", "--env", "--param", "--secret", "--param-file")
    },
    **{("connection rotate", flag): PER_CHANGE for flag in ("--oauth-app", "--env", "--generate", "--param-file")},
}
# Options whose variable the launcher reads itself rather than through click.
READ_ELSEWHERE = {("run", "--supervise"): "CHOREO_RUN_MODE"}
# Variables that belong to no option (secrets, the fast-path and parse-cache switches).
WITHOUT_OPTION = {
    "CHOREO_RUN_TOKEN",
    "CHOREO_RUN_ETCD_USER",
    "CHOREO_RUN_ETCD_PASSWORD",
    "CHOREO_RUN_ETCD_PASSWORD_FILE",
    "CHOREO_RUN_CACHE_KEY",
    "CHOREO_RUN_FAST",
    "CHOREO_RUN_PARSE_CACHE",
}


def walk(command: click.Command, path: str = ROOT) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, name if path == ROOT else f"{path} {name}")


@pytest.fixture(scope="module")
def tree() -> dict[str, click.Command]:
    for module_name, attribute in cli_main.OPTIONAL_COMMANDS.values():  # as main() does, but failing loudly
        cli_commands.cli.add_command(getattr(importlib.import_module(module_name), attribute))
    return dict(walk(cli_commands.cli))


@pytest.fixture(scope="module")
def options(tree: dict[str, click.Command]) -> dict[tuple[str, str], click.Option]:
    """(command, first long flag) -> option, for every option of every command."""
    found = {}
    for path, command in tree.items():
        for param in command.params:
            if isinstance(param, click.Option):
                found[(path, long_flag(param))] = param
    return found


def long_flag(option: click.Option) -> str:
    return next(flag for flag in option.opts if flag.startswith("--"))


def expected_variable(key: tuple[str, str], option: click.Option) -> str | None:
    return READ_ELSEWHERE.get(key, option.envvar)


def test_the_walk_sees_every_command_including_the_lazily_registered_ones(tree: dict[str, click.Command]) -> None:
    for name in (
        "run",
        "check",
        "plan",
        "export",
        "store push",
        "store pull",
        "store roles",
        "serve-http",
        "connection create",
        "connection list",
        "connection show",
        "connection update",
        "connection delete",
        "connection rotate",
        "connection add-component",
    ):
        assert name in tree
    assert set(cli_main.OPTIONAL_COMMANDS) <= set(tree)


def test_every_option_has_a_variable_or_is_a_listed_exception(options: dict[tuple[str, str], click.Option]) -> None:
    without = {key for key, option in options.items() if not option.envvar}
    assert without - NO_VARIABLE.keys() - READ_ELSEWHERE.keys() == set(), "options with no CHOREO_RUN_* variable"
    assert NO_VARIABLE.keys() - without == set(), "listed as exceptions but not (or no longer) without a variable"
    for key, option in options.items():
        if option.envvar:
            assert isinstance(option.envvar, str) and VARIABLE.fullmatch(option.envvar), key


def test_variables_are_named_after_the_flag_or_the_command_and_the_flag(
    options: dict[tuple[str, str], click.Option],
) -> None:
    def name(*words: str) -> str:
        return "CHOREO_RUN_" + "_".join(words).upper().replace("-", "_").replace(" ", "_")

    for (path, flag), option in options.items():
        if option.envvar:
            assert option.envvar in (name(flag[2:]), name(path, flag[2:])), (path, flag, option.envvar)


def test_one_variable_means_one_option(options: dict[tuple[str, str], click.Option]) -> None:
    """A variable shared by several commands is the same option (the same flags) in each of them."""
    flags_of: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for option in options.values():
        if option.envvar:
            flags_of.setdefault(option.envvar, set()).add((tuple(option.opts), tuple(option.secondary_opts)))
    assert {variable: flags for variable, flags in flags_of.items() if len(flags) > 1} == {}


def test_every_option_is_built_from_the_one_table(options: dict[tuple[str, str], click.Option]) -> None:
    """One definition: each command's option is one of launcher.cli.options.OPTIONS, not a copy made inline."""
    defined = [click.Option(spec.decls, **click_attrs(spec)).to_info_dict() for spec in OPTIONS.values()]
    for (path, flag), option in options.items():
        if path != ROOT:  # --version is click's own
            assert option.to_info_dict() in defined, f"{path} {flag} is not defined in launcher/cli/options.py"
    for spec in OPTIONS.values():
        assert (spec.variable is None) == (spec.no_variable is not None), spec.decls


def test_the_mode_variable_is_the_one_the_launcher_reads() -> None:
    assert MODE_VARIABLE == modes.MODE_VARIABLE == READ_ELSEWHERE[("run", "--supervise")]


# ---------------------------------------------------------------- docs/configuration.md


def doc_tables() -> list[tuple[str, list[list[str]]]]:
    """(heading of the ### section, rows of its table split into cells) for every table in the document."""
    tables: list[tuple[str, list[list[str]]]] = []
    heading = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not tables or tables[-1][0] != heading:
                tables.append((heading, []))
            tables[-1][1].append(cells)
    return [(heading, rows[1:]) for heading, rows in tables]  # without the header row


def quoted(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def flags_in(cell: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", cell))


def commands_in(heading: str, tree: dict[str, click.Command]) -> set[str]:
    """The commands a section is about: each `quoted` command, a group standing for all its subcommands."""
    named = set()
    for word in quoted(heading):
        if word in tree:
            group = tree[word]
            named |= (
                {path for path in tree if path.startswith(word + " ")} if isinstance(group, click.Group) else {word}
            )
    return named


def option_rows(tree: dict[str, click.Command]) -> list[tuple[set[str], set[str], list[str]]]:
    """(commands, flags, variables) of every row of a | flag | variable | meaning | table."""
    rows = []
    for heading, table in doc_tables():
        commands = commands_in(heading, tree)
        if not commands or heading.startswith("Options without"):
            continue
        for flag_cell, variable_cell, *_ in table:
            rows.append((commands, flags_in(flag_cell), VARIABLE.findall(variable_cell)))
    return rows


def test_the_document_gives_every_option_its_variable(
    tree: dict[str, click.Command], options: dict[tuple[str, str], click.Option]
) -> None:
    rows = option_rows(tree)
    for (path, flag), option in options.items():
        variable = expected_variable((path, flag), option)
        if variable is None:
            continue
        matching = [row for row in rows if path in row[0] and flag in row[1]]
        assert len(matching) == 1, f"{path} {flag}: expected one row in {DOC.name}, found {len(matching)}"
        assert matching[0][2] == [variable], f"{path} {flag}: the document says {matching[0][2]}, not {variable}"


def test_every_row_of_the_document_is_a_real_option(
    tree: dict[str, click.Command], options: dict[tuple[str, str], click.Option]
) -> None:
    for commands, flags, variables in option_rows(tree):
        assert len(variables) == 1, (commands, flags)
        for path in commands:
            for flag in flags:
                option = options.get((path, flag)) or next(
                    (o for (p, _), o in options.items() if p == path and flag in o.opts + o.secondary_opts), None
                )
                assert option is not None, f"{DOC.name} documents {flag} for {path}, which has no such option"
                key = (path, long_flag(option))
                assert expected_variable(key, option) == variables[0], (path, flag, variables[0])


def test_the_document_lists_exactly_the_exceptions(tree: dict[str, click.Command]) -> None:
    listed = set()
    for heading, table in doc_tables():
        if heading == "Options without a variable":
            for command_cell, flag_cell, *_ in table:
                (command,) = quoted(command_cell)
                listed |= {(command, flag) for flag in flags_in(flag_cell)}
    assert listed == set(NO_VARIABLE)


def test_every_variable_the_document_names_exists(options: dict[tuple[str, str], click.Option]) -> None:
    known = {expected_variable(key, option) for key, option in options.items()} | WITHOUT_OPTION
    named = set(VARIABLE.findall(DOC.read_text()))
    assert named - known == set(), "documented but read by nothing"
    assert named >= WITHOUT_OPTION
    source = "\n".join(path.read_text() for path in SOURCE.rglob("*.py"))
    for variable in WITHOUT_OPTION:
        assert variable in source or variable.removesuffix("_FILE") in source, variable  # NAME_FILE: secret_from_env
