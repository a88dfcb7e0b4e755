"""The one exception tree of choreo-run.

Library code raises these; only the CLI prints them, one line per problem. Every class carries the
exit code documented in docs/exit-codes.md. Messages never contain secret values: callers describe
*where* a value came from, never the value itself.
"""

from __future__ import annotations


class Problem:
    """One thing wrong, located as precisely as we can: a file and a path inside it.

    Immutable, compared and hashed by value. A plain class, not a dataclass: every process imports
    this module, the resident supervisor too, and `dataclasses` (with `inspect`) would cost it
    milliseconds of start-up (docs/performance.md).
    """

    __slots__ = ("file", "message", "path")
    message: str
    file: str | None
    path: str | None

    def __init__(self, message: str, file: str | None = None, path: str | None = None) -> None:
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "path", path)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[str, str | None, str | None]:
        return (self.message, self.file, self.path)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if type(other) is Problem else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[type[Problem], tuple[str, str | None, str | None]]:
        return (Problem, self._key())

    def __repr__(self) -> str:
        return f"Problem(message={self.message!r}, file={self.file!r}, path={self.path!r})"

    def __str__(self) -> str:
        where = [part for part in (self.file, self.path) if part]
        return ": ".join([*where, self.message])


class LauncherError(Exception):
    """Base of every error the launcher reports to the user."""

    exit_code = 70

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems = list(problems)
        self.warnings: list[str] = []  # found on the way; they often explain the problems (a typo)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class UsageError(LauncherError):
    """The command line itself is wrong (unknown option, missing command)."""

    exit_code = 64


class ManifestError(LauncherError):
    """The component manifest is malformed or declares something invalid."""

    exit_code = 65


class ManifestNotFound(LauncherError):
    """No manifest where one was expected."""

    exit_code = 66


class ResolutionError(LauncherError):
    """References that cannot be satisfied: missing connections, keys or values, name clashes."""

    exit_code = 67


class ConfigurationError(LauncherError):
    """The launcher's own configuration is wrong: identity, backend URL, malformed store file."""

    exit_code = 78


class NotFound(ConfigurationError):
    """The backend answered that the project or component does not exist (exit 78, as configuration).

    A definitive answer, like a denial: the last-known-good cache of that component is forgotten.
    """


class AccessDenied(LauncherError):
    """A reference crosses a visibility boundary, or the backend refused our credentials."""

    exit_code = 77


class BackendUnavailable(LauncherError):
    """The backend could not be reached or did not answer in time."""

    exit_code = 69


class ConflictError(LauncherError):
    """A concurrent writer changed the store first; nothing was written. Read again and retry."""

    exit_code = 75


class OutputError(LauncherError):
    """A configuration file or export could not be written."""

    exit_code = 73


class CommandNotFound(LauncherError):
    """The command to run does not exist (as `env` reports it)."""

    exit_code = 127


class CommandNotExecutable(LauncherError):
    """The command exists but cannot be executed (as `env` reports it)."""

    exit_code = 126


class ProblemCollector:
    """Gathers every problem in one pass so the user sees them all at once."""

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[str] = []  # what was accepted but looks like a mistake

    def add(self, path: str | None, message: str) -> None:
        self.problems.append(Problem(message, self.file, path or None))

    def warn(self, path: str | None, message: str) -> None:
        self.warnings.append(str(Problem(message, self.file, path or None)))

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self, error_class: type[LauncherError]) -> None:
        if self.problems:
            error = error_class(self.problems)
            error.warnings = list(self.warnings)
            raise error


# ---------------------------------------------------------------- the one way choreo-run speaks


def report(kind: str, message: str) -> None:
    """`choreo-run: KIND: MESSAGE` on stderr, one line, flushed: every error, warning and debug line.

    The CLI, the start-up fast path and the lean supervisor all speak through this, so the format
    and its rules cannot drift: nothing when there is no stderr; escape sequences removed unless
    stderr is a terminal (as click does), so a value from a file cannot drive the terminal.
    """
    write_line(f"choreo-run: {kind}: {message}")


def write_line(text: str) -> None:
    import sys

    stream = sys.stderr
    if stream is None:
        return
    if "\033" in text and not _isatty(stream):
        import re

        text = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", text)  # click._compat._ansi_re
    stream.write(text + "\n")
    stream.flush()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:
        return False
