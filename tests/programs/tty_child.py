"""An interactive program for the pty tests; markers are upper case so the terminal's echo of
what the test types never matches them.

Prints `READY! FG=yes|no` (whether it owns the terminal's foreground), then per line of input:
`report` prints counts, `quit N` exits with N, anything else is echoed as `GOT:TEXT`.
With --trap-int, SIGINT is counted instead of killing it. SIGWINCH is always counted, and SIGCONT
prints `CONT!` (in the background, with `stty tostop`, that write stops it with SIGTTOU).
"""

import os
import select
import signal
import sys

counts = {"INT": 0, "WINCH": 0}


def foreground() -> str:
    return "yes" if os.tcgetpgrp(0) == os.getpgrp() else "no"


def on_int(signo, frame):
    counts["INT"] += 1
    print(f"INT {counts['INT']}!", flush=True)


def on_winch(signo, frame):
    counts["WINCH"] += 1
    size = os.get_terminal_size(0)
    print(f"WINCH {size.lines}X{size.columns}!", flush=True)


def lines():
    """Lines typed on the terminal, waiting race-free: a signal that arrives just before a plain
    read() would have its handler run only after the next line."""
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    while True:
        readable = select.select([wakeup_r, 0], [], [])[0]  # handlers run as soon as this returns
        if wakeup_r in readable:
            os.read(wakeup_r, 512)
        if 0 in readable:
            data = os.read(0, 4096).decode()  # a terminal in canonical mode returns one line
            if not data:
                return
            yield data


def main() -> None:
    signal.signal(signal.SIGINT, on_int if "--trap-int" in sys.argv else signal.SIG_DFL)
    signal.signal(signal.SIGWINCH, on_winch)
    signal.signal(signal.SIGCONT, lambda signo, frame: print("CONT!", flush=True))
    print(f"READY! FG={foreground()}", flush=True)
    for line in lines():
        words = line.split()
        if words[:1] == ["report"]:
            print(f"COUNTS INT={counts['INT']} WINCH={counts['WINCH']} FG={foreground()}!", flush=True)
        elif words[:1] == ["quit"]:
            sys.exit(int(words[1]))
        else:
            print("GOT:" + line.strip().upper(), flush=True)


if __name__ == "__main__":
    main()
