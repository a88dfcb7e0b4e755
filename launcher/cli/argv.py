"""The launch command's argv, parsed without click, by a parser generated from launcher.cli.options.

`choreo-run [OPTIONS] -- CMD` is the one command every container start runs, and importing click
costs it more than the whole resolution (docs/performance.md, issue 16). This parser is built from
the same table click's `run` command is built from (launcher.cli.options: PIPELINE, then RUN), and
reads it as click does: long options with `--opt=value` or `--opt value`, clusters of short options
(`-qC dir`, `-Cdir`), the first non-option word or `--` ending the options, the last of a repeated
option winning, a repeatable option's values in order, then each option's CHOREO_RUN_* variable
(empty means unset; a repeatable option's variable split as click splits it; a flag's read as click
reads a boolean), then its default, each value converted and checked as click's type would.

It accepts only what it fully understands and declines (returns None) everything else: an unknown
option, `-h`, a value that does not convert, a path click would refuse, a missing value, a flag's
variable that is not a boolean, an option attribute this module does not know. click then parses the
same argv and stays the one source of help and usage errors. tests/unit/test_cli_argv.py proves on
generated argv and environments that whatever this parser accepts, click parses to the same values.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping

from launcher.cli.options import OPTIONS, PIPELINE, RUN, PathType, SecondsType

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any

    # What one parse gives: the command, the run callback's options, the eager callbacks to call with their values.
    Parsed = tuple[tuple[str, ...], dict[str, Any], list[tuple[Callable[..., Any], Any]]]

# click's BoolParamType.bool_states, how click reads a flag's variable (after strip() and lower()).
BOOLEAN_STATES = {
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "on": True,
    "off": False,
    "t": True,
    "f": False,
    "y": True,
    "n": False,
    "": False,
}
# Option attributes this parser understands; any other makes it decline every argv (click parses all).
UNDERSTOOD = {
    "default",
    "show_default",
    "type",
    "help",
    "envvar",
    "multiple",
    "is_flag",
    "metavar",
    "expose_value",
    "is_eager",
    "callback",
}
# click answers shell-completion requests (its _<PROG>_COMPLETE variable) instead of running.
COMPLETION_VARIABLE = "_CHOREO_RUN_COMPLETE"


class Declined(Exception):
    """Something this parser does not handle exactly as click does: click parses the argv instead."""


class Spec:
    """One option of the run command, as the parser needs it."""

    __slots__ = ("callback", "default", "envvar", "expose", "flag", "kind", "multiple", "name", "switches")

    def __init__(self, option: Any) -> None:
        attrs = option.attrs
        if set(attrs) - UNDERSTOOD:
            raise Declined(f"{option.decls}: {sorted(set(attrs) - UNDERSTOOD)}")
        names = [decl for decl in option.decls if decl.isidentifier()]
        flags = [decl for decl in option.decls if not decl.isidentifier()]
        self.switches: dict[str, bool | None] = {}  # each flag's word -> the value it stores (None: takes one)
        pair = any("/" in decl for decl in flags)
        self.flag = pair or bool(attrs.get("is_flag"))
        for decl in flags:
            on, _, off = decl.partition("/")
            for word, value in ((on, True), (off, False)):
                if word:
                    _check_word(word)
                    self.switches[word] = value if self.flag else None
        long_words = [word for word in self.switches if word.startswith("--")]
        if len(names) > 1 or (not names and not long_words):
            raise Declined(str(option.decls))
        self.name = names[0] if names else long_words[0][2:].replace("-", "_").lower()
        self.multiple = bool(attrs.get("multiple"))
        self.kind = attrs.get("type")
        if self.kind not in (None, str) and not isinstance(self.kind, (PathType, SecondsType)):
            raise Declined(f"{option.decls}: type {self.kind!r}")
        if self.flag and (self.multiple or self.kind is not None):
            raise Declined(str(option.decls))
        self.default = attrs.get("default", False if self.flag else None)
        self.envvar: str | None = attrs.get("envvar")
        self.expose = attrs.get("expose_value", True)
        self.callback = attrs.get("callback")


def _check_word(word: str) -> None:
    """A flag word this parser reads as click does: `--long-name` or `-x`."""
    if not (word.startswith("--") and len(word) > 2) and not (len(word) == 2 and word[0] == "-" and word[1] != "-"):
        raise Declined(word)


# The generated parser: long flag words, short flag words, every option in --help order.
Table = tuple[dict[str, Spec], dict[str, Spec], list[Spec]]


def _build() -> Table | None:
    try:
        specs = [Spec(OPTIONS[name]) for name in (*PIPELINE, *RUN)]
    except Declined:
        return None
    long_words: dict[str, Spec] = {}
    short_words: dict[str, Spec] = {}
    for spec in specs:
        for word in spec.switches:
            table = long_words if word.startswith("--") else short_words
            if word in long_words or word in short_words or word in ("-h", "--help"):
                return None  # two options sharing a word: click would refuse to build the command
            table[word] = spec
    if len({spec.name for spec in specs}) != len(specs) or "command" in {spec.name for spec in specs}:
        return None
    return long_words, short_words, specs


TABLE = _build()  # None: the table holds something this parser does not understand; click parses every argv


def parse_run(args: list[str], environ: Mapping[str, str]) -> Parsed | None:
    """The `run` command's (COMMAND, options, eager callbacks) from its argv, or None when click must parse it."""
    if TABLE is None or environ.get(COMPLETION_VARIABLE):
        return None
    try:
        return _parse(TABLE, args, environ)
    except Declined:
        return None


def _parse(table: Table, args: list[str], environ: Mapping[str, str]) -> Parsed:
    long_words, short_words, specs = table
    given: dict[str, Any] = {}  # option name -> the value (or the list of values) from the command line
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            break
        if arg[:1] != "-" or len(arg) == 1:
            rest.insert(0, arg)
            break
        if arg[:2] == "--":
            word, equals, explicit = arg.partition("=")
            spec = long_words.get(word)
            if spec is None:
                raise Declined(word)
            if spec.flag:
                if equals:
                    raise Declined(word)  # click: "Option '--debug' does not take a value."
                _store(given, spec, spec.switches[word])
                continue
            if equals:
                _store(given, spec, explicit)
            else:
                _store(given, spec, _next_value(rest))
            continue
        for index in range(1, len(arg)):
            spec = short_words.get("-" + arg[index])
            if spec is None:
                raise Declined(arg)
            if spec.flag:
                _store(given, spec, spec.switches["-" + arg[index]])
                continue
            _store(given, spec, arg[index + 1 :] if index + 1 < len(arg) else _next_value(rest))
            break
    options: dict[str, Any] = {}
    callbacks: list[tuple[Callable[..., Any], Any]] = []
    for spec in specs:
        value = _value(spec, given, environ)
        if spec.callback is not None:
            callbacks.append((spec.callback, value))
        if spec.expose:
            options[spec.name] = value
    return tuple(rest), options, callbacks


def _next_value(rest: list[str]) -> str:
    if not rest:
        raise Declined("an option's value is missing")
    return rest.pop(0)


def _store(given: dict[str, Any], spec: Spec, value: Any) -> None:
    if spec.multiple:
        given.setdefault(spec.name, []).append(value)
    else:
        given[spec.name] = value


def _value(spec: Spec, given: dict[str, Any], environ: Mapping[str, str]) -> Any:
    """The command line's value, else the variable's, else the default; converted as click's type would."""
    if spec.name in given:
        value = given[spec.name]
    else:
        raw = environ.get(spec.envvar) if spec.envvar else None
        if not raw:
            value = spec.default
        elif spec.flag:
            value = BOOLEAN_STATES.get(raw.strip().lower())
            if value is None:
                raise Declined(f"{spec.envvar} is not a boolean")
            return value
        elif spec.multiple:
            value = raw.split(os.pathsep if isinstance(spec.kind, PathType) else None)
        else:
            value = raw
    if spec.flag:
        return value
    if spec.multiple:
        return () if value is None else tuple(_convert(spec, item) for item in value)
    return None if value is None else _convert(spec, value)


def _convert(spec: Spec, value: Any) -> Any:
    kind = spec.kind
    if kind is None or kind is str:
        if not isinstance(value, str):
            raise Declined(repr(value))
        return value
    if isinstance(kind, SecondsType):  # the table's only numbers
        try:
            number = float(value)
        except (ValueError, TypeError):
            raise Declined(f"not a number: {spec.name}") from None
        if kind.problem(number):
            raise Declined(f"not a number of seconds: {spec.name}")  # click says what is wrong
        return number
    return _path(kind, value)


def _path(kind: PathType, value: Any) -> Any:
    """click.Path(...).convert without `exists`, `readable`, `resolve_path` and the like (none are used)."""
    if not isinstance(value, str):
        raise Declined(repr(value))
    if kind.file_okay and kind.allow_dash and value == "-":
        return value
    try:
        mode = os.stat(value).st_mode
    except OSError:
        return value
    except ValueError:
        raise Declined("not a path") from None
    if (not kind.file_okay and stat.S_ISREG(mode)) or (not kind.dir_okay and stat.S_ISDIR(mode)):
        raise Declined("click refuses this path")
    return value
