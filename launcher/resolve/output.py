"""Showing a Plan: the `plan` table and the `export` formats. Secret values are masked unless revealed."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from launcher.keys import MASK
from launcher.model import Assignment, Plan


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
    """Variables as dotenv, JSON or shell; secret values appear only with `reveal`."""
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
            lines.append(f"export {assignment.variable}={_quote(assignment.value, export_format)}")
        else:
            lines.append(dotenv_line(assignment.variable, assignment.value).rstrip("\n"))
    return "\n".join(lines) + ("\n" if lines else "")


def dotenv_line(name: str, value: str) -> str:
    """One `NAME="value"` line that python-dotenv reads back exactly."""
    return f"{name}={_quote(value, 'dotenv')}\n"


def _quote(value: str, export_format: str) -> str:
    if export_format == "shell":
        return shlex.quote(value)
    # python-dotenv reads double-quoted values with backslash escapes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _clip(value: str, width: int = 48) -> str:
    value = value.replace("\n", "\\n")
    return value if len(value) <= width else value[: width - 3] + "..."


def _columns(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]
