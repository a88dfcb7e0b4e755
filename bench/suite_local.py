"""Exec-mode start-up with the local store, next to the floor, the bare interpreter and `dotenv run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from measure import Timing, from_samples, run_quiet, time_commands
from venv_setup import Venv
from workload import Workload, make_component

SIZES = (0, 20, 200)


def dotenv_file(venv: Venv, workload: Workload) -> Path:
    """The very variables choreo-run injects, as a .env file for `dotenv run`."""
    exported = run_quiet([venv.choreo_run, *workload.identity_args(), "export", "--format", "dotenv", "--reveal"])
    path = workload.directory.parent / "bench.env"
    path.write_text(exported.stdout, encoding="utf-8")
    return path


def has_fast_path(venv: Venv) -> bool:
    """True when the installed version replays recorded launches (launcher/launch/fastpath.py, or
    launcher/fastpath.py before the packages were split)."""
    package = venv.site_packages() / "launcher"
    return (package / "launch" / "fastpath.py").is_file() or (package / "fastpath.py").is_file()


def has_parse_cache(venv: Venv) -> bool:
    """True when the installed version keeps parsed manifests and stores (launcher/parsecache.py, issue 16)."""
    return (venv.site_packages() / "launcher" / "parsecache.py").is_file()


def commands(venv: Venv, workloads: list[Workload]) -> dict[str, list[str]]:
    """With a fast path, `choreo-run` rows are warm (hyperfine's warm-up records the launch) and the
    `full path` rows turn it off with CHOREO_RUN_FAST=0 (the `env` in front costs about the floor)."""
    named = {
        "floor: env FOO=bar true": ["env", "FOO=bar", "true"],
        "python -I -c pass": [venv.python, "-I", "-c", "pass"],
    }
    for workload in workloads:
        launch = [venv.choreo_run, *workload.identity_args(), "--", "true"]
        named[f"choreo-run local n={workload.size}"] = launch
        if has_fast_path(venv):
            named[f"choreo-run local n={workload.size}, full path"] = ["env", "CHOREO_RUN_FAST=0", *launch]
        if workload.size == 20:
            # What a fresh container pays: no record to replay and nothing parsed before (issue 16).
            cold = ["env", "CHOREO_RUN_FAST=0", "CHOREO_RUN_PARSE_CACHE=0", *launch]
            if has_parse_cache(venv):
                named["choreo-run local n=20, cold (no record, no parse cache)"] = cold
            # Supervise mode (the PID-1 default) against the same exec launch: the lean supervisor's cost.
            supervised = [*launch[:-2], "--supervise", *launch[-2:]]
            named["choreo-run local n=20, supervise, full path"] = ["env", "CHOREO_RUN_FAST=0", *supervised]
        named[f"dotenv run n={workload.size}"] = [
            venv.dotenv,
            "-f",
            str(dotenv_file(venv, workload)),
            "run",
            "--",
            "true",
        ]
    return named


def first_launches(venv: Venv, workload: Workload, runs: int) -> Timing:
    """A launch with no record yet (a fresh container, an edited input): the full path plus recording."""
    plans = Path(os.environ["XDG_CACHE_HOME"]) / "choreo-run" / "plans"
    samples = []
    for _ in range(runs):
        shutil.rmtree(plans, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([venv.choreo_run, *workload.identity_args(), "--", "true"], check=True)
        samples.append(time.perf_counter() - started)
    return from_samples(samples)


def variable_counts(venv: Venv, workloads: list[Workload]) -> dict[int, int]:
    """Variables injected per workload size (3 per connection), read back from `check`."""
    counts = {}
    for workload in workloads:
        line = run_quiet([venv.choreo_run, *workload.identity_args(), "check"]).stdout
        counts[workload.size] = int(line.split(": ")[-1].split()[0])
    return counts


def run(venv: Venv, root: Path, runs: int, warmup: int) -> tuple[dict[str, Timing], dict[int, int]]:
    workloads = [make_component(root, size) for size in SIZES]
    timings = time_commands(commands(venv, workloads), runs, warmup)
    if has_fast_path(venv):
        timings["choreo-run local n=20, first launch (no record)"] = first_launches(venv, workloads[1], runs)
    return timings, variable_counts(venv, workloads)
