"""Who the launcher runs as: flags, then CHOREO_RUN_* variables, then what the store makes obvious.

Precedence (docs/configuration.md): --project/--component/--env flags, then CHOREO_RUN_PROJECT,
CHOREO_RUN_COMPONENT, CHOREO_RUN_ENV, then inference from a local store (its only project; the
component named like the component directory, or its only component). Environment defaults to
"development".
"""

from __future__ import annotations

import os

from launcher.errors import ConfigurationError
from launcher.model import Identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from launcher.backends.base import Backend

DEFAULT_ENVIRONMENT = "development"


def decide_identity(
    project: str | None, component: str | None, environment: str | None, component_dir: str, backend: Backend
) -> Identity:
    """Flags and variables arrive merged by the CLI in `project`, `component`, `environment`."""
    if not (project and component):
        guessed_project, guessed_component = _guess(backend, component_dir)
        project = project or guessed_project
        component = component or guessed_component
    missing = [name for name, value in (("project", project), ("component", component)) if not value]
    if missing:
        flags = " and ".join(f"--{name} (or CHOREO_RUN_{name.upper()})" for name in missing)
        raise ConfigurationError(f"cannot tell which {' and '.join(missing)} to run as: pass {flags}")
    return Identity(project, component, environment or DEFAULT_ENVIRONMENT)  # type: ignore[arg-type]


def _guess(backend: Backend, component_dir: str) -> tuple[str | None, str | None]:
    # Every backend answers; those that cannot tell (remote ones) answer (None, None).
    return backend.guess_identity(os.path.basename(os.path.abspath(component_dir)))
