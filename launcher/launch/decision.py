"""A launch as the full path decided it: the one record every way of starting the service reads.

The full path (click, the manifest, the backends, the resolver) ends in a `Launch`: the command, the
mode, the variables, the files to write, the warnings it gave and whether they were to be shown.
Starting the service (launcher.launch.start) needs nothing else, so the start-up fast path can
replay a recorded `Launch` exactly as the full path would have started it, without parsing argv
again (a second parser would disagree with click: `-qp P` is `-q -p P`).

Only `os`-level code may import this module: it is on the fast path.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs the fast path ~5 ms
if TYPE_CHECKING:
    from collections.abc import Sequence

EXEC, SUPERVISE = "exec", "supervise"


class Launch:
    """What to start and how. Values are secrets: they are kept out of `repr`."""

    __slots__ = (
        "assignments",
        "command",
        "files",
        "masked_names",
        "mode",
        "mount_root",
        "override",
        "quiet",
        "warnings",
    )

    def __init__(
        self,
        command: Sequence[str],
        mode: str,
        assignments: Sequence[tuple[str, str]],
        *,
        masked_names: Sequence[str] = (),
        override: bool = True,
        mount_root: str | None = None,
        files: Sequence[tuple[str, bytes, int]] = (),
        warnings: Sequence[str] = (),
        quiet: bool = False,
    ) -> None:
        self.command = list(command)
        self.mode = mode
        self.assignments = [(variable, value) for variable, value in assignments]
        self.masked_names = tuple(masked_names)  # --mask-output: names (never values) to hide
        self.override = override
        self.mount_root = mount_root
        self.files = [(path, content, mode_bits) for path, content, mode_bits in files]  # (path, bytes, mode)
        self.warnings = list(warnings)  # already shown by the full path; shown again on replay
        self.quiet = quiet

    def __repr__(self) -> str:
        return (
            f"Launch(command={self.command[:1]!r}..., mode={self.mode!r}, "
            f"{len(self.assignments)} variables, {len(self.files)} files)"
        )

    def to_record(self) -> dict:
        """Plain data for marshal (the fast path's record format)."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_record(cls, record: dict) -> Launch:
        fields = dict(record)
        return cls(fields.pop("command"), fields.pop("mode"), fields.pop("assignments"), **fields)
