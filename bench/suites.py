"""Runs every suite in order and renders the markdown report (see run_all.py)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import bundle_setup
import importtime_top
import machine
import measure
import report
import servers
import suite_check
import suite_local
import suite_remote
import suite_supervise
import targets
from phases import phases
from venv_setup import Venv
from workload import make_component

Progress = Callable[[str], None]


def run_everything(args: argparse.Namespace, root: Path, progress: Progress) -> str:
    venv = Venv(args.venv)
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")  # fast-path records stay in the temporary directory
    # The throwaway etcd member runs without authentication; since 7e85d7f the launcher refuses such a
    # member unless told it is a development one (older versions ignore the variable).
    os.environ["CHOREO_RUN_ETCD_ALLOW_NO_AUTH"] = "1"
    timer = "round-robin perf_counter harness" if measure.INTERLEAVE["on"] else "hyperfine -N"
    bundle = bundle_setup.load(venv)
    binary = bundle.binary
    lines = [
        "## Machine",
        "",
        *machine.describe(venv, args.repo, args.commit),
        bundle_setup.describe(bundle),
        f"* timing: {timer}; {args.runs} runs local, {args.remote_runs} remote, {args.warmup} warm-up; "
        f"load average at the start: {machine.load_average()}",
        "",
    ]
    progress("local store start-up" + (" (installed and bundle)" if binary else ""))
    local, variables = suite_local.run(venv, root, args.runs, args.warmup, binary)
    lines += section("Exec-mode start-up, local store", report.local_table(local, variables) + bundle_note(bundle))
    with servers.etcd_member() as etcd:
        progress("etcd and HTTP backends")
        remote = suite_remote.run(venv, etcd, root, args.remote_runs, args.warmup, binary)
        lines += section("Start-up through etcd and HTTP (loopback)", report.remote_table(remote) + bundle_note(bundle))
        progress("supervise mode")
        etcd_url = suite_remote.push(venv, etcd, make_component(root, 20))
        supervised = suite_supervise.run(venv, root, args.signals, etcd_url, binary)
        lines += section("Supervise mode", report.supervise_table(supervised, args.signals))
        progress("phases (--debug)")
        lines += section("Inside the process (--debug)", phase_rows(venv, root, etcd_url, local, remote))
        progress("python -X importtime")
        lines += section("Imports (python -X importtime, exec, local n=20, as installed)", imports(venv, root, []))
        full = {**os.environ, "CHOREO_RUN_FAST": "0"}
        lines += section(
            "Imports (python -X importtime, exec, local n=20, full path: CHOREO_RUN_FAST=0)",
            imports(venv, root, [], env=full),
        )
        etcd10 = ["--backend", etcd_url.replace("/bench20", "/bench10")]
        lines += section("Imports (python -X importtime, exec, etcd n=10)", imports(venv, root, etcd10, 10))
    progress("check over a repository")
    checked, many, count = suite_check.run(venv, root, max(3, args.runs // 3), 1, args.loop_runs)
    note = [] if many else ["", "(`check DIR...` refused several directories: only the loop was timed)"]
    lines += section(f"`check` over {count} components", report.check_table(checked, count) + note)
    lines += section("Targets", targets.targets_table(targets.checks(local, remote, supervised, bundle)))
    lines += section(
        "Supervise with a launcher credential (information, not a target)",
        targets.credential_table(local, remote, bundle),
    )
    return "\n".join(lines)


def section(title: str, body: list[str]) -> list[str]:
    return [f"## {title}", "", *body, ""]


def bundle_note(bundle: bundle_setup.BundleStatus) -> list[str]:
    """Under a table with bundle rows: what they are and what their `x python -I` divides by."""
    if bundle.binary is None:
        return ["", f"No bundle rows: {bundle.reason}."]
    return [
        "",
        f"Rows ending in `{bundle_setup.SUFFIX.strip(', ')}` run the self-contained bundle's binary (same commit, "
        "same inputs copied to another directory) in the same round-robin; their `x python -I` is still the "
        "venv's `python -I -c pass`, the interpreter the bundle replaces.",
    ]


def phase_rows(venv: Venv, root: Path, etcd_url: str, local: dict, remote: suite_remote.RemoteResult) -> list[str]:
    """What the pipeline measures itself for a few launches, next to the whole process."""
    found = {}
    for size in suite_local.SIZES:
        argv = [venv.choreo_run, *make_component(root, size).identity_args(), "--", "true"]
        found[f"choreo-run local n={size}"] = phases(argv)
    for size in (10, 1000):
        argv = suite_remote.launch_argv(venv, make_component(root, size), etcd_url.replace("/bench20", f"/bench{size}"))
        found[f"etcd n={size}"] = phases(argv, dict(os.environ))
    return report.phase_table(found, {**local, **remote.timings})


def imports(venv: Venv, root: Path, backend: list[str], size: int = 20, env: dict[str, str] | None = None) -> list[str]:
    summary = importtime_top.summarize(
        venv.python, venv.choreo_run, [*make_component(root, size).identity_args(), *backend, "--", "true"], env
    )
    head = [
        f"{summary.modules} modules imported; their import time adds up to {summary.total_ms:.0f} ms "
        f"(median of 5 runs; -X importtime itself inflates this)",
        "",
    ]
    return head + report.import_table(summary)
