"""The `choreo-run` command's entry point: the start-up fast path first, the full CLI otherwise.

Kept tiny on purpose: everything imported here is paid by every launch.
"""

from __future__ import annotations

import gc
import sys

# A self-contained bundle (bundle/build, docs/bundle.md) is one binary that takes no interpreter
# options, so re-executing `sys.executable -I -c ...` cannot reach the lean supervisor there. Its
# re-exec passes this first argument instead, which only a frozen launcher honours (no user command
# line can turn it on in an installed one).
FROZEN_SUPERVISOR = "--choreo-run-internal-supervisor"


def main() -> None:
    if getattr(sys, "frozen", False):
        forget_the_bundles_loader_settings()
        if sys.argv[1:2] == [FROZEN_SUPERVISOR]:
            from launcher.launch.supervisor_main import main as supervisor

            supervisor(sys.argv[2:])  # exits with the service's status
            return
    # A launch lives tens of milliseconds and then execs: the cyclic garbage collector, which only
    # finds reference cycles (a launch makes next to none), would walk every object the imports and
    # the resolution made, again and again: ~3 ms of each launch, ~7 ms with 1,000 connections
    # (docs/performance.md). Every process that stays turns it back on: a supervisor
    # (launcher.launch.start), a --watch launcher and every other command (launcher.cli.main).
    gc.disable()
    from launcher.launch.fastpath import try_fast_launch

    try_fast_launch(sys.argv[1:])  # execs when a recorded launch is still valid; returns otherwise
    from launcher.cli.main import main as full_main

    full_main()


def forget_the_bundles_loader_settings() -> None:
    """Take back what the bundle's bootloader (PyInstaller's) put into our environment.

    It restarts itself once with LD_LIBRARY_PATH pointing at the bundle's own libraries and a few
    _PYI_* markers. The dynamic loader has read LD_LIBRARY_PATH by now (it is read at start-up), so
    the bundle keeps its libraries; but the service must not load them instead of its own, nor see
    the markers: the variables are put back as they were before the bundle started (and a re-exec
    of the bundle, by the lean supervisor or --watch, starts afresh).
    """
    import os

    environ = os.environ
    for name in [name for name in environ if name.startswith("_PYI_")]:
        del environ[name]
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is None:
        environ.pop("LD_LIBRARY_PATH", None)
    else:
        environ["LD_LIBRARY_PATH"] = original


if __name__ == "__main__":
    main()
