"""The cyclic garbage collector is off while a launch runs (launcher.entry: it would walk every
object the launch made, again and again) and on in every process that stays: a supervisor, and
every command other than a launch. Observed at the moment each one hands over, in a real process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.process import EXAMPLE, clean_environment

# Replaces the hand-over point named in argv[1] by a report of the collector's state, then runs the
# real entry point with the rest of argv as the command line.
PROBE = """
import gc, os, sys
import launcher.cli.commands as commands
import launcher.launch.supervise as supervise
where = sys.argv.pop(1)
def report(*args, **kwargs):
    print("collector", "on" if gc.isenabled() else "off", flush=True)
    os._exit(0)
if where == "exec":
    os.execve = report
elif where == "supervise":
    supervise.supervise_from_root = report
else:
    commands.invoke = report
sys.argv[0] = "choreo-run"
from launcher.entry import main
main()
"""

LAUNCH = ["-C", str(EXAMPLE), "-p", "bookstore", "-c", "orders-service"]


@pytest.mark.parametrize(
    ("where", "arguments", "state"),
    [
        ("exec", [*LAUNCH, "--exec", "--", "true"], "off"),
        ("supervise", [*LAUNCH, "--supervise", "--", "true"], "on"),
        ("command", ["check", *LAUNCH], "on"),
    ],
)
def test_the_collector_is_off_only_while_a_launch_runs(tmp_path, where: str, arguments: list[str], state: str) -> None:
    argv = [sys.executable, "-c", PROBE, where, *arguments[:-2], "--mount-root", str(tmp_path), *arguments[-2:]]
    if where == "command":
        argv = [sys.executable, "-c", PROBE, where, *arguments]
    result = subprocess.run(
        argv, env=clean_environment({"CHOREO_RUN_FAST": "0"}), capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == f"collector {state}", result.stderr
