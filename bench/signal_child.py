"""The service in the signal benchmark: on each SIGUSR1 it writes CLOCK_MONOTONIC (ns) to a file descriptor.

Usage: python signal_child.py FD COUNT. It blocks SIGUSR1 and takes it with sigwaitinfo, so the time
is taken as the signal arrives rather than at the interpreter's next check for handlers. It writes
"ready" first, and exits after COUNT signals.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main(fd: int, count: int) -> None:
    wanted = {signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    os.write(fd, b"ready\n")
    for _ in range(count):
        signal.sigwaitinfo(wanted)
        os.write(fd, b"%d\n" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
