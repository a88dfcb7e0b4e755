"""Supervise mode as a normal process (not PID 1): real launcher processes, real signals.

PID 1 behaviour is in test_pid1.py; the helpers are in programs/support.py.
"""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import pytest

from launcher.errors import CommandNotExecutable, CommandNotFound, UsageError
from launcher.launch.modes import default_mode
from launcher.launch.sigstate import parse_rewrite, parse_signal
from launcher.launch.supervise import FORWARDED, SuperviseOptions, supervise
from support.supervision import PROGRAMS as PROGRAM_DIR
from support.supervision import PYTHON, Terminal, child_env, launcher_argv, program, ready_pids, start, stop_all

# What a user would send a service; TSTP/TTIN/TTOU are trapped by the child, so it does not stop.
SENT = [
    "HUP",
    "INT",
    "QUIT",
    "USR1",
    "USR2",
    "WINCH",
    "CONT",
    "ALRM",
    "PIPE",
    "URG",
    "TSTP",
    "TTIN",
    "TTOU",
    "PWR",
    "SIGRTMIN+1",
    "TERM",
]


@pytest.fixture(autouse=True)
def _no_strays():
    yield
    stop_all()


# --- parsing and options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TERM", signal.SIGTERM),
        ("SIGTERM", signal.SIGTERM),
        ("15", signal.SIGTERM),
        ("sigquit", signal.SIGQUIT),
        (" HUP ", signal.SIGHUP),
        ("SIGRTMIN", signal.SIGRTMIN),
        ("RTMIN+2", signal.SIGRTMIN + 2),
        ("SIGRTMAX-1", signal.SIGRTMAX - 1),
    ],
)
def test_parse_signal(text, expected):
    assert parse_signal(text) == expected


@pytest.mark.parametrize(
    "text", ["", "TERMINATE", "0", "9", "KILL", "SIGSTOP", "65", "-1", "15x", "RTMIN+99", "RTMIN-1"]
)
def test_parse_signal_refuses_what_cannot_be_forwarded(text):
    with pytest.raises(UsageError, match="invalid signal"):
        parse_signal(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SIGTERM:SIGQUIT", (signal.SIGTERM, signal.SIGQUIT)),
        ("15:3", (15, 3)),
        ("INT:TERM", (2, 15)),
    ],
)
def test_parse_rewrite(text, expected):
    assert parse_rewrite(text) == expected


@pytest.mark.parametrize("text", ["SIGTERM", "SIGTERM:", ":QUIT", "TERM:NOPE", "TERM-QUIT"])
def test_parse_rewrite_refuses_malformed_rules(text):
    with pytest.raises(UsageError, match="invalid signal"):
        parse_rewrite(text)


def test_runtime_noise_and_faults_are_not_forwarded():
    assert signal.SIGCHLD not in FORWARDED and signal.SIGSEGV not in FORWARDED
    assert {signal.SIGTERM, signal.SIGWINCH, signal.SIGCONT, signal.SIGRTMAX} <= FORWARDED


@pytest.mark.parametrize(
    "kwargs", [{"grace_period": -1}, {"stop_signal": signal.SIGCHLD}, {"rewrites": {signal.SIGKILL: signal.SIGTERM}}]
)
def test_options_refuse_nonsense(kwargs):
    with pytest.raises(UsageError):
        SuperviseOptions(**kwargs)


def test_options_are_frozen_and_hold_no_environment():
    options = SuperviseOptions(rewrites={signal.SIGTERM: signal.SIGQUIT})
    with pytest.raises(AttributeError):
        options.grace_period = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.rewrites[signal.SIGINT] = signal.SIGTERM  # type: ignore[index]
    assert "env" not in repr(options).lower()


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, "exec"),
        ({"CHOREO_RUN_MODE": "supervise"}, "supervise"),
        ({"CHOREO_RUN_MODE": "EXEC"}, "exec"),
    ],
)
def test_default_mode_outside_pid1(environ, expected):
    assert default_mode(environ) == expected


def test_default_mode_refuses_unknown_values():
    with pytest.raises(UsageError, match="CHOREO_RUN_MODE"):
        default_mode({"CHOREO_RUN_MODE": "daemon"})


# --- starting: environment, clean signal state, errors ----------------------------------------


def test_child_gets_the_environment_and_the_launcher_stays_its_parent(tmp_path):
    command = [PYTHON, "-c", "import os; print(os.environ['GREETING'], os.getppid())"]
    run = start(tmp_path, command=command, env=child_env(GREETING="hello"))
    greeting, parent = run.lines.next().split()
    assert run.finish()[0] == 0
    assert greeting == "hello" and int(parent) == run.process.pid


def _dirty_signal_state():
    """What a careless parent hands down: an ignored SIGHUP and a blocked SIGUSR2."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})


def test_supervised_child_starts_with_default_dispositions_and_empty_mask(tmp_path):
    run = start(tmp_path, command=[str(PROGRAM_DIR / "sigstate.sh")], preexec_fn=_dirty_signal_state)
    code, lines = run.finish()
    assert code == 0
    assert lines == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]


def test_exec_path_resets_what_python_and_the_parent_left_behind():
    script = (
        "import os, signal, sys; from launcher.launch.sigstate import reset_signals_for_exec; "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT}); "
        "reset_signals_for_exec(); os.execv(sys.argv[1], sys.argv[1:])"
    )
    result = subprocess.run(
        [PYTHON, "-c", script, str(PROGRAM_DIR / "sigstate.sh")],
        env=child_env(),
        capture_output=True,
        text=True,
        preexec_fn=_dirty_signal_state,
        check=True,
    )
    assert result.stdout.splitlines() == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]


@pytest.mark.parametrize("mode", ["--supervise", "--exec"])
def test_cli_starts_the_service_clean_in_both_modes(tmp_path, mode):
    argv = launcher_argv(tmp_path, command=[str(PROGRAM_DIR / "sigstate.sh")], mode=mode)
    result = subprocess.run(
        argv, cwd=tmp_path, env=child_env(), capture_output=True, text=True, preexec_fn=_dirty_signal_state
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"]


@pytest.mark.parametrize("code", [0, 1, 3, 42, 126, 255])
def test_exit_code_passes_through(tmp_path, code):
    assert start(tmp_path, command=["sh", "-c", f"exit {code}"]).finish()[0] == code


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGUSR1])
def test_death_by_signal_gives_128_plus_n(tmp_path, signo):
    run = start(tmp_path, command=["sh", "-c", f"kill -{int(signo)} $$"])
    assert run.finish()[0] == 128 + signo


@pytest.mark.parametrize(
    "command, error, code, message",
    [
        (["no-such-command-xyz"], CommandNotFound, 127, "cannot run 'no-such-command-xyz': command not found"),
        (["{tmp}/plain.txt"], CommandNotExecutable, 126, "cannot run '{tmp}/plain.txt': permission denied"),
        (["{tmp}"], CommandNotExecutable, 126, "cannot run '{tmp}': permission denied"),
    ],
)
def test_commands_that_cannot_start(tmp_path, command, error, code, message):
    (tmp_path / "plain.txt").write_text("not a program\n")
    command = [part.format(tmp=tmp_path) for part in command]
    message = message.format(tmp=tmp_path)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    with pytest.raises(error) as raised:
        supervise(command, {"PATH": os.defpath, "API_TOKEN": "s3cr3t-value"}, SuperviseOptions())
    assert str(raised.value) == message and raised.value.exit_code == code
    assert "s3cr3t-value" not in repr(raised.value)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == before  # the caller's mask is restored


def test_command_not_found_through_the_launcher(tmp_path):
    result = subprocess.run(
        launcher_argv(tmp_path, command=["no-such-command-xyz"]),
        cwd=tmp_path,
        env=child_env(API_TOKEN="s3cr3t-value"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 127
    assert "cannot run 'no-such-command-xyz': command not found" in result.stderr
    assert "s3cr3t-value" not in result.stderr + result.stdout


def test_signal_arriving_while_the_child_starts_is_delivered_once_it_runs():
    # Another process signals the launcher before supervise() has even started the child; the signal
    # waits, pending, and reaches the child once it runs.
    script = (
        "import os, signal, subprocess, sys; from launcher.launch.supervise import supervise, SuperviseOptions; "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1}); "
        "subprocess.run(['kill', '-USR1', str(os.getpid())], check=True); "
        "sys.exit(supervise(sys.argv[1:], dict(os.environ), SuperviseOptions()))"
    )
    result = subprocess.run([PYTHON, "-c", script, "sleep", "20"], env=child_env(), timeout=60)
    assert result.returncode == 128 + signal.SIGUSR1


# --- forwarding -------------------------------------------------------------------------------


def test_signals_are_forwarded_to_the_child(tmp_path):
    run = start(tmp_path, command=program("trap.py", *SENT, "--exit-after", str(len(SENT)), "--code", "9"))
    run.expect(r"child ready .*")
    for name in SENT:
        run.kill(parse_signal(name))
        run.expect(f"child got {_name(name)}")
    assert run.finish() == (9, [])


FAULTS = ["SEGV", "BUS", "FPE", "ILL", "TRAP", "SYS", "ABRT"]


def test_fault_signals_sent_with_kill_are_forwarded_not_fatal(tmp_path):
    """`kill -SEGV <launcher>` is a request for the service; dying of it would orphan the service."""
    run = start(tmp_path, command=program("trap.py", *FAULTS, "--exit-after", str(len(FAULTS)), "--code", "3"))
    run.expect(r"child ready .*")
    for name in FAULTS:
        run.kill(parse_signal(name))
        run.expect(f"child got SIG{name}")
    assert run.finish() == (3, [])


def test_runtime_noise_is_not_forwarded(tmp_path):
    run = start(tmp_path, command=program("trap.py", "CHLD", "SIGRTMIN+5", "--exit-after", "1"))
    run.expect(r"child ready .*")
    run.kill(signal.SIGCHLD)
    run.kill(signal.SIGRTMIN + 5)  # lower signals are taken first: a forwarded SIGCHLD would come first
    run.expect("child got SIGRTMIN+5")
    assert run.finish() == (0, [])


@pytest.mark.parametrize("group, grandchild_sees", [(False, ["SIGTERM"]), (True, ["SIGUSR1", "SIGTERM"])])
def test_forward_to_child_or_its_whole_group(tmp_path, group, grandchild_sees):
    grandchild = "USR1 TERM --name grandchild --exit-after 1 --code 0"
    if group:
        grandchild = grandchild.replace("--exit-after 1", "--exit-after 2")
    options = ["--signal-group"] if group else []
    run = start(
        tmp_path,
        *options,
        command=program("trap.py", "USR1", "--until-input", "--code", "4", "--spawn", grandchild),
        stdin=subprocess.PIPE,
    )
    ready = sorted(ready_pids(run, 2))
    assert ready == ["child", "grandchild"]
    run.kill(signal.SIGUSR1)
    run.expect("child got SIGUSR1") if not group else None
    lines = [] if not group else sorted([run.lines.next(), run.lines.next()])
    run.process.stdin.close()  # the child exits 4; the grandchild is a leftover and gets SIGTERM
    code, rest = run.finish()
    seen = [line.split()[-1] for line in lines + rest if line.startswith("grandchild got")]
    assert code == 4 and seen == grandchild_sees


# --- stopping ----------------------------------------------------------------------------------


def test_stop_signal_is_rewritten(tmp_path):
    run = start(
        tmp_path,
        "--rewrite-signal",
        "SIGTERM:SIGQUIT",
        command=program("trap.py", "TERM", "QUIT", "--exit-after", "1", "--code", "3"),
    )
    run.expect(r"child ready .*")
    run.kill(signal.SIGTERM)
    assert run.finish() == (3, ["child got SIGQUIT"])


def test_stopping_twice_is_harmless(tmp_path):
    run = start(
        tmp_path, "--grace-period", "30", command=program("trap.py", "TERM", "--exit-after", "2", "--code", "7")
    )
    run.expect(r"child ready .*")
    run.kill(signal.SIGTERM)
    run.expect("child got SIGTERM")
    run.kill(signal.SIGTERM)
    assert run.finish() == (7, ["child got SIGTERM"])


def test_whole_tree_is_killed_after_the_grace_period(tmp_path):
    stubborn = "--name orphan --ignore TERM"
    run = start(
        tmp_path,
        "--grace-period",
        "0.5",
        "--stop-signal",
        "SIGTERM",
        command=program(
            "trap.py", "--ignore", "TERM", "--spawn", "--name grandchild --ignore TERM", "--orphan", stubborn
        ),
    )
    pids = ready_pids(run, 3)
    run.kill(signal.SIGTERM)
    run.kill(signal.SIGTERM)  # a second stop changes nothing
    assert run.finish() == (128 + signal.SIGKILL, [])
    assert sorted(pids) == ["child", "grandchild", "orphan"]
    assert not any(psutil.pid_exists(pid) for pid in pids.values())


def test_leftovers_are_stopped_when_the_child_exits_on_its_own(tmp_path):
    run = start(
        tmp_path,
        "--grace-period",
        "0.5",
        stdin=subprocess.PIPE,
        command=program(
            "trap.py",
            "--until-input",
            "--code",
            "5",
            "--orphan",
            "TERM --name polite --exit-after 1 --code 0",
            "--spawn",
            "--name stubborn --ignore TERM",
        ),
    )
    pids = ready_pids(run, 3)
    run.process.stdin.close()
    code, rest = run.finish()
    assert code == 5 and rest == ["polite got SIGTERM"]
    assert not any(psutil.pid_exists(pid) for pid in pids.values())


def test_keep_descendants_leaves_them_running_when_the_child_exits(tmp_path):
    """dumb-init's single-child behaviour, on request: the service's exit code at once, descendants left alone."""
    run = start(
        tmp_path,
        "--keep-descendants",
        stdin=subprocess.PIPE,
        command=program(
            "trap.py",
            "--until-input",
            "--code",
            "5",
            "--orphan",
            "TERM --name polite --exit-after 1 --code 0",
            "--spawn",
            "--name stubborn --ignore TERM",
        ),
    )
    pids = ready_pids(run, 3)
    run.process.stdin.close()
    try:
        assert run.process.wait(timeout=10) == 5
        left = {name: psutil.Process(pid) for name, pid in pids.items() if name != "child"}
        assert all(process.status() != psutil.STATUS_ZOMBIE for process in left.values()), left
    finally:
        for name, pid in pids.items():
            if name != "child":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def test_orphans_are_adopted_and_reaped(tmp_path):
    run = start(tmp_path, command=program("orphans.py", "3"))
    code, lines = run.finish()
    assert code == 0
    assert lines == [f"adopted-by={run.process.pid} parent={run.process.pid}", "reaped"] * 3


def test_a_stopped_child_stops_the_launcher_with_the_same_signal(tmp_path):
    # Without a terminal: kill -TSTP reaches the child, and the launcher's parent sees the job stop.
    run = start(tmp_path, command=program("trap.py", "TERM", "--exit-after", "1", "--code", "3"), process_group=0)
    run.expect(r"child ready .*")
    run.kill(signal.SIGTSTP)
    pid, status = os.waitpid(run.process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGTSTP
    run.kill(signal.SIGCONT)
    run.kill(signal.SIGTERM)  # handled only once the child runs again
    assert run.finish() == (3, ["child got SIGTERM"])


# --- job control on a real terminal ----------------------------------------------------------

PROMPT = r"\[jc\]\$ "


@pytest.fixture
def shell(tmp_path):
    """An interactive bash with job control, on a real pty, as a user would have it."""
    env = child_env(PS1="[jc]$ ", TERM="dumb", HISTFILE="/dev/null", INPUTRC="/dev/null")
    terminal = Terminal(["bash", "--norc", "--noprofile", "-i"], env)
    terminal.expect(PROMPT)
    yield terminal
    terminal.close()


def _line(tmp_path, *argv: str, options=()) -> str:
    return " ".join(launcher_argv(tmp_path, *options, command=list(argv))) + "\n"


def _exit_status(shell) -> int:
    shell.expect(PROMPT)
    shell.send("echo status=$?\n")
    return int(shell.expect(r"status=(\d+)").group(1))


def test_ctrl_c_and_resize_reach_the_child_once(shell, tmp_path):
    shell.send(_line(tmp_path, *program("tty_child.py", "--trap-int")))
    shell.expect("READY! FG=yes")
    shell.send("\x03")
    shell.expect("INT 1!")
    shell.resize(33, 77)
    shell.expect("WINCH 33X77!")
    shell.send("report\n")
    shell.expect("COUNTS INT=1 WINCH=1 FG=yes!")
    shell.send("quit 0\n")
    assert _exit_status(shell) == 0


def test_ctrl_c_kills_a_child_that_does_not_trap_it(shell, tmp_path):
    shell.send(_line(tmp_path, *program("tty_child.py")))
    shell.expect("READY! FG=yes")
    shell.send("\x03")
    assert _exit_status(shell) == 128 + signal.SIGINT


def test_command_not_found_on_a_terminal_leaves_the_terminal_to_the_shell(shell, tmp_path):
    shell.send("stty tostop\n")  # a background write would stop the launcher printing its error
    shell.expect(PROMPT)
    shell.send(_line(tmp_path, "no-such-command-xyz"))
    shell.expect("cannot run 'no-such-command-xyz': command not found")
    assert _exit_status(shell) == 127


def test_ctrl_z_stops_the_job_and_fg_resumes_it(shell, tmp_path):
    shell.send(_line(tmp_path, *program("tty_child.py")))
    shell.expect("READY! FG=yes")
    shell.send("\x1a")
    shell.expect(r"Stopped")
    shell.expect(PROMPT)
    shell.send("fg\n")
    shell.send("hello\n")  # read by the child only if it owns the terminal again
    shell.expect("GOT:HELLO")
    shell.send("report\n")
    shell.expect("FG=yes!")
    shell.send("quit 5\n")
    assert _exit_status(shell) == 5


def test_bg_then_fg_gives_the_terminal_back(shell, tmp_path):
    shell.send("set -b; stty tostop\n")  # report job changes at once; background writes stop
    shell.expect(PROMPT)
    shell.send(_line(tmp_path, *program("tty_child.py")))
    shell.expect("READY! FG=yes")
    shell.send("\x1a")
    shell.expect(r"Stopped")
    shell.expect(PROMPT)
    shell.send("bg\n")  # in the background the child's "CONT!" stops it again (SIGTTOU)
    shell.expect(r"Stopped")
    shell.send("fg\n")
    shell.expect("CONT!")
    shell.send("again\n")
    shell.expect("GOT:AGAIN")
    shell.send("quit 6\n")
    assert _exit_status(shell) == 6


def test_interactive_shell_under_the_launcher(shell, tmp_path):
    shell.send("PS1='[inner]$ ' " + _line(tmp_path, "bash", "--norc", "--noprofile", "-i"))
    shell.expect(r"\[inner\]\$ ")
    shell.send("echo $((6*7))\n")
    shell.expect("42")
    shell.send(" ".join(program("tty_child.py")) + "\n")
    shell.expect("READY! FG=yes")
    shell.send("\x1a")  # stops the inner shell's job, not the inner shell nor the launcher
    shell.expect(r"Stopped")
    shell.expect(r"\[inner\]\$ ")
    shell.send("echo $((6*8))\n")  # the launcher did not stop: the inner shell still answers
    shell.expect("48")
    shell.expect(r"\[inner\]\$ ")
    shell.send("fg\n")
    shell.send("quit 0\n")
    shell.expect(r"\[inner\]\$ ")  # typed ahead before this, "exit" would be read by the child
    shell.send("exit 7\n")
    assert _exit_status(shell) == 7


def _name(text: str) -> str:
    signo = parse_signal(text)
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"SIGRTMIN+{signo - signal.SIGRTMIN}"
