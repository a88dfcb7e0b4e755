"""Building the child's environment from the Plan. Pure: the base environment is an argument."""

from __future__ import annotations

from collections.abc import Mapping

from launcher.model import Plan
from launcher.naming import is_launcher_setting

MOUNT_ROOT_VARIABLE = "CHOREO_MOUNT_ROOT"


def child_environment(plan: Plan, base: Mapping[str, str], *, override: bool = True,
                      mount_root: str | None = None) -> dict[str, str]:
    """`base` without the launcher's own settings, with the plan applied.

    With `override` (the default) resolved values replace inherited ones of the same name; without
    it, a variable already in `base` keeps its inherited value.
    """
    environment = {name: value for name, value in base.items() if not is_launcher_setting(name)}
    for assignment in plan.assignments:
        if override or assignment.variable not in environment:
            environment[assignment.variable] = assignment.value
    if mount_root:
        environment[MOUNT_ROOT_VARIABLE] = mount_root
    return environment


def kept_inherited(plan: Plan, base: Mapping[str, str]) -> list[str]:
    """Variables that `override=False` leaves at their inherited value, for a notice."""
    return [a.variable for a in plan.assignments if a.variable in base and not is_launcher_setting(a.variable)]
