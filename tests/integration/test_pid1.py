"""Supervise mode as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`).

PID 1 is special: the kernel drops signals it has no handler for, and every orphan of the
namespace becomes its child. These tests run the real launcher there; they need root (or user
namespaces) and are skipped where unshare is refused.
"""

from __future__ import annotations

import signal
import subprocess

import psutil
import pytest

from support.supervision import (
    PROGRAMS,
    PYTHON,
    child_env,
    component_files,
    program,
    ready_pids,
    start,
    stop_all,
    unshare_works,
)

pytestmark = pytest.mark.skipif(not unshare_works(), reason="unshare --pid --fork --mount-proc is not permitted here")
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]
SENT = ["HUP", "INT", "QUIT", "USR1", "USR2", "WINCH", "CONT", "ALRM", "TSTP", "PWR", "RTMIN+3", "TERM"]


@pytest.fixture(autouse=True)
def _no_strays():
    yield
    stop_all()


def test_default_mode_is_supervise_as_pid1_unless_overridden():
    script = "from launcher.launch.modes import default_mode; print(default_mode())"
    run = lambda **extra: subprocess.run(
        [*UNSHARE, PYTHON, "-c", script], env=child_env(**extra), capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (run(), run(CHOREO_RUN_MODE="exec")) == ("supervise", "exec")


@pytest.mark.parametrize("mode, expected", [({}, "2 1"), ({"CHOREO_RUN_MODE": "exec"}, "1 0")])
def test_the_cli_supervises_by_default_as_pid1(tmp_path, mode, expected):
    argv = [*UNSHARE, PYTHON, "-m", "launcher", *component_files(tmp_path), "--", "sh", "-c", "echo $$ $PPID"]
    result = subprocess.run(argv, env=child_env(**mode), cwd=tmp_path, capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, expected)


def test_signals_reach_the_child_through_pid1(tmp_path):
    run = start(tmp_path, pid1=True, command=program("trap.py", *SENT, "--exit-after", str(len(SENT)), "--code", "9"))
    run.expect(r"child ready pid=2 .*")
    for name in SENT:
        signo = signal.SIGRTMIN + 3 if name == "RTMIN+3" else signal.Signals["SIG" + name]
        run.kill(signo)
        run.expect(f"child got {'SIGRTMIN+3' if name == 'RTMIN+3' else 'SIG' + name}")
    assert run.finish() == (9, [])


@pytest.mark.parametrize("mode", ["supervise", "exec"])
def test_clean_signal_state_as_pid1_in_both_modes(tmp_path, mode):
    argv = [
        *UNSHARE,
        PYTHON,
        "-m",
        "launcher",
        *component_files(tmp_path),
        f"--{mode}",
        "--",
        str(PROGRAMS / "sigstate.sh"),
    ]
    result = subprocess.run(
        argv,
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]


@pytest.mark.parametrize(
    "command, expected",
    [
        (["sh", "-c", "exit 0"], 0),
        (["sh", "-c", "exit 42"], 42),
        (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
        (["sh", "-c", "kill -KILL $$"], 128 + signal.SIGKILL),
        (["no-such-command-xyz"], 127),
    ],
)
def test_exit_codes_as_pid1(tmp_path, command, expected):
    assert start(tmp_path, pid1=True, command=command).finish()[0] == expected


def test_pid1_adopts_and_reaps_orphans(tmp_path):
    code, lines = start(tmp_path, pid1=True, command=program("orphans.py", "3")).finish()
    assert code == 0
    assert lines == ["adopted-by=1 parent=1", "reaped"] * 3


def test_pid1_stops_the_whole_tree(tmp_path):
    run = start(
        tmp_path,
        "--grace-period",
        "0.5",
        "--rewrite-signal",
        "TERM:QUIT",
        pid1=True,
        command=program(
            "trap.py",
            "QUIT",
            "--ignore",
            "TERM",
            "--spawn",
            "--name grandchild --ignore QUIT",
            "--orphan",
            "--name orphan --ignore QUIT",
        ),
    )
    ready = sorted(ready_pids(run, 3))
    assert ready == ["child", "grandchild", "orphan"]
    namespace = psutil.Process(run.launcher_pid()).children(recursive=True)
    run.kill(signal.SIGTERM)
    code, rest = run.finish()
    # The child took SIGQUIT (TERM rewritten) and carried on; after the grace period all were killed.
    assert code == 128 + signal.SIGKILL and rest == ["child got SIGQUIT"]
    assert len(namespace) == 3 and not any(process.is_running() for process in namespace)


def test_pid1_stops_leftovers_when_the_child_exits(tmp_path):
    run = start(
        tmp_path,
        pid1=True,
        stdin=subprocess.PIPE,
        command=program("trap.py", "--until-input", "--code", "5", "--orphan", "TERM --name leftover --exit-after 1"),
    )
    assert sorted(ready_pids(run, 2)) == ["child", "leftover"]
    run.process.stdin.close()
    assert run.finish() == (5, ["leftover got SIGTERM"])
