"""Leaves orphans behind and checks that whoever adopted them reaps them.

orphans.py COUNT: for each orphan, print `adopted-by=PPID parent=OUR_PARENT`, let it exit, and
print `reaped` once it is gone from /proc, or `zombie` if nobody reaps it. Then exit 0.
"""

import os
import sys
import time


def leave_orphan() -> tuple[int, int]:
    """Double fork; returns (orphan pid, write end that keeps it alive until closed)."""
    report_r, report_w = os.pipe()
    hold_r, hold_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        pid = os.fork()
        if pid == 0:
            os.close(hold_w)
            os.read(hold_r, 1)  # lives until our test closes the other end
            os._exit(0)
        os.write(report_w, str(pid).encode())
        os._exit(0)
    os.close(report_w)
    os.close(hold_r)
    pid = int(os.read(report_r, 32))
    os.waitpid(middle, 0)
    return pid, hold_w


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("PPid:")).split()[1])


def reaped(pid: int, deadline: float) -> bool:
    # Being reaped is not an event another process can wait on: look until it is gone.
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.01)
    return False


def main() -> None:
    for _ in range(int(sys.argv[1])):
        pid, hold = leave_orphan()
        print(f"adopted-by={parent_of(pid)} parent={os.getppid()}", flush=True)
        os.close(hold)
        print("reaped" if reaped(pid, time.monotonic() + 10) else "zombie", flush=True)


if __name__ == "__main__":
    main()
