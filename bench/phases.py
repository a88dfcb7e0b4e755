"""The launcher's own account of a launch (`--debug`): manifest read, fetch, and total pipeline time.

What the pipeline reports is measured inside the process, after the imports; the difference to the
whole-process time is interpreter start-up, imports and exit.
"""

from __future__ import annotations

import re
import statistics
import subprocess

PATTERNS = {
    "manifest_ms": re.compile(r"debug: manifest .* read in ([\d.]+) ms"),
    "fetch_ms": re.compile(r"debug: fetched .* in ([\d.]+) ms"),
    "pipeline_ms": re.compile(r"debug: resolved .* in ([\d.]+) ms in all"),
}


def one_run(argv: list[str], env: dict[str, str] | None) -> dict[str, float]:
    done = subprocess.run([argv[0], "--debug", *argv[1:]], capture_output=True, text=True, env=env)
    found = {}
    for name, pattern in PATTERNS.items():
        match = pattern.search(done.stderr)
        if match:
            found[name] = float(match[1])
    return found


def phases(argv: list[str], env: dict[str, str] | None = None, runs: int = 5) -> dict[str, float]:
    """Median of each phase over `runs` launches of `argv` (a choreo-run command line)."""
    samples = [one_run(argv, env) for _ in range(runs)]
    return {name: statistics.median(sample.get(name, 0.0) for sample in samples) for name in PATTERNS}
