"""The process that stays resident in supervise mode is a fresh, lean interpreter.

After resolving, the launcher re-executes itself into launcher.launch.supervisor_main; the resident
process must not carry the resolver's libraries (yaml, click, httpx), and the handover must not
lose the service's environment, exit code or a signal sent during the re-exec.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from launcher.launch.supervise import SuperviseOptions
from launcher.launch.supervisor_main import decode, encode
from support.process import EXAMPLE, clean_environment


def test_options_survive_the_command_line_round_trip() -> None:
    options = SuperviseOptions(
        forward_to_group=True,
        stop_signal=signal.SIGQUIT,
        rewrites={signal.SIGTERM: signal.SIGQUIT, signal.SIGINT: signal.SIGUSR1},
        grace_period=2.5,
    )
    assert decode(encode(options)) == options
    assert decode(encode(SuperviseOptions())) == SuperviseOptions()


def test_the_resident_supervisor_does_not_carry_the_resolver(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = (
        f"import os, pathlib, time; pathlib.Path({str(ready)!r}).write_text(os.environ['DATABASE_PASSWORD']); "
        "time.sleep(30)"
    )
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "launcher",
            "-C",
            str(EXAMPLE),
            "--mount-root",
            str(tmp_path / "m"),
            "--supervise",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        env=clean_environment(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, launcher.stderr
            time.sleep(0.02)
        assert ready.read_text() == "dev-db-password-3b8f"  # the environment survived the handover
        mapped = Path(f"/proc/{launcher.pid}/maps").read_text()
        assert "supervisor_main" in Path(f"/proc/{launcher.pid}/cmdline").read_text()
        for library in ("_yaml", "_cffi_backend", "_ssl", "psutil"):
            assert library not in mapped, f"{library} is loaded in the resident supervisor"
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_a_signal_pending_across_the_re_exec_reaches_the_service() -> None:
    # A signal that arrives between resolving and the service's start is blocked, stays pending
    # across execve into the lean supervisor, and is forwarded once the service runs.
    # (Sent by another process, as in life: a signal from our own PID is taken as our own doing.)
    script = (
        "import os, signal, subprocess, sys; from launcher.launch.supervisor_main import reexec; "
        "from launcher.launch.supervise import SuperviseOptions; "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1}); "
        "subprocess.run(['kill', '-USR1', str(os.getpid())], check=True); "
        "reexec(['sleep', '20'], dict(os.environ), SuperviseOptions()); sys.exit(99)"
    )
    result = subprocess.run([sys.executable, "-c", script], env=clean_environment(), timeout=60)
    assert result.returncode == 128 + signal.SIGUSR1


def test_the_resident_supervisor_leaves_the_working_directory_but_the_service_does_not(tmp_path: Path) -> None:
    """A supervisor living as long as the service must not hold a mount busy; the service runs where asked."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    report = tmp_path / "report"
    child = (
        f"import os, pathlib, time; pathlib.Path({str(report)!r}).write_text("
        "os.getcwd() + '|' + os.readlink(f'/proc/{os.getppid()}/cwd')); time.sleep(30)"
    )
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "launcher",
            "-C",
            str(EXAMPLE),
            "--mount-root",
            str(tmp_path / "m"),
            "--supervise",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        cwd=workdir,
        env=clean_environment(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not report.exists() or "|" not in report.read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, launcher.stderr
            time.sleep(0.02)
        service_cwd, supervisor_cwd = report.read_text().split("|")
        assert (service_cwd, supervisor_cwd) == (str(workdir), "/")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.communicate(timeout=30)
