"""Markdown tables, with ratios, from the suites' results; and the issue's targets, pass or fail."""

from __future__ import annotations

import re
from typing import Any

from bundle_setup import SUFFIX
from measure import Timing

FLOOR, PYTHON = "floor: env FOO=bar true", "python -I -c pass"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def local_table(timings: dict[str, Timing], variables: dict[int, int]) -> list[str]:
    floor, python = timings[FLOOR].median, timings[PYTHON].median
    rows = []
    for name, timing in timings.items():
        found = re.search(r"n=(\d+)", name)
        size = int(found[1]) if found else None
        dotenv = timings.get(f"dotenv run n={size}") if name.startswith("choreo-run") else None
        rows.append(
            [
                name,
                "-" if size is None else str(variables.get(size, "-")),
                ms(timing.median),
                f"{ms(timing.mean)} ± {ms(timing.stddev)}",
                ratio(timing.median, floor),
                ratio(timing.median, python),
                ratio(dotenv.median, timing.median) if dotenv else "",
            ]
        )
    return table(
        ["command", "variables", "median ms", "mean ± sd ms", "x floor", "x python -I (venv)", "dotenv / choreo-run"],
        rows,
    )


def remote_table(remote: Any) -> list[str]:
    """One row per command; `KIND: python -I -c pass` rows are each table's interpreter (the x python column)."""
    rows = []
    for name, timing in remote.timings.items():
        if ": " in name:  # the interpreter, timed with this backend's commands
            kind = name.split(": ")[0]
            spread = f"{ms(timing.mean)} ± {ms(timing.stddev)}"
            rows.append([kind, PYTHON, ms(timing.median), spread, "-", "1.00x", "-", ""])
            continue
        kind, rest = name.split(" n=")
        size, _, variant = rest.partition(", ")
        bundle = name.endswith(SUFFIX)  # its own n=10 row; the counters were taken with the installed launcher
        base = remote.timings.get(f"{kind} n=10" + (SUFFIX if bundle else ""))
        python = remote.timings.get(f"{kind}: {PYTHON}")
        extra = remote.client_counter.get(int(size), {}) if kind == "etcd" else remote.server_ms.get(int(size))
        extra = None if bundle else extra
        shown = (
            ", ".join(f"{path} x{count}" for path, count in (extra or {}).items())
            if kind == "etcd"
            else (f"server answers in {extra:.1f} ms" if extra is not None else "")
        )
        rows.append(
            [
                kind,
                size + (f", {variant}" if variant else ""),
                ms(timing.median),
                f"{ms(timing.mean)} ± {ms(timing.stddev)}",
                ratio(timing.median, base.median) if base else "-",
                ratio(timing.median, python.median) if python else "-",
                f"{remote.requests[name]:g}" if name in remote.requests else "-",
                shown,
            ]
        )
    return table(
        [
            "backend",
            "connections",
            "median ms",
            "mean ± sd ms",
            "x n=10",
            "x python -I (venv)",
            "requests / launch (server)",
            "client side",
        ],
        rows,
    )


def supervise_table(runs: dict[str, Any], count: int) -> list[str]:
    rows = [
        [
            name,
            f"{run.rss_mb:.1f}",
            f"{run.uss_mb:.1f}",
            f"{run.median_ms:.3f}",
            f"{run.p95_ms:.3f}",
            f"{run.worst_ms:.3f}",
        ]
        for name, run in runs.items()
    ]
    return table(["process signalled", "RSS MB", "USS MB", f"signal median ms ({count})", "p95 ms", "worst ms"], rows)


def check_table(timings: dict[str, Timing], components: int) -> list[str]:
    rows = [
        [
            name,
            ms(timing.median),
            f"{ms(timing.mean)} ± {ms(timing.stddev)}",
            f"{timing.median * 1000 / components:.1f}",
        ]
        for name, timing in timings.items()
    ]
    return table(["how", "median ms", "mean ± sd ms", "ms per component"], rows)


def phase_table(phases: dict[str, dict[str, float]], timings: dict[str, Timing]) -> list[str]:
    rows = [
        [
            name,
            f"{found['manifest_ms']:.1f}",
            f"{found['fetch_ms']:.1f}",
            f"{found['pipeline_ms']:.1f}",
            ms(timings[name].median) if name in timings else "-",
        ]
        for name, found in phases.items()
    ]
    return table(["launch", "manifest ms", "fetch ms", "whole pipeline ms", "whole process ms (median)"], rows)


def import_table(summary: Any) -> list[str]:
    width = max(len(summary.roots), len(summary.packages))
    rows = [[*(_pair(summary.roots, i)), *(_pair(summary.packages, i))] for i in range(width)]
    return table(["import (top level)", "cumulative ms", "package", "self ms (all its modules)"], rows)


def _pair(items: list[tuple[str, float]], index: int) -> list[str]:
    return [f"`{items[index][0]}`", f"{items[index][1]:.1f}"] if index < len(items) else ["", ""]
