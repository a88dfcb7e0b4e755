"""Whole-process timing: hyperfine when it is installed, else a small perf_counter harness.

Every command is a list of arguments run without a shell. Results are medians in seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass

HYPERFINE = shutil.which("hyperfine")
INTERLEAVE = {"on": False}  # run_all --interleave: our harness, commands taken round-robin


@dataclass(frozen=True)
class Timing:
    """The spread of one command's wall-clock times, in seconds."""

    median: float
    mean: float
    stddev: float
    low: float
    runs: int


def time_commands(
    commands: dict[str, list[str]], runs: int = 30, warmup: int = 3, env: dict[str, str] | None = None
) -> dict[str, Timing]:
    """Time each named command side by side (same run, same machine state).

    hyperfine runs one command's runs back to back; with INTERLEAVE on (or without hyperfine) our
    harness takes the commands round-robin instead, so a load change on a shared machine hits every
    command alike and the ratios stay fair."""
    if HYPERFINE and not INTERLEAVE["on"] and not os.environ.get("BENCH_NO_HYPERFINE"):
        return _hyperfine(commands, runs, warmup, env)
    return _round_robin(commands, runs, warmup, env)


def _hyperfine(commands: dict[str, list[str]], runs: int, warmup: int, env: dict[str, str] | None) -> dict[str, Timing]:
    with tempfile.NamedTemporaryFile(suffix=".json") as export:
        argv = [
            HYPERFINE,
            "-N",
            "--style",
            "none",
            "--warmup",
            str(warmup),
            "--runs",
            str(runs),
            "--export-json",
            export.name,
        ]
        for name, command in commands.items():
            argv += ["-n", name, shlex.join(command)]
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        results = json.load(open(export.name, encoding="utf-8"))["results"]
    return {result["command"]: from_samples(result["times"]) for result in results}


def _round_robin(
    commands: dict[str, list[str]], runs: int, warmup: int, env: dict[str, str] | None
) -> dict[str, Timing]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for attempt in range(warmup + runs):
        for name, argv in commands.items():
            elapsed = _once(argv, env)
            if attempt >= warmup:
                samples[name].append(elapsed)
    return {name: from_samples(times) for name, times in samples.items()}


def _once(argv: list[str], env: dict[str, str] | None) -> float:
    """Wall-clock seconds of one whole process, from fork to reaping."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def from_samples(samples: list[float]) -> Timing:
    return Timing(
        statistics.median(samples),
        statistics.fmean(samples),
        statistics.stdev(samples) if len(samples) > 1 else 0.0,
        min(samples),
        len(samples),
    )


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def run_quiet(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run once, capturing output; raise with the command's stderr when it fails."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done
