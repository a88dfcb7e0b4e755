"""Exec-mode start-up with the local store, next to the floor, the bare interpreter and `dotenv run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import bundle_setup
from measure import Timing, from_samples, run_quiet, time_commands
from venv_setup import Venv
from workload import CREDENTIAL, Workload, credential_file, make_component

SIZES = (0, 20, 200)
# The rows issue 16's targets use (bench/targets.py); a bundle row adds bundle_setup.SUFFIX.
FULL = "choreo-run local n=20, full path"
COLD = "choreo-run local n=20, cold (no record, no parse cache)"
SUPERVISED = "choreo-run local n=20, supervise, full path"
CREDENTIAL_ROW = "choreo-run local n=20, supervise, full path, launcher credential"
CREDENTIAL_FILE_ROW = "choreo-run local n=20, supervise, full path, launcher credential file"


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
    """True when the installed version keeps parsed manifests and stores (issue 16): launcher/parsecache.py,
    launcher/files/parsecache.py since the core was grouped in folders."""
    package = venv.site_packages() / "launcher"
    return (package / "files" / "parsecache.py").is_file() or (package / "parsecache.py").is_file()


def launch_argv(launcher: str, workload: Workload) -> list[str]:
    return [launcher, *workload.identity_args(), "--", "true"]


def cold_start_rows(launcher: str, workload: Workload, parse_cache: bool) -> dict[str, list[str]]:
    """Issue 16's n=20 launches besides the full path, all without replay (CHOREO_RUN_FAST=0)."""
    launch = launch_argv(launcher, workload)
    supervised = [*launch[:-2], "--supervise", *launch[-2:]]
    rows = {}
    if parse_cache:
        # What a fresh container pays: no record to replay and nothing parsed before.
        rows[COLD] = ["env", "CHOREO_RUN_FAST=0", "CHOREO_RUN_PARSE_CACHE=0", *launch]
    # Supervise mode (the PID-1 default) against the same exec launch, without and with a launcher
    # credential (which makes the launcher re-exec into the lean supervisor).
    rows[SUPERVISED] = ["env", "CHOREO_RUN_FAST=0", *supervised]
    rows[CREDENTIAL_ROW] = ["env", "CHOREO_RUN_FAST=0", CREDENTIAL, *supervised]
    rows[CREDENTIAL_FILE_ROW] = ["env", "CHOREO_RUN_FAST=0", credential_file(workload.directory), *supervised]
    return rows


def bundle_rows(venv: Venv, binary: str, workload: Workload) -> dict[str, list[str]]:
    """The same n=20 launches through the bundle's binary, on the bundle's copy of the inputs."""
    rows = {FULL: ["env", "CHOREO_RUN_FAST=0", *launch_argv(binary, workload)]}
    rows.update(cold_start_rows(binary, workload, has_parse_cache(venv)))
    return {bundle_setup.row(name): argv for name, argv in rows.items()}


def commands(venv: Venv, workloads: list[Workload], bundle: tuple[str, Workload] | None = None) -> dict[str, list[str]]:
    """With a fast path, `choreo-run` rows are warm (hyperfine's warm-up records the launch) and the
    `full path` rows turn it off with CHOREO_RUN_FAST=0 (the `env` in front costs about the floor).
    With a bundle (its binary, its n=20 inputs), its rows come right after the installed n=20 ones."""
    named = {
        "floor: env FOO=bar true": ["env", "FOO=bar", "true"],
        "python -I -c pass": [venv.python, "-I", "-c", "pass"],
    }
    for workload in workloads:
        launch = launch_argv(venv.choreo_run, workload)
        named[f"choreo-run local n={workload.size}"] = launch
        if has_fast_path(venv):
            named[f"choreo-run local n={workload.size}, full path"] = ["env", "CHOREO_RUN_FAST=0", *launch]
        if workload.size == 20:
            named.update(cold_start_rows(venv.choreo_run, workload, has_parse_cache(venv)))
            if bundle is not None:
                named.update(bundle_rows(venv, *bundle))
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
        subprocess.run(launch_argv(venv.choreo_run, workload), check=True)
        samples.append(time.perf_counter() - started)
    return from_samples(samples)


def variable_counts(venv: Venv, workloads: list[Workload]) -> dict[int, int]:
    """Variables injected per workload size (3 per connection), read back from `check`."""
    counts = {}
    for workload in workloads:
        line = run_quiet([venv.choreo_run, *workload.identity_args(), "check"]).stdout
        counts[workload.size] = int(line.split(": ")[-1].split()[0])
    return counts


def run(
    venv: Venv, root: Path, runs: int, warmup: int, binary: str | None = None
) -> tuple[dict[str, Timing], dict[int, int]]:
    """`binary`: the bundle's, whose rows are timed in the same round-robin (None: no bundle rows)."""
    workloads = [make_component(root, size) for size in SIZES]
    bundle = (binary, bundle_setup.workload(root, 20)) if binary else None
    timings = time_commands(commands(venv, workloads, bundle), runs, warmup)
    if has_fast_path(venv):
        timings["choreo-run local n=20, first launch (no record)"] = first_launches(venv, workloads[1], runs)
    return timings, variable_counts(venv, workloads)
