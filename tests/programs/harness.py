"""Stand-in for `choreo-run ... --supervise [options] -- CMD` until the CLI lands.

Takes exactly the supervise options the CLI offers, builds the same SuperviseOptions and exits
the way the CLI does (one `choreo-run: error:` line and the error's exit code).
"""

import argparse
import os
import sys

from launcher.errors import LauncherError
from launcher.sigstate import parse_rewrite, parse_signal
from launcher.supervise import SuperviseOptions, supervise


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signal-group", action="store_true")
    parser.add_argument("--stop-signal", default="TERM")
    parser.add_argument("--rewrite-signal", action="append", default=[])
    parser.add_argument("--grace-period", type=float, default=10.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        options = SuperviseOptions(
            forward_to_group=args.signal_group,
            stop_signal=parse_signal(args.stop_signal),
            rewrites=dict(parse_rewrite(rule) for rule in args.rewrite_signal),
            grace_period=args.grace_period,
        )
        return supervise(command, dict(os.environ), options, warn=lambda m: print(f"choreo-run: warning: {m}", file=sys.stderr))
    except LauncherError as error:
        print(f"choreo-run: error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
