"""Exec or supervise: the one rule, shared by the CLI and the start-up fast path (imports only os)."""

from __future__ import annotations

import os

MODE_VARIABLE = "CHOREO_RUN_MODE"
MODES = ("exec", "supervise")


def mode_from(environ: dict[str, str] | os._Environ) -> str | None:
    """CHOREO_RUN_MODE when set, else supervise as PID 1 (an init's duties fall on us), else exec.

    None when CHOREO_RUN_MODE holds something else (the CLI turns that into a usage error).
    """
    chosen = environ.get(MODE_VARIABLE, "").strip().lower()
    if chosen:
        return chosen if chosen in MODES else None
    return "supervise" if os.getpid() == 1 else "exec"
