"""Showing a Plan: the `plan` table and the `export` formats. Secret values are masked unless revealed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from launcher.errors import OutputError
from launcher.keys import MASK
from launcher.model import Assignment, Plan
from launcher.naming import is_valid_variable


def shown_value(assignment: Assignment, reveal: bool = False) -> str:
    return assignment.value if reveal or not assignment.secret else MASK


def plan_table(plan: Plan, file_targets: list[str]) -> str:
    """A readable table: variable, value (masked), connection and key, visibility, source."""
    identity = plan.identity
    header = [f"{identity.project}/{identity.component} ({identity.environment}) from {plan.manifest_file}", ""]
    rows = [("VARIABLE", "VALUE", "FROM", "VISIBILITY", "SOURCE")]
    rows += [
        (
            a.variable,
            _clip(shown_value(a)),
            f"{a.origin.kind} {a.origin.detail}",
            a.origin.visibility or "-",
            a.origin.source or "-",
        )
        for a in sorted(plan.assignments, key=lambda a: a.variable)
    ]
    lines = header + _columns(rows)
    if plan.files:
        lines += ["", "FILES"]
        lines += [
            f"  {target}  ({len(output.content)} bytes{', secret, mode 0600' if output.secret else ''}; "
            f"{output.origin.detail})"
            for output, target in zip(plan.files, file_targets, strict=False)
        ]
    if not plan.assignments and not plan.files:
        lines.append("(the manifest declares nothing to inject)")
    return "\n".join(lines) + "\n"


def plan_json(plan: Plan, file_targets: list[str]) -> str:
    """The same as the table, for machines; secret values masked."""
    document = {
        "project": plan.identity.project,
        "component": plan.identity.component,
        "environment": plan.identity.environment,
        "manifest": plan.manifest_file,
        "variables": [
            {
                "name": a.variable,
                "value": shown_value(a),
                "secret": a.secret,
                "kind": a.origin.kind,
                "from": a.origin.detail,
                "visibility": a.origin.visibility or None,
                "source": a.origin.source or None,
            }
            for a in plan.assignments
        ],
        "files": [
            {"path": target, "bytes": len(o.content), "secret": o.secret}
            for o, target in zip(plan.files, file_targets, strict=False)
        ],
        "warnings": list(plan.warnings),
    }
    return json.dumps(document, indent=2) + "\n"


def export(plan: Plan, export_format: str, reveal: bool) -> str:
    """Variables as dotenv, JSON or shell; secret values appear only with `reveal`.

    Every format reads back exactly (docs/security.md, section 2): JSON through any JSON parser,
    shell (`export NAME='...'`) through `eval` or `.` in sh and bash, dotenv through sh's `.`,
    bash's `source` and python-dotenv's `dotenv_values`. A value no environment variable can hold
    (a NUL character, text that is not Unicode) is refused in dotenv and shell: OutputError, exit 73.
    """
    assignments = sorted(plan.assignments, key=lambda a: a.variable)
    if export_format == "json":
        return (
            json.dumps({a.variable: (a.value if reveal or not a.secret else None) for a in assignments}, indent=2)
            + "\n"
        )
    lines = []
    for assignment in assignments:
        if assignment.secret and not reveal:
            lines.append(f"# {assignment.variable} is secret: pass --reveal to include its value")
            continue
        if export_format == "shell":
            lines.append(shell_line(assignment.variable, assignment.value).rstrip("\n"))
        else:
            lines.append(dotenv_line(assignment.variable, assignment.value).rstrip("\n"))
    return "\n".join(lines) + ("\n" if lines else "")


# Written files are read by readers that disagree about quoting (docs/security.md, section 2):
#
# * sh's `.` and bash's `source`: no escape inside '...'; inside "..." `$`, backquotes and `\` act;
# * python-dotenv's dotenv_values: '...' takes the escapes \\ and \'; "..." takes \\ \" \' \n \r
#   \t and the like; the file is read with universal newlines (a raw CR becomes a LF); and then
#   every value, however quoted, has ${NAME} and ${NAME:-default} replaced (interpolate=True).
#
# Most values are written `NAME='value'`, which every reader takes literally. A value holding `'`,
# `\`, CR or a ${...} that python-dotenv would replace has no quoting all readers agree on, so it
# is written as three lines, each reader seeing only its own part:
#
#     NAME='\';NAME=<sh form>;case x in y) : <<\# '#';; esac
#     NAME=<dotenv form>
#     #
#
# sh: `NAME='\'` (a quoted backslash), then `NAME=<sh form>` ("..." with \\ \" \$ \` escapes, and
#     \' outside the double quotes for each `'`), then a `case` that matches nothing and whose
#     here-document (delimiter `#`, quoted: its body is never expanded, nor even run) swallows
#     the dotenv line; the `#` line ends it.
# python-dotenv: on the first line `'\'` does not close the quote (\' is an escape), so the value
#     runs to the `'` of `'#'` and the rest is a comment; that value is then replaced by the second
#     line, "..." with escapes; the `#` line is a comment. In the dotenv form each `$` becomes
#     `${=:-$}` (a variable named `=`, which no environment holds, with the default `$`), so
#     interpolation gives back the `$`; it is done only for values interpolation would change.
# Neither part can hold a `'` the other reader would take as a closing quote: the sh form has no
# raw `'`, the dotenv form is inside a quoted here-document. tests/unit/test_written_files.py checks
# the round trip with real dash, bash and busybox sh and python-dotenv, for any text.

# python-dotenv's dotenv.variables._posix_variable: what dotenv_values replaces.
_INTERPOLATED = re.compile(r"\$\{[^}:]*(?::-[^}]*)?\}")
# The dotenv form of `$` when interpolation would change the value: `=` is never a variable's name.
_DOLLAR = "${=:-$}"
_SH_DOUBLE_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"', "$": "\\$", "`": "\\`", "'": '"\\\'"'})
_DOTENV_DOUBLE_QUOTED = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def dotenv_file(assigned: Iterable[tuple[str, str]]) -> str:
    """The dotenv text for these variables (the reload env file), in name order."""
    return "".join(dotenv_line(name, value) for name, value in sorted(assigned))


def dotenv_line(name: str, value: str) -> str:
    """NAME and its value as dotenv that sh, bash and python-dotenv all read back exactly.

    One line `NAME='value'` for most values; three lines for a value holding `'`, `\\`, CR or a
    `${...}` (see above). Raises OutputError (73) for a value no variable can hold.
    """
    _check_writable(name, value)
    if not any(c in value for c in "'\\\r") and not _INTERPOLATED.search(value):
        return f"{name}='{value}'\n"
    for_sh = '"' + value.translate(_SH_DOUBLE_QUOTED) + '"'
    for_dotenv = value.replace("$", _DOLLAR) if _INTERPOLATED.search(value) else value
    for_dotenv = '"' + for_dotenv.translate(_DOTENV_DOUBLE_QUOTED) + '"'
    return f"{name}='\\';{name}={for_sh};case x in y) : <<\\# '#';; esac\n{name}={for_dotenv}\n#\n"


def shell_line(name: str, value: str) -> str:
    """`export NAME='value'` (each `'` written '\\''), which `eval` and `.` in sh and bash read exactly."""
    _check_writable(name, value)
    return "export " + name + "='" + value.replace("'", "'\\''") + "'\n"


def _check_writable(name: str, value: str) -> None:
    """Only a variable name and a value an environment can hold are written; the value is never quoted."""
    if not is_valid_variable(name):  # not quoted: it may be a value mistaken for a name (an env file's typo)
        raise OutputError("a variable name that is not letters, digits and _ cannot be written as an assignment")
    if "\0" in value:
        raise OutputError(f"{name}: the value holds a NUL character, which no environment variable can hold")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise OutputError(f"{name}: the value is not Unicode text (a lone surrogate); it cannot be written") from None


def _clip(value: str, width: int = 48) -> str:
    value = value.replace("\n", "\\n")
    return value if len(value) <= width else value[: width - 3] + "..."


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]
