"""The launch orchestrator: every mode starts (and restarts) the service from a `Launch` through here.

    full path (cli/run.py) --+                      +--> exec_service            (exec mode)
                             +--> start(Launch) ----+--> supervise in-process    (supervise, --watch)
    fast path (replay)  -----+                      +--> lean supervisor re-exec (supervise, holding a
                                                                 credential where this process cannot be sealed)

The mode, the environment and what is shown are decided once, by the full path, and recorded in the
`Launch`; the fast path replays a recorded `Launch` through `replay`, so the two cannot disagree.
Only `os`/`sys`-level imports at the top: the fast path execs through this module.
"""

from __future__ import annotations

import sys

from launcher.launch.decision import EXEC, Launch
from launcher.launch.environment import apply_assignments
from launcher.settings import secret_in_block

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import NoReturn

    from launcher.launch.supervise import Reloader, SuperviseOptions


def service_environment(launch: Launch, base: Mapping[str, str]) -> dict[str, str]:
    """The environment the service starts with: `base` without the launcher's settings, plus the launch's."""
    return apply_assignments(base, launch.assignments, override=launch.override, mount_root=launch.mount_root)


def replay(launch: Launch, environ: Mapping[str, str]) -> None:
    """The fast path: write the recorded files, show the recorded warnings, start as recorded.

    Returns (so the full path takes over and reports properly) only if a file cannot be written.
    """
    from launcher.files.private import Escapes, write_without_symlinks

    try:
        for path, content, mode in launch.files:
            # The full path recorded each path with no symlink in it (launcher.launch.mounts): one
            # there now is refused, and the full path, which checks containment, takes over.
            write_without_symlinks(path, content, mode)
    except (OSError, Escapes):
        return
    if launch.warnings and not launch.quiet:
        from launcher.errors import report

        for warning in launch.warnings:
            report("warning", warning)
    start(launch, environ)


def start(
    launch: Launch,
    environ: Mapping[str, str],
    *,
    supervision: SuperviseOptions | None = None,
    reloader: Reloader | None = None,
    holds_credentials: bool = False,
    warn: Callable[[str], None] | None = None,
    debug: Callable[[str], None] | None = None,
) -> NoReturn:
    """Start the service as `launch` says; never returns (exec, or exit with the service's code).

    `holds_credentials`: this process has read a secret of the launcher's own (a token, a password,
    a cache key): it stays resident beside the service only once no other process may read it.
    """
    environment = reloader.current_environment() if reloader is not None else service_environment(launch, environ)
    if launch.mode == EXEC:
        from launcher.launch.service import exec_service

        if debug is not None:
            debug(f"exec {launch.command[0]}")
        exec_service(launch.command, environment)
    import gc

    gc.enable()  # this process stays resident now (launcher.entry turned it off for the launch)
    from launcher.launch.prctl import forbid_inspection
    from launcher.launch.supervise import SuperviseOptions, exit_at_once, supervise, supervise_from_root

    options = supervision or SuperviseOptions(mask_variables=launch.masked_names)
    if debug is not None:
        debug(f"supervise {launch.command[0]}")
    # Before the service exists: from now on no process without CAP_SYS_PTRACE (the service, of the
    # same user, included) may read this one's memory, nor, unless it is root, /proc/PID/environ.
    sealed = forbid_inspection()
    if reloader is not None:  # --watch: the resolver stays at hand (its secrets: launcher.credentials)
        reloader.prepare()  # the env file the service may source exists before the service does
        sys.exit(supervise(launch.command, environment, options, warn=warn, reloader=reloader))
    if secret_in_block(environ) or (holds_credentials and not sealed):
        # A credential of ours is in this process's environment block (which a root service can
        # read even now), or in its memory and this process could not be sealed: a fresh
        # interpreter that never held it, with only the service's environment, supervises instead
        # (one interpreter start more; docs/supervise.md, "What stays resident").
        from launcher.launch.supervisor_main import reexec

        reexec(launch.command, environment, options)
        if debug is not None:
            debug("re-exec into the lean supervisor failed; supervising from this process")
    # Supervising from this process saves starting a second interpreter (docs/supervise.md).
    exit_at_once(supervise_from_root(launch.command, environment, options, warn=warn))
