"""The `choreo-run` command's entry point: the start-up fast path first, the full CLI otherwise.

Kept tiny on purpose: everything imported here is paid by every launch.
"""

from __future__ import annotations

import sys


def main() -> None:
    from launcher.launch.fastpath import try_fast_launch

    try_fast_launch(sys.argv[1:])  # execs when a recorded launch is still valid; returns otherwise
    from launcher.cli.main import main as full_main

    full_main()


if __name__ == "__main__":
    main()
