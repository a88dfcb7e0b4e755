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


def default_mode(environ: dict[str, str] | os._Environ | None = None) -> str:
    """mode_from, with an invalid CHOREO_RUN_MODE as a usage error (exit 64)."""
    environ = os.environ if environ is None else environ
    mode = mode_from(environ)
    if mode is None:
        from launcher.errors import UsageError  # only on this error path: the fast path stays light

        raise UsageError(
            f"invalid {MODE_VARIABLE} '{environ.get(MODE_VARIABLE, '').strip().lower()}': expected exec or supervise"
        )
    return mode
