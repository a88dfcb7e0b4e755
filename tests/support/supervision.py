"""Helpers shared by test_supervise.py and test_pid1.py: start the launcher for real, talk to it.

Every wait here is on a pipe or a pty, with a generous deadline that only bounds a failing test.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from support.process import CACHE_HOME

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
REPO = PROGRAMS.parent.parent
PYTHON = sys.executable
DEADLINE = 30.0


def component_files(directory: Path) -> list[str]:
    """A component with no connections and a one-project store: the CLI's minimal identity."""
    (directory / ".choreo").mkdir(parents=True, exist_ok=True)
    (directory / ".choreo" / "component.yaml").write_text("schemaVersion: 1.2\n")
    store = directory / "store.yaml"
    store.write_text("version: 1\nprojects:\n  - name: demo\n    components:\n      - name: svc\n")
    return ["--component-dir", str(directory), "--store", str(store), "--project", "demo", "--component", "svc"]


def launcher_argv(workdir: Path, *options: str, command: list[str], mode: str = "--supervise") -> list[str]:
    """`choreo-run IDENTITY --supervise OPTIONS -- COMMAND` for a component with no connections."""
    return [PYTHON, "-m", "launcher", *component_files(workdir), mode, *options, "--", *command]


def program(name: str, *args: str) -> list[str]:
    return [PYTHON, str(PROGRAMS / name), *args]


def child_env(**extra: str) -> dict[str, str]:
    # Fast-path records go to a throwaway cache home, never the user's ~/.cache.
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", XDG_CACHE_HOME=CACHE_HOME)
    env.update(extra)
    return env


def unshare_works() -> bool:
    try:
        return (
            subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=DEADLINE
            ).returncode
            == 0
        )
    except (OSError, subprocess.SubprocessError):
        return False


class Lines:
    """Reads whole lines from a file descriptor with a deadline, without Python's buffering."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def next(self, timeout: float = DEADLINE) -> str:
        end = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = end - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise TimeoutError(f"no line within {timeout}s; got {self.buffer!r}")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                raise EOFError(f"output closed; got {self.buffer!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def rest(self) -> list[str]:
        """Every remaining line, up to end of file."""
        data = self.buffer
        while chunk := os.read(self.fd, 4096):
            data += chunk
        self.buffer = b""
        return data.decode().splitlines()


@dataclass
class Run:
    """A launcher process (possibly inside `unshare`) with its stdout read line by line."""

    process: subprocess.Popen
    lines: Lines
    pid1: bool

    def launcher_pid(self) -> int:
        """The launcher's pid as seen from here; under unshare it is PID 1 only inside."""
        if not self.pid1:
            return self.process.pid
        return psutil.Process(self.process.pid).children()[0].pid

    def kill(self, signo: int) -> None:
        os.kill(self.launcher_pid(), signo)

    def expect(self, text: str) -> str:
        line = self.lines.next()
        assert line == text or re.fullmatch(text, line), f"expected {text!r}, got {line!r}"
        return line

    def finish(self) -> tuple[int, list[str]]:
        rest = self.lines.rest()
        return self.process.wait(timeout=DEADLINE), rest


def ready_pids(run: Run, count: int) -> dict[str, int]:
    """{name: pid} from the first `count` `NAME ready pid=N ...` lines of tests/programs/trap.py;
    any other line is a failure worth seeing (the trap programs write each line in one write, so the
    lines of several of them never interleave)."""
    pids: dict[str, int] = {}
    while len(pids) < count:
        line = run.lines.next()
        match = re.match(r"(\S+) ready pid=(\d+)", line)
        assert match, f"expected a ready line, got {line!r}"
        pids[match[1]] = int(match[2])
    return pids


_started: list[subprocess.Popen] = []


def stop_all() -> None:
    """Kill what a failed test left running (call from an autouse fixture)."""
    while _started:
        process = _started.pop()
        if process.poll() is None:
            try:
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
                process.kill()
            except (psutil.Error, ProcessLookupError):
                pass
            process.wait()


def start(
    workdir: Path,
    *options: str,
    command: list[str],
    pid1: bool = False,
    env: dict[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
    **popen,
) -> Run:
    argv = launcher_argv(workdir, *options, command=command)
    if pid1:
        argv = ["unshare", "--pid", "--fork", "--mount-proc", *argv]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=stdin, env=env or child_env(), cwd=workdir, **popen)
    _started.append(process)
    return Run(process, Lines(process.stdout.fileno()), pid1)


class Terminal:
    """A real pseudo-terminal with a program as its session leader (usually an interactive bash)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.seen = pid, fd, ""

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def expect(self, pattern: str, timeout: float = DEADLINE) -> re.Match:
        """Wait for pattern in the output; consume the output up to the end of the match."""
        end = time.monotonic() + timeout
        while not (match := re.search(pattern, self.seen)):
            remaining = end - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise TimeoutError(f"{pattern!r} not seen within {timeout}s; output: {self.seen!r}")
            try:
                self.seen += os.read(self.fd, 4096).decode(errors="replace")
            except OSError as error:
                raise EOFError(f"terminal closed; output: {self.seen!r}") from error
        self.seen = self.seen[match.end() :]
        return match

    def resize(self, rows: int, columns: int) -> None:
        """Like a terminal emulator: the kernel sends SIGWINCH to the foreground process group."""
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)
