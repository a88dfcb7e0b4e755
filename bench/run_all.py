#!/usr/bin/env python3
"""Issue 8's benchmark, in one command: build the bench venv, run every suite, print markdown.

    python3 bench/run_all.py [--commit REV] [--reuse-venv] [--output FILE] [--quick] [--no-bundle]

The venv gets choreo-run installed non-editable from a clean `git archive` of REV (default HEAD),
plus python-dotenv's CLI; bytecode is compiled for all of site-packages. The self-contained bundle
is built from the same export with the venv's interpreter (bundle_setup.py). The script then re-runs
itself with the venv's interpreter (psutil comes with choreo-run) and measures everything with that
venv's own executables, and the bundle's binary next to them. Generated inputs live in a temporary
directory; every server started (one etcd member, four serve-http) is stopped at the end. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE.parent, help="git checkout to install from")
    parser.add_argument("--commit", default="HEAD", help="what to install (committed state only)")
    parser.add_argument("--venv", type=Path, default=Path("/tmp/choreo-bench-venv"))
    parser.add_argument("--python", default=sys.executable, help="interpreter that creates the venv")
    parser.add_argument("--reuse-venv", action="store_true", help="skip building the venv")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--remote-runs", type=int, default=20, help="runs per etcd/HTTP command")
    parser.add_argument("--loop-runs", type=int, default=3, help="runs of the 50-process check loop")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--signals", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="5 runs, 50 signals: a smoke test")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="time with our round-robin harness instead of hyperfine (fairer on a busy machine)",
    )
    parser.add_argument(
        "--bundle",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build and measure the self-contained bundle too (default: when PyInstaller is in the venv or "
        "can be installed; the report says why when not); --bundle makes a failed build fatal",
    )
    parser.add_argument("--output", type=Path, help="also write the markdown here")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def outer(args: argparse.Namespace, argv: list[str]) -> None:
    """Build the venv (unless reused) and the bundle (unless --no-bundle), then continue inside the venv."""
    from bundle_setup import prepare
    from venv_setup import DEFAULT_VENV, Venv, build

    venv = Venv(args.venv or DEFAULT_VENV)
    args.commit = resolve_commit(args.repo, args.commit)
    argv = [*argv, "--commit", args.commit]  # the report names what was built, even if HEAD moves meanwhile
    if not args.reuse_venv:
        progress(f"building {venv.root} from {args.commit} of {args.repo}")
        build(args.repo, args.commit, args.python, venv.root)
    prepare(venv, args.repo, args.commit, args.bundle, args.reuse_venv, progress)
    os.execv(venv.python, [venv.python, str(Path(__file__).resolve()), *argv, "--inside"])


def resolve_commit(repo: Path, rev: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", rev], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.quick:
        args.runs, args.remote_runs, args.loop_runs, args.warmup, args.signals = 5, 5, 1, 1, 50
    if not args.inside:
        outer(args, argv)
    import measure
    from suites import run_everything

    measure.INTERLEAVE["on"] = args.interleave

    with tempfile.TemporaryDirectory(prefix="choreo-bench-") as root:
        markdown = run_everything(args, Path(root), progress)
    print(markdown)
    if args.output:
        args.output.write_text(markdown + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
