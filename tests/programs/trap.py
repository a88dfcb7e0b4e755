"""A service that reports the signals it receives: `NAME got SIGX`, one line each.

trap.py [SIG ...] [--name N] [--ignore SIG] [--exit-after K] [--code C] [--until-input]
        [--spawn "ARGS"] [--orphan "ARGS"]

--spawn starts another trap.py as our child, in our process group; --orphan starts one as a
double-forked daemon in its own session, which is then re-parented to the nearest reaper.
"""

import argparse
import os
import select
import shlex
import signal
import subprocess
import sys


def say(text: str) -> None:
    """One line in one write(2). print() writes the text and the newline separately when output is
    unbuffered (PYTHONUNBUFFERED), so the lines of the processes sharing this pipe (us, --spawn,
    --orphan) could interleave: `child ready ...stubborn ready ...` then a blank line. A single
    write under PIPE_BUF bytes is atomic."""
    os.write(1, (text + "\n").encode())


def name_of(signo: int) -> str:
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"SIGRTMIN+{signo - signal.SIGRTMIN}"


def parse(text: str) -> int:
    text = text.upper()
    if text.startswith("SIGRTMIN+") or text.startswith("RTMIN+"):
        return signal.SIGRTMIN + int(text.split("+")[1])
    return int(signal.Signals[text if text.startswith("SIG") else "SIG" + text])


def orphan(args: list[str]) -> int:
    """Double fork: the daemon's parent exits at once, so the daemon is adopted by a reaper."""
    middle = os.fork()
    if middle == 0:
        os.setsid()
        if os.fork() == 0:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.execv(sys.executable, [sys.executable, __file__, *args])
        os._exit(0)
    os.waitpid(middle, 0)
    return middle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("signals", nargs="*")
    parser.add_argument("--name", default="child")
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("--exit-after", type=int, default=0)
    parser.add_argument("--code", type=int, default=0)
    parser.add_argument("--until-input", action="store_true")
    parser.add_argument("--spawn")
    parser.add_argument("--orphan")
    args = parser.parse_args()
    received = []

    def handler(signo, frame):
        received.append(signo)
        say(f"{args.name} got {name_of(signo)}")
        if args.exit_after and len(received) >= args.exit_after:
            os._exit(args.code)

    for text in args.signals:
        signal.signal(parse(text), handler)
    for text in args.ignore:
        signal.signal(parse(text), signal.SIG_IGN)
    if args.spawn:
        subprocess.Popen([sys.executable, __file__, *shlex.split(args.spawn)], stdin=subprocess.DEVNULL)
    if args.orphan:
        orphan(shlex.split(args.orphan))
    wakeup = wakeup_fd()
    say(f"{args.name} ready pid={os.getpid()} pgid={os.getpgrp()}")
    watched = [wakeup, 0] if args.until_input else [wakeup]
    while True:
        # Not signal.pause(): a signal arriving just before it would wait for the next one.
        readable = select.select(watched, [], [])[0]  # handlers run as soon as this returns
        if wakeup in readable:
            os.read(wakeup, 512)
        if 0 in readable:
            os._exit(args.code)  # a line or end of input


def wakeup_fd() -> int:
    """The read end of a pipe the interpreter writes to on every signal (race-free waiting)."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    return read_end


if __name__ == "__main__":
    main()
