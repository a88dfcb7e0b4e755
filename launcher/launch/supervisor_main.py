"""A lean supervisor: after resolving, the launcher re-executes itself into a fresh interpreter that
imports only what supervising needs, so the process that stays resident for the service's whole
life does not carry click, pyyaml, httpx or the resolver (docs/performance.md: resident memory).

The resolved environment is handed over as the new process's own environment (it is exactly what
the service receives) and the supervise options on its command line (no values there). Every
signal the supervisor handles is blocked *before* the re-exec: the mask survives execve, so a
signal that arrives in between stays pending and is forwarded once the service runs.
"""

from __future__ import annotations

import _signal  # the C module: `signal.py` would import `enum` into the resident supervisor
import os
import sys

from launcher.launch.prctl import forbid_inspection
from launcher.launch.supervise import WAITED, SuperviseOptions, exit_at_once, supervise_from_root

# Runs in the new interpreter: `-I` keeps the service's PYTHON* variables (meant for the service,
# and now in our environment) from changing how the supervisor itself starts, and `-S` skips `site`
# (a few milliseconds of every supervised start). The directories it imports from are handed over
# instead, counted in sys.argv[1]: the launcher's own, and the installation's site-packages (psutil).
_BOOT = (
    "import sys; n = int(sys.argv[1]); sys.path[0:0] = sys.argv[2 : 2 + n]; "
    "from launcher.launch.supervisor_main import main; main(sys.argv[2 + n :])"
)


def import_paths() -> list[str]:
    """Where the supervisor imports from: this package's parent, then every site-packages directory
    this interpreter uses (never PYTHONPATH's entries: they were meant for the service)."""
    package_parent = os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )  # launcher/launch/ -> site
    sites = [path for path in sys.path if os.path.basename(path) in ("site-packages", "dist-packages")]
    return [package_parent, *(path for path in sites if path != package_parent)]


def reexec(argv: list[str], environment: dict[str, str], options: SuperviseOptions) -> None:
    """Become the lean supervisor of argv; returns only if the re-exec itself failed."""
    paths = import_paths()
    command = [sys.executable, "-I", "-S", "-c", _BOOT, str(len(paths)), *paths, *encode(options), "--", *argv]
    if getattr(sys, "frozen", False):
        # A bundle (bundle/build): sys.executable is the bundle's own binary, which takes no `-I -c`;
        # its hidden entry mode (launcher.entry) calls main() below. The bundled interpreter ignores
        # PYTHON* variables whatever they are, as `-I` does here (bundle/choreo-run.spec).
        from launcher.entry import FROZEN_SUPERVISOR

        command = [sys.executable, FROZEN_SUPERVISOR, *encode(options), "--", *argv]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    previous = _signal.pthread_sigmask(_signal.SIG_BLOCK, WAITED)
    try:
        os.execve(sys.executable, command, environment)
    except OSError:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, previous)


def encode(options: SuperviseOptions) -> list[str]:
    rewrites = ",".join(f"{source}:{target}" for source, target in sorted(options.rewrites.items()))
    return [
        f"--group={int(options.forward_to_group)}",
        f"--stop={options.stop_signal}",
        f"--grace={options.grace_period!r}",
        f"--keep={int(options.keep_descendants)}",
        f"--rewrites={rewrites}",
        f"--mask={','.join(options.mask_variables)}",
    ]  # variable names only, never values


def decode(arguments: list[str]) -> SuperviseOptions:
    values = dict(argument[2:].split("=", 1) for argument in arguments)
    rewrites: dict[int, int] = {}
    for rule in filter(None, values["rewrites"].split(",")):
        source, target = rule.split(":")
        rewrites[int(source)] = int(target)
    return SuperviseOptions(
        forward_to_group=values["group"] == "1",
        stop_signal=int(values["stop"]),
        keep_descendants=values["keep"] == "1",
        rewrites=rewrites,
        grace_period=float(values["grace"]),
        mask_variables=tuple(name for name in values["mask"].split(",") if name),
    )


def main(arguments: list[str]) -> None:
    """Entry point in the re-executed interpreter: options, `--`, the service's command."""
    from launcher.errors import LauncherError, report

    split = arguments.index("--")
    options, argv = decode(arguments[:split]), arguments[split + 1 :]

    def warn(message: str) -> None:
        report("warning", message)

    forbid_inspection()  # as every supervisor: never dumped, never read by the service (launcher.launch.start)
    try:
        code = supervise_from_root(argv, dict(os.environ), options, warn=warn)
    except LauncherError as error:
        for problem in error.problems:
            report("error", str(problem))
        code = error.exit_code
    exit_at_once(code)
