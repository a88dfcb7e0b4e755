"""Starting the service: the only two ways a service process comes to life.

* `exec_service`: the launcher becomes the service (exec mode and the start-up fast path), as `env`
  does, with exit codes 127 (not found) and 126 (cannot run) when it cannot.
* `ServiceStarter`: supervise mode forks the service, the first time and on every `--watch`
  restart, through the same code, so a restart keeps every property of the first start: a clean
  signal state, its own process group, the terminal handed over, the output masked.

Both start the service with the signal state of a fresh shell child (launcher.launch.cleanexec).
This module imports only `os` and `sys` at the top: the fast path execs through it.
"""

from __future__ import annotations

import os
import sys

from launcher.launch.cleanexec import exec_failure, execvpe, reset_signals_for_exec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NoReturn

    from launcher.launch.masking import MaskedOutputs


def exec_service(argv: list[str], environment: dict[str, str]) -> NoReturn:
    """execvpe `argv`; on failure, one line on stderr and exit 127 or 126 (nothing to clean up)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    reset_signals_for_exec()
    try:
        execvpe(argv[0], argv, environment)  # the one PATH search, shared with supervise's fork
    except OSError as error:
        code, message = exec_failure(argv[0], error.errno or 22)
    except ValueError:  # a NUL character: the resolver refuses values holding one, so never a record's
        code, message = 126, f"cannot run '{argv[0]}': an argument or variable contains a NUL character"
    from launcher.errors import report  # only on this error path: the fast path stays light

    report("error", message)
    os._exit(code)


class ServiceStarter:
    """Forks the service for supervise mode; `start` is called once per life of the service."""

    def __init__(
        self, argv: list[str], terminal_fd: int | None, mask_variables: tuple[str, ...], cwd: str | None = None
    ) -> None:
        self.argv = argv
        self.cwd = cwd  # where the service starts, when the supervisor has left it (None: ours)
        self.terminal_fd = terminal_fd  # the terminal the service takes the foreground of, if ours
        self.mask_variables = mask_variables  # names only; each start masks that start's values
        self.outputs: MaskedOutputs | None = None

    def start(self, environment: Mapping[str, str]) -> int:
        """Start the service with `environment`; return its pid (also its process group id).

        Raises CommandNotFound or CommandNotExecutable when it cannot start.
        """
        from launcher.launch.sigstate import spawn

        self.finish()  # the previous life's output pumps drain first
        secrets = [environment[name] for name in self.mask_variables if environment.get(name)]
        if not secrets:  # nothing to mask: the service writes to our stdout and stderr itself
            return spawn(self.argv, environment, self.terminal_fd, (None, None), self.cwd)
        from launcher.launch.masking import MaskedOutputs  # only with --mask-output: it costs the supervisor `re`

        outputs = MaskedOutputs(secrets)
        self.outputs = outputs
        pid = spawn(self.argv, environment, self.terminal_fd, outputs.service_ends(), self.cwd)
        outputs.start()
        return pid

    def finish(self) -> None:
        """The service is gone (or never started): let the output pumps drain and stop."""
        if self.outputs is not None:
            self.outputs.close_service_ends()
            self.outputs.join()
            self.outputs = None
