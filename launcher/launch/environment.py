"""Building the child's environment. Pure: the base environment is an argument.

Imports nothing heavy: the start-up fast path (launcher.launch.fastpath) builds environments with it too.
"""

from __future__ import annotations

from launcher.settings import LAUNCHER_PREFIX, is_launcher_setting

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs the fast path ~5 ms
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from launcher.model import Plan

MOUNT_ROOT_VARIABLE = "CHOREO_MOUNT_ROOT"


def apply_assignments(
    base: Mapping[str, str],
    assignments: Iterable[tuple[str, str]],
    *,
    override: bool = True,
    mount_root: str | None = None,
) -> dict[str, str]:
    """`base` without the launcher's own settings, with `(variable, value)` pairs applied.

    With `override` (the default) resolved values replace inherited ones of the same name; without
    it, a variable already in `base` keeps its inherited value.
    """
    environment = {name: value for name, value in base.items() if not is_launcher_setting(name)}
    for variable, value in assignments:
        if variable.startswith(LAUNCHER_PREFIX):  # is_launcher_setting, inline: thousands of calls at 1,000
            continue  # connections. Refused at resolution (naming.reserved_variable_problem); never passed on
        if override or variable not in environment:
            environment[variable] = value
    if mount_root:
        environment[MOUNT_ROOT_VARIABLE] = mount_root
    return environment


def child_environment(
    plan: Plan, base: Mapping[str, str], *, override: bool = True, mount_root: str | None = None
) -> dict[str, str]:
    """The environment the service receives for `plan`."""
    pairs = ((assignment.variable, assignment.value) for assignment in plan.assignments)
    return apply_assignments(base, pairs, override=override, mount_root=mount_root)
