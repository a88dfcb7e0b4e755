"""The process that stays resident in supervise mode gives nothing of the launcher's away.

The launcher supervises from its own process, made non-dumpable first, so that the service (the
same user, or root, without CAP_SYS_PTRACE) cannot read its memory. A launcher with a secret setting
in its environment block (which root may still read), or holding a credential where it cannot make
itself non-dumpable, re-executes itself into launcher.launch.supervisor_main, a fresh interpreter
that never read it and does not carry the resolver's libraries; that handover must not lose the
service's environment, exit code or a signal sent during the re-exec. Either way the supervisor
leaves the working directory.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

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


#: How a launch comes to hold a credential of the launcher's own (the local store needs none, so each
#: is read and ignored): none, a secret setting in the environment, a token read from a file.
CREDENTIALS = {
    "none": ([], {}),
    "token variable": ([], {"CHOREO_RUN_TOKEN": "launcher-token-6c1d"}),
    "token file": (["--token-file", "{token_file}"], {}),
}


#: The adversary of docs/security.md: the service, as the launcher's user but without CAP_SYS_PTRACE
#: (what a non-root user, or root in a default container, is). The tests run as root.
WITHOUT_PTRACE = ["setpriv", "--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace"]
#: The launcher as `python -m launcher`, but unable to make itself non-dumpable (prctl refused).
UNSEALABLE = [
    "-c",
    "import sys; import launcher.launch.prctl as p; p.forbid_inspection = lambda: False; "
    "sys.argv[0] = 'choreo-run'; from launcher.entry import main; main()",
]


def start_supervised(
    tmp_path: Path,
    child: str,
    credential: str,
    *,
    prefix: tuple[str, ...] = (),
    entry: tuple[str, ...] = (),
    **popen: Any,
) -> subprocess.Popen[str]:
    token_file = tmp_path / "token"
    token_file.write_text("launcher-token-6c1d\n")
    extra, variables = CREDENTIALS[credential]
    options = [part.format(token_file=token_file) for part in extra]
    command = ["-C", str(EXAMPLE), "--mount-root", str(tmp_path / "m"), *options, "--supervise", "--"]
    return subprocess.Popen(
        [*prefix, sys.executable, *(entry or ("-m", "launcher")), *command, sys.executable, "-c", child],
        env={**clean_environment(), **variables},
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@contextmanager
def supervised(tmp_path: Path, child: str, credential: str, **options: Any) -> Iterator[subprocess.Popen[str]]:
    """start_supervised, and the launcher (with its service) killed if a failed test left it running."""
    launcher = start_supervised(tmp_path, child, credential, **options)
    try:
        yield launcher
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def wait_for(path: Path, launcher: subprocess.Popen[str], marker: str = "") -> str:
    deadline = time.monotonic() + 30
    while not path.exists() or not path.read_text() or marker not in path.read_text():
        assert launcher.poll() is None and time.monotonic() < deadline, launcher.stderr
        time.sleep(0.02)
    return path.read_text()


@pytest.mark.parametrize("credential", ["none", "token file"])
def test_the_supervisor_cannot_be_read_by_its_service(tmp_path: Path, credential: str) -> None:
    """Supervising from the launcher's own process, a token read from a file or none: the service
    (here root without CAP_SYS_PTRACE) cannot read its parent's memory, and what it may read of its
    environment block (root may; another user may not) holds no secret of the launcher's."""
    report = tmp_path / "report"
    child = textwrap.dedent(f"""
        import os, pathlib, time
        seen = []
        for name in ("environ", "mem"):
            try:
                with open(f"/proc/{{os.getppid()}}/{{name}}", "rb") as handle:
                    text = handle.read(1 << 20) if name == "environ" else handle.read(1)
                seen.append(name + (" with the token" if b"launcher-token-6c1d" in text else " readable"))
            except PermissionError:
                seen.append(name + " refused")
            except OSError as error:  # mem at offset 0 is not mapped: opening it was allowed
                seen.append(name + " opened " + type(error).__name__)
        seen.append(os.environ["DATABASE_PASSWORD"])
        seen.append(str("CHOREO_RUN_TOKEN" in os.environ))
        pathlib.Path({str(report)!r}).write_text("|".join(seen))
        time.sleep(30)
    """)
    with supervised(tmp_path, child, credential, prefix=tuple(WITHOUT_PTRACE)) as launcher:
        environ, mem, password, token_passed = wait_for(report, launcher, "|").split("|")
        assert environ in ("environ readable", "environ refused")  # never "with the token"
        assert mem == "mem refused"
        assert (password, token_passed) == ("dev-db-password-3b8f", "False")
        command_line = Path(f"/proc/{launcher.pid}/cmdline").read_text().split("\0")
        assert command_line[1:3] == ["-m", "launcher"]  # no second interpreter: this process supervises
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM


@pytest.mark.parametrize(
    ("credential", "entry"),
    [
        ("token variable", ()),  # the token is in the environment block: only a new block drops it
        ("token file", tuple(UNSEALABLE)),  # the token is only in memory, but nothing can seal it
    ],
)
def test_a_credential_the_launcher_cannot_keep_from_the_service_goes_with_a_lean_re_exec(
    tmp_path: Path, credential: str, entry: tuple[str, ...]
) -> None:
    ready = tmp_path / "ready"
    child = (
        f"import os, pathlib, time; pathlib.Path({str(ready)!r}).write_text(os.environ['DATABASE_PASSWORD']); "
        "time.sleep(30)"
    )
    with supervised(tmp_path, child, credential, entry=entry) as launcher:
        assert wait_for(ready, launcher) == "dev-db-password-3b8f"  # the environment survived the handover
        assert "supervisor_main" in Path(f"/proc/{launcher.pid}/cmdline").read_text()
        mapped = Path(f"/proc/{launcher.pid}/maps").read_text()
        for library in ("_yaml", "_cffi_backend", "_ssl", "psutil"):
            assert library not in mapped, f"{library} is loaded in the resident supervisor"
        # Nothing of the launcher's own stays resident: not in the environment block, not in memory
        # (the lean interpreter never read it).
        assert b"launcher-token-6c1d" not in Path(f"/proc/{launcher.pid}/environ").read_bytes()
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM


def test_a_launcher_holding_no_credential_supervises_from_its_own_process(tmp_path: Path) -> None:
    """No second interpreter when the launcher holds nothing the service could not read itself."""
    ready = tmp_path / "ready"
    child = (
        f"import os, pathlib, time; pathlib.Path({str(ready)!r}).write_text(os.environ['DATABASE_PASSWORD']); "
        "time.sleep(30)"
    )
    with supervised(tmp_path, child, "none") as launcher:
        assert wait_for(ready, launcher) == "dev-db-password-3b8f"
        command_line = Path(f"/proc/{launcher.pid}/cmdline").read_text().split("\0")
        assert command_line[1:3] == ["-m", "launcher"] and "supervisor_main" not in "".join(command_line)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=30) == 128 + signal.SIGTERM


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


@pytest.mark.parametrize("credential", ["none", "token variable"])
def test_the_resident_supervisor_leaves_the_working_directory_but_the_service_does_not(
    tmp_path: Path, credential: str
) -> None:
    """A supervisor living as long as the service must not hold a mount busy; the service runs where asked."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    report = tmp_path / "report"
    child = (
        f"import os, pathlib, time; pathlib.Path({str(report)!r}).write_text("
        "os.getcwd() + '|' + os.readlink(f'/proc/{os.getppid()}/cwd')); time.sleep(30)"
    )
    launcher = start_supervised(tmp_path, child, credential, cwd=workdir)
    try:
        service_cwd, supervisor_cwd = wait_for(report, launcher, "|").split("|")
        assert (service_cwd, supervisor_cwd) == (str(workdir), "/")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.communicate(timeout=30)
