"""The issue's targets, each checked against the measurements: (target, measured, pass)."""

from __future__ import annotations

from typing import Any

from report import PYTHON, table

SUPERVISED = "supervise, local n=20"


VARIANTS = ("", ", full path", ", first launch (no record)")


def launch_checks(local: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The two exec-mode targets, for each launch variant measured (warm fast path, full path, first launch)."""
    python, dotenv = local[PYTHON].median, local["dotenv run n=20"].median
    found = []
    for variant in VARIANTS:
        timing = local.get(f"choreo-run local n=20{variant}")
        if timing is None:
            continue
        launch, label = timing.median, variant.lstrip(", ") or "as installed"
        found += [
            (
                f"exec, local store, 20 connections ({label}): at most 2x `python -I -c pass`",
                f"{launch / python:.2f}x ({launch * 1000:.0f} vs {python * 1000:.0f} ms)",
                launch <= 2 * python,
            ),
            (
                f"same launch ({label}) at least 2x faster than `dotenv run` with the same 60 variables",
                f"dotenv takes {dotenv / launch:.2f}x as long ({dotenv * 1000:.0f} ms)",
                dotenv >= 2 * launch,
            ),
        ]
    return found


def checks(local: dict[str, Any], remote: Any, supervised: dict[str, Any]) -> list[tuple[str, str, bool]]:
    etcd10, etcd1000 = remote.timings["etcd n=10"].median, remote.timings["etcd n=1000"].median
    run = supervised[SUPERVISED]
    return [
        *launch_checks(local),
        (
            "etcd: 1,000 connections in at most 2x the time of 10",
            f"{etcd1000 / etcd10:.2f}x ({etcd1000 * 1000:.0f} vs {etcd10 * 1000:.0f} ms)",
            etcd1000 <= 2 * etcd10,
        ),
        ("supervise mode under 20 MB resident", f"{run.rss_mb:.1f} MB RSS", run.rss_mb < 20),
        ("signal delivery under 5 ms median", f"{run.median_ms:.3f} ms median", run.median_ms < 5),
    ]


def targets_table(results: list[tuple[str, str, bool]]) -> list[str]:
    return table(
        ["target", "measured", "result"],
        [[target, measured, "**pass**" if ok else "**FAIL**"] for target, measured, ok in results],
    )
