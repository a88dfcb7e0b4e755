"""--watch over many changes: does the resident launcher's memory or CPU grow? (issue 7)

Runs `choreo-run --watch` on a copy of the example against its local store, with a service that
appends a line each time it starts, then makes CHANGES edits to the store, one at a time, waiting for
each restart. After every BATCH changes it samples the launcher's RSS and its CPU time (user + system)
with psutil. Flat means: RSS after the last batch within a few hundred kB of the first sample, and
CPU time per change not growing. Also counts restarts (exactly one per change).

    python3 bench/watch_soak.py [--changes 200] [--batch 20] [--python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
SERVICE = 'echo "start $CHOREO_ORDERS_DB_HOSTNAME" >> "$LOG"; trap "exit 0" TERM; while true; do sleep 0.05; done'


def main() -> None:
    options = parse()
    with tempfile.TemporaryDirectory(prefix="choreo-watch-soak-") as scratch:
        component = Path(scratch) / "orders-service"
        shutil.copytree(REPO / "examples" / "orders-service", component)
        log = Path(scratch) / "service.log"
        log.touch()
        launcher = start(options.python, component, log, Path(scratch))
        try:
            rows = soak(launcher, component / "connections.yaml", log, options.changes, options.batch)
        finally:
            launcher.terminate()
            launcher.wait(timeout=30)
    report(rows, options.changes)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--python", default=sys.executable, help="an interpreter with choreo-run installed")
    return parser.parse_args()


def start(python: str, component: Path, log: Path, scratch: Path) -> subprocess.Popen:
    environment = {**os.environ, "LOG": str(log), "XDG_CACHE_HOME": str(scratch / "cache")}
    command = [
        python,
        "-m",
        "launcher",
        "-C",
        str(component),
        "--mount-root",
        str(scratch / "m"),
        "--watch",
        "--watch-interval",
        "0.05",
        "--grace-period",
        "5",
        "--",
        "sh",
        "-c",
        SERVICE,
    ]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    wait_lines(log, 1, process)
    return process


def soak(
    launcher: subprocess.Popen, store: Path, log: Path, changes: int, batch: int
) -> list[tuple[int, float, float]]:
    """(changes made, RSS MB, CPU seconds) after each batch."""
    process = psutil.Process(launcher.pid)
    rows = [sample(process, 0)]
    text = store.read_text()
    for change in range(1, changes + 1):
        text = (
            text.replace("development: localhost,", f"development: db-{change},", 1)
            if change == 1
            else text.replace(f"development: db-{change - 1},", f"development: db-{change},", 1)
        )
        store.write_text(text)
        wait_lines(log, change + 1, launcher)
        if change % batch == 0:
            rows.append(sample(process, change))
    return rows


def sample(process: psutil.Process, changes: int) -> tuple[int, float, float]:
    times = process.cpu_times()
    return changes, process.memory_info().rss / 1e6, times.user + times.system


def wait_lines(log: Path, count: int, launcher: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(log.read_text().splitlines()) < count:
        if launcher.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the service did not restart ({len(log.read_text().splitlines())} of {count} starts)")
        time.sleep(0.01)


def report(rows: list[tuple[int, float, float]], changes: int) -> None:
    print("| changes | launcher RSS MB | launcher CPU s (total) | CPU ms per change in this batch |")
    print("|---|---|---|---|")
    previous = rows[0]
    for row in rows:
        per_change = (row[2] - previous[2]) * 1000 / max(1, row[0] - previous[0]) if row is not previous else 0.0
        print(f"| {row[0]} | {row[1]:.1f} | {row[2]:.2f} | {per_change:.1f} |")
        previous = row
    print(
        f"\n{changes} changes, {changes} restarts (one per change, checked); RSS grew "
        f"{rows[-1][1] - rows[1][1]:+.1f} MB from the first batch to the last."
    )


if __name__ == "__main__":
    main()
