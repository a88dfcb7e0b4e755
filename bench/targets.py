"""The issue's targets, each checked against the measurements: (target, measured, pass)."""

from __future__ import annotations

from typing import Any

from report import PYTHON, table

SUPERVISED = "supervise, local n=20"


VARIANTS = ("", ", full path", ", first launch (no record)")
FULL = "choreo-run local n=20, full path"
COLD = "choreo-run local n=20, cold (no record, no parse cache)"
SUPERVISED_LAUNCH = "choreo-run local n=20, supervise, full path"


def launch_checks(local: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Issue 8's exec-mode targets, for the launch as installed (a repeated launch replays its record)."""
    python, dotenv = local[PYTHON].median, local["dotenv run n=20"].median
    timing = local.get("choreo-run local n=20")
    if timing is None:
        return []
    launch = timing.median
    return [
        (
            "exec, local store, 20 connections (as installed): at most 2x `python -I -c pass`",
            f"{launch / python:.2f}x ({launch * 1000:.0f} vs {python * 1000:.0f} ms)",
            launch <= 2 * python,
        ),
        (
            "same launch (as installed) at least 2x faster than `dotenv run` with the same 60 variables",
            f"dotenv takes {dotenv / launch:.2f}x as long ({dotenv * 1000:.0f} ms)",
            dotenv >= 2 * launch,
        ),
    ]


def cold_start_checks(local: dict[str, Any], remote: Any) -> list[tuple[str, str, bool]]:
    """Issue 16: the launch a container pays (no replay), each ratio within one table."""
    python, dotenv = local[PYTHON].median, local["dotenv run n=20"].median
    found = []
    for name, label in ((FULL, "full path"), (COLD, "cold: no record, no parse cache")):
        timing = local.get(name)
        if timing is None:
            continue
        launch = timing.median
        found += [
            (
                f"exec, local store, 20 connections ({label}): at most 3x `python -I -c pass`",
                f"{launch / python:.2f}x ({launch * 1000:.0f} vs {python * 1000:.0f} ms)",
                launch <= 3 * python,
            ),
            (
                f"same launch ({label}) faster than `dotenv run` with the same 60 variables",
                f"dotenv takes {dotenv / launch:.2f}x as long ({dotenv * 1000:.0f} ms)",
                dotenv > launch,
            ),
        ]
    for kind in ("etcd", "http"):
        timing, interpreter = remote.timings.get(f"{kind} n=20"), remote.timings.get(f"{kind}: {PYTHON}")
        if timing is None or interpreter is None:
            continue
        found.append(
            (
                f"exec, {kind}, 20 connections: at most 5x `python -I -c pass`",
                f"{timing.median / interpreter.median:.2f}x ({timing.median * 1000:.0f} vs "
                f"{interpreter.median * 1000:.0f} ms)",
                timing.median <= 5 * interpreter.median,
            )
        )
    pairs = [
        ("local store", local.get(FULL), local.get(SUPERVISED_LAUNCH), python),
        (
            "etcd",
            remote.timings.get("etcd n=20"),
            remote.timings.get("etcd n=20, supervise"),
            getattr(remote.timings.get(f"etcd: {PYTHON}"), "median", None),
        ),
    ]
    for label, exec_timing, supervised, interpreter in pairs:
        if exec_timing is None or supervised is None or interpreter is None:
            continue
        extra = supervised.median - exec_timing.median
        found.append(
            (
                f"supervise ({label}, 20 connections) adds at most one interpreter start to exec",
                f"+{extra * 1000:.1f} ms ({supervised.median * 1000:.0f} vs {exec_timing.median * 1000:.0f} ms; "
                f"interpreter {interpreter * 1000:.0f} ms)",
                extra <= interpreter,
            )
        )
    return found


def checks(local: dict[str, Any], remote: Any, supervised: dict[str, Any]) -> list[tuple[str, str, bool]]:
    etcd10, etcd1000 = remote.timings["etcd n=10"].median, remote.timings["etcd n=1000"].median
    run = supervised[SUPERVISED]
    return [
        *launch_checks(local),
        *cold_start_checks(local, remote),
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
