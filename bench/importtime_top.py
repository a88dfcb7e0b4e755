"""Where start-up time goes: `python -X importtime` on the installed command, summarized.

Each run's stderr is parsed ("import time: self [us] | cumulative | name", nesting shown by
indentation); the medians over several runs are reported: the imports done directly by the entry
point's import tree with their cumulative time, and the time spent in each top-level package.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections import defaultdict
from dataclasses import dataclass

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


@dataclass(frozen=True)
class ImportSummary:
    total_ms: float  # all imports (sum of self times)
    roots: list[tuple[str, float]]  # top-level imports, cumulative ms, largest first
    packages: list[tuple[str, float]]  # top-level package, summed self ms, largest first
    modules: int  # modules imported


def parse(stderr: str) -> list[tuple[str, int, int, int]]:
    """(name, depth, self us, cumulative us) per imported module."""
    found = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            found.append((match[4], len(match[3]) // 2, int(match[1]), int(match[2])))
    return found


def one_run(argv: list[str], env: dict[str, str] | None = None) -> list[tuple[str, int, int, int]]:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"importtime run exited {done.returncode}: {done.stderr[-300:]}")
    return parse(done.stderr)


def medians(runs: list[dict[str, float]], top: int) -> list[tuple[str, float]]:
    """Median of each key over the runs (absent counts as 0), largest `top` first, in ms."""
    keys = {key for run in runs for key in run}
    values = {key: statistics.median(run.get(key, 0.0) for run in runs) / 1000 for key in keys}
    return sorted(values.items(), key=lambda item: -item[1])[:top]


def summarize(
    python: str, script: str, args: list[str], env: dict[str, str] | None = None, runs: int = 5, top: int = 10
) -> ImportSummary:
    """Run `python -X importtime script args` `runs` times and summarize the medians."""
    parsed = [one_run([python, "-X", "importtime", script, *args], env) for _ in range(runs)]
    roots = [{name: cumulative for name, depth, _, cumulative in run if depth == 0} for run in parsed]
    packages = []
    for run in parsed:
        summed: dict[str, float] = defaultdict(float)
        for name, _, self_us, _ in run:
            summed[name.split(".")[0]] += self_us
        packages.append(summed)
    total = statistics.median(sum(self_us for _, _, self_us, _ in run) for run in parsed) / 1000
    return ImportSummary(total, medians(roots, top), medians(packages, top), len(parsed[-1]))
