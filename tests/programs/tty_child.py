"""An interactive program for the pty tests; markers are upper case so the terminal's echo of
what the test types never matches them.

Prints `READY! FG=yes|no` (whether it owns the terminal's foreground), then per line of input:
`report` prints counts, `quit N` exits with N, anything else is echoed as `GOT:TEXT`.
With --trap-int, SIGINT is counted instead of killing it. SIGWINCH is always counted.
"""

import os
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


def main() -> None:
    signal.signal(signal.SIGINT, on_int if "--trap-int" in sys.argv else signal.SIG_DFL)
    signal.signal(signal.SIGWINCH, on_winch)
    print(f"READY! FG={foreground()}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["report"]:
            print(f"COUNTS INT={counts['INT']} WINCH={counts['WINCH']} FG={foreground()}!", flush=True)
        elif words[:1] == ["quit"]:
            sys.exit(int(words[1]))
        else:
            print("GOT:" + line.strip().upper(), flush=True)


if __name__ == "__main__":
    main()
