"""Exec mode: replace the launcher with the service, as `env` does (126/127 on failure)."""

from __future__ import annotations

import errno
import os
import sys
from typing import NoReturn

from launcher.launch.cleanexec import reset_signals_for_exec
from launcher.launch.sigstate import exec_error


def exec_command(argv: list[str], environment: dict[str, str]) -> NoReturn:
    """execvpe `argv` with `environment`; raise CommandNotFound/CommandNotExecutable if it cannot start."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    reset_signals_for_exec()
    try:
        os.execvpe(argv[0], argv, environment)
    except OSError as error:
        raise exec_error(argv[0], error.errno or errno.EIO) from None
