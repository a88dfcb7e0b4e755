"""Choreo's own validator as a test oracle, and `choreo-run check` over many directories, both batched.

The validator is read from ../shared/choreo-validator (never copied in) and run by
tests/support/choreo_validator.js in one node process for many directories. Tests skip with a reason
where ../shared or node is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.process import REPO, run_launcher

VALIDATOR = REPO.parent / "shared" / "choreo-validator"
DRIVER = Path(__file__).with_name("choreo_validator.js")

# Paths the validator writes inside a message but not on the error (errors its custom tests build).
_PATH_IN_MESSAGE = re.compile(r"^(?:The )?((?:[A-Za-z_]\w*(?:\[\d+\])*)(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*)(?=\s|$)")
# Messages with no path at all, and the section each is about.
_PATHLESS = {
    "Endpoint names must be unique": "endpoints",
    "Environment variable names must be unique": "configuration",
    "Environment variable name must start": "configuration",
    "Schema file does not exist": "endpoints",
    "One of value": "configuration",
}


def require_validator() -> None:
    if not (VALIDATOR / "dist" / "index.js").is_file():
        pytest.skip(f"Choreo's validator not available at {VALIDATOR} (../shared is beside the checkout)")
    if shutil.which("node") is None:
        pytest.skip("node is not installed (Debian's nodejs runs the validator)")


@dataclass
class Verdict:
    valid: bool
    message: str
    paths: list[str] = field(default_factory=list)  # one per error, "" when it names no path


def _node(args: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(
        ["node", str(DRIVER), str(VALIDATOR), *args], input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def samples() -> dict[str, str]:
    """The validator's own test samples, by their exported names."""
    return json.loads(_node(["samples"]))


def error_path(path: str | None, message: str, file_type: str) -> str:
    """Where an error is: yup's path, else the one its message starts with, else its section."""
    if path:
        return path
    for start, section in _PATHLESS.items():
        if message.startswith(start):
            return "spec.inbound" if section == "endpoints" and file_type == "component-config.yaml" else section
    match = _PATH_IN_MESSAGE.match(message)
    if match and ("[" in match.group(1) or "." in match.group(1)):
        return match.group(1)
    if message.startswith(("SchemaVersion", "INTERNAL")) or "SchemaVersion must be" in message:
        return "schemaVersion"
    return ""


def validate(requests: list[tuple[Path, str]]) -> list[Verdict]:
    """The validator's verdict on each (component directory, file type), in one node process."""
    raw = json.loads(_node(["validate"], json.dumps([[str(d), t] for d, t in requests])))
    verdicts = []
    for (_, file_type), result in zip(requests, raw, strict=True):
        paths = [error_path(e["path"], e["message"], file_type) for e in result["errors"]]
        if not result["valid"] and not paths:  # a whole-file failure (YAML, schemaVersion, a crash)
            paths = [error_path(None, result["message"].split("validation failed:")[-1].strip(), file_type)]
        verdicts.append(Verdict(result["valid"], result["message"], paths))
    return verdicts


@dataclass
class Report:
    """What `choreo-run check` said about one directory: (path, message) per error and per warning."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def covers(self, path: str) -> bool:
        """Whether an error or a warning is about `path`, something inside it, or what holds it."""
        return any(covering(path, said) for said, _ in self.errors + self.warnings) if path else self.said

    @property
    def said(self) -> bool:
        return bool(self.errors or self.warnings)


def covering(expected: str, said: str) -> bool:
    if said == expected:
        return True
    inside = said.startswith((expected + ".", expected + "["))
    holds = bool(said) and expected.startswith((said + ".", said + "["))
    sibling_list = expected in ("configuration", "configurations") and said.startswith("configuration")
    return inside or holds or sibling_list


_LINE = re.compile(r"^choreo-run: (warning|error): (.*?/(d\d+)/\.(?:choreo|wso2)/[\w.-]+)(?:: (.*))?$")
_PATH = re.compile(r"[A-Za-z_<][\w.\-\[\]<> ]*?")


def check(directories: list[Path], store: Path) -> tuple[dict[str, Report], str]:
    """`choreo-run check DIR...` once for every directory (named d0, d1, ...), reports by name."""
    result = run_launcher(
        ["check", "--backend", str(store), "-p", "p", "-c", "svc", *map(str, directories)], timeout=300
    )
    reports = {d.name: Report() for d in directories}
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        level, _, name, rest = match.groups()
        rest = rest or ""
        head, sep, tail = rest.partition(": ")
        path, message = (head, tail) if sep and _PATH.fullmatch(head) and " " not in head else ("", rest)
        (reports[name].errors if level == "error" else reports[name].warnings).append((path, message))
    return reports, result.stderr
