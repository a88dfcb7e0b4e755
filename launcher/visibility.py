"""Who may use a connection (docs/architecture.md, "The domain, in brief"): the one statement of the visibility rule.

A connection, or an OAuth application, belongs to one project. Within it, it is either the
project's (visibility `project`, no owning component: every component of the project may use it)
or one component's (visibility `component`, owned by that component: only it may use it). Nothing
is visible across projects. Pure and tiny: backends, the resolver and the connection commands all
ask here rather than restating the rule.
"""

from __future__ import annotations

from launcher.model import COMPONENT, PROJECT, VISIBILITIES, Identity

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Protocol, TypeVar

    class _Scoped(Protocol):
        @property
        def visibility(self) -> str: ...

    S = TypeVar("S", bound=_Scoped)

__all__ = [
    "COMPONENT",
    "PROJECT",
    "VISIBILITIES",
    "ScopeProblem",
    "boundary_crossed",
    "may_use_app",
    "own_first",
    "owner",
    "scope_problem",
    "shared_with",
    "visibility_for",
    "visible_to",
    "why_not_visible",
]


class ScopeProblem(tuple[str, str]):
    """Why a (visibility, owning component) pair is inconsistent: the field at fault and what is wrong.

    A (field, message) tuple with names, as a NamedTuple is, without importing `typing` at start-up."""

    __slots__ = ()

    def __new__(cls, field: str, message: str) -> ScopeProblem:
        return tuple.__new__(cls, (field, message))

    @property
    def field(self) -> str:  # "visibility" | "component"
        return self[0]

    @property
    def message(self) -> str:
        return self[1]

    def __repr__(self) -> str:
        return f"ScopeProblem(field={self[0]!r}, message={self[1]!r})"


def owner(visibility: str | None, component: str | None) -> str | None:
    """The owning component of a connection with this visibility: None for a project connection."""
    return component if visibility == COMPONENT else None


def visibility_for(owning_component: str | None) -> str:
    """The visibility of something owned by `owning_component` (None: the project's)."""
    return PROJECT if owning_component is None else COMPONENT


def scope_problem(visibility: str | None, component: str | None) -> ScopeProblem | None:
    """What is wrong with a visibility and its owning component, or None when they agree."""
    if visibility not in VISIBILITIES:
        return ScopeProblem("visibility", f"expected {PROJECT} or {COMPONENT}")  # no value: callers may add it
    if visibility == COMPONENT and not component:
        return ScopeProblem("component", "expected the owning component for a component connection")
    if visibility == PROJECT and component:
        return ScopeProblem("component", "a project connection has no owning component")
    return None


def shared_with(owning_component: str | None, component: str) -> bool:
    """Whether `component` may use what `owning_component` owns (None: the whole project) in the same project."""
    return owning_component is None or owning_component == component


def may_use_app(app_owner: str | None, visibility: str | None, component: str | None) -> bool:
    """Whether a connection may take its OAuth credentials from an application owned by `app_owner`
    (None: the project's shared one): whoever may use the connection must be allowed the application,
    so a project connection uses the shared application only."""
    return app_owner is None or app_owner == owner(visibility, component)


def boundary_crossed(identity: Identity, project: str, owning_component: str | None) -> str | None:
    """ "project" or "component": the boundary a use by `identity` would cross; None when it may use it."""
    if project != identity.project:
        return "project"
    return None if shared_with(owning_component, identity.component) else "component"


def visible_to(identity: Identity, project: str, owning_component: str | None) -> bool:
    return boundary_crossed(identity, project, owning_component) is None


def why_not_visible(identity: Identity, label: str, project: str, owning_component: str | None) -> str:
    """Why a connection (`label`, already quoted) is refused to `identity`: the rule it would break."""
    if boundary_crossed(identity, project, owning_component) == "project":
        return (
            f"connection {label} belongs to project {project!r}; connections are visible only inside "
            f"their project (this is {identity.project!r})"
        )
    return (
        f"connection {label} is a component connection of {owning_component!r}; it is visible only to that "
        f"component (this is {identity.component!r})"
    )


def own_first(connections: Iterable[S]) -> list[S]:
    """Same-named connections a component may use, its own before the project's (a stable sort)."""
    return sorted(connections, key=lambda c: c.visibility != COMPONENT)
