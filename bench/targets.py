"""The issue's targets, each checked against the measurements: (target, measured, pass).

Issue 16's targets are checked twice: for the installed package and, labelled "(bundle)", for the
self-contained bundle, whose rows were timed in the same tables. The bundle's interpreter baseline
stays the venv's `python -I -c pass`: the interpreter the bundle replaces. A check whose rows are
missing is reported as not measured (`None`), never dropped silently.
"""

from __future__ import annotations

from typing import Any

from bundle_setup import BundleStatus, row
from report import PYTHON, table
from suite_local import COLD, CREDENTIAL_FILE_ROW, CREDENTIAL_ROW, FULL, SUPERVISED

ETCD_SUPERVISED = "etcd n=20, supervise"
ETCD_CREDENTIAL = "etcd n=20, supervise, launcher credential"
ETCD_CREDENTIAL_FILE = "etcd n=20, supervise, launcher credential file"

SUPERVISED_RUN = "supervise, local n=20"  # suite_supervise's row

Check = tuple[str, str, bool | None]  # target, measured, pass (None: not measured)


def launch_checks(local: dict[str, Any]) -> list[Check]:
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


def named(name: str, bundle: bool) -> str:
    """The row measuring `name` for the installed package or for the bundle."""
    return row(name) if bundle else name


def labelled(text: str, bundle: bool) -> str:
    return f"{text} (bundle)" if bundle else text


def local_checks(local: dict[str, Any], bundle: bool) -> list[Check]:
    """Issue 16, local store: full path and cold launch against the interpreter and `dotenv run`."""
    python, dotenv = local[PYTHON].median, local["dotenv run n=20"].median
    found = []
    for name, label in ((FULL, "full path"), (COLD, "cold: no record, no parse cache")):
        timing = local.get(named(name, bundle))
        if timing is None:
            continue
        launch = timing.median
        found += [
            (
                labelled(f"exec, local store, 20 connections ({label}): at most 3x `python -I -c pass`", bundle),
                f"{launch / python:.2f}x ({launch * 1000:.0f} vs {python * 1000:.0f} ms)",
                launch <= 3 * python,
            ),
            (
                labelled(f"same launch ({label}) faster than `dotenv run` with the same 60 variables", bundle),
                f"dotenv takes {dotenv / launch:.2f}x as long ({dotenv * 1000:.0f} ms)",
                dotenv > launch,
            ),
        ]
    return found


def remote_checks(remote: Any, bundle: bool) -> list[Check]:
    """Issue 16, etcd and HTTP: 20 connections against the interpreter timed in the same table."""
    found = []
    for kind in ("etcd", "http"):
        timing, interpreter = remote.timings.get(named(f"{kind} n=20", bundle)), remote.timings.get(f"{kind}: {PYTHON}")
        if timing is None or interpreter is None:
            continue
        found.append(
            (
                labelled(f"exec, {kind}, 20 connections: at most 5x `python -I -c pass`", bundle),
                f"{timing.median / interpreter.median:.2f}x ({timing.median * 1000:.0f} vs "
                f"{interpreter.median * 1000:.0f} ms)",
                timing.median <= 5 * interpreter.median,
            )
        )
    return found


def supervise_pairs(
    local: dict[str, Any], remote: Any, bundle: bool, credential: str | None
) -> list[tuple[str, Any, Any, Any]]:
    """(label, exec timing, supervise timing, interpreter median) for the local store and etcd, 20
    connections; the supervise launch without a launcher credential (None), or with one as a
    "variable" or a "file". None where not measured."""
    local_row, etcd_row = {
        None: (SUPERVISED, ETCD_SUPERVISED),
        "variable": (CREDENTIAL_ROW, ETCD_CREDENTIAL),
        "file": (CREDENTIAL_FILE_ROW, ETCD_CREDENTIAL_FILE),
    }[credential]
    return [
        ("local store", local.get(named(FULL, bundle)), local.get(named(local_row, bundle)), local[PYTHON].median),
        (
            "etcd",
            remote.timings.get(named("etcd n=20", bundle)),
            remote.timings.get(named(etcd_row, bundle)),
            getattr(remote.timings.get(f"etcd: {PYTHON}"), "median", None),
        ),
    ]


def supervise_checks(local: dict[str, Any], remote: Any, bundle: bool) -> list[Check]:
    """Issue 16: supervise mode (no launcher credential) adds at most one interpreter start to exec."""
    found = []
    for label, exec_timing, supervised, interpreter in supervise_pairs(local, remote, bundle, credential=None):
        if exec_timing is None or supervised is None or interpreter is None:
            continue
        extra = supervised.median - exec_timing.median
        found.append(
            (
                labelled(f"supervise ({label}, 20 connections) adds at most one interpreter start to exec", bundle),
                f"+{extra * 1000:.1f} ms ({supervised.median * 1000:.0f} vs {exec_timing.median * 1000:.0f} ms; "
                f"interpreter {interpreter * 1000:.0f} ms)",
                extra <= interpreter,
            )
        )
    return found


def scaling_checks(remote: Any, bundle: bool) -> list[Check]:
    """Issue 16: etcd, 1,000 connections against 10, both timed in the same table."""
    ten, thousand = remote.timings.get(named("etcd n=10", bundle)), remote.timings.get(named("etcd n=1000", bundle))
    if ten is None or thousand is None:
        return []
    return [
        (
            labelled("etcd: 1,000 connections in at most 2x the time of 10", bundle),
            f"{thousand.median / ten.median:.2f}x ({thousand.median * 1000:.0f} vs {ten.median * 1000:.0f} ms)",
            thousand.median <= 2 * ten.median,
        )
    ]


def cold_start_checks(local: dict[str, Any], remote: Any, bundle: bool = False) -> list[Check]:
    """Issue 16: the launch a container pays (no replay), each ratio within one table."""
    return [
        *local_checks(local, bundle),
        *remote_checks(remote, bundle),
        *supervise_checks(local, remote, bundle),
        *scaling_checks(remote, bundle),
    ]


def supervise_run_checks(supervised: dict[str, Any], bundle: bool) -> list[Check]:
    """Issue 8: the supervising launcher's memory and signal latency (no launcher credential)."""
    run = supervised.get(named(SUPERVISED_RUN, bundle))
    if run is None:
        return []
    return [
        (labelled("supervise mode under 20 MB resident", bundle), f"{run.rss_mb:.1f} MB RSS", run.rss_mb < 20),
        (
            labelled("signal delivery under 5 ms median", bundle),
            f"{run.median_ms:.3f} ms median",
            run.median_ms < 5,
        ),
    ]


def checks(local: dict[str, Any], remote: Any, supervised: dict[str, Any], bundle: BundleStatus) -> list[Check]:
    """Every target for the installed package, then issue 16's (and the supervisor's) for the bundle."""
    found = [*launch_checks(local), *cold_start_checks(local, remote), *supervise_run_checks(supervised, False)]
    if bundle.binary is None:
        return [*found, ("issue 16's targets for the self-contained bundle", bundle.reason, None)]
    return [*found, *cold_start_checks(local, remote, bundle=True), *supervise_run_checks(supervised, True)]


def credential_rows(local: dict[str, Any], remote: Any, bundle: bool) -> list[list[str]]:
    """Supervise with a launcher credential: CHOREO_RUN_TOKEN set (the lean supervisor re-exec), or
    CHOREO_RUN_TOKEN_FILE (supervised from the launcher's own process, made non-dumpable)."""
    rows = []
    plain = supervise_pairs(local, remote, bundle, credential=None)
    for form in ("variable", "file"):
        for (label, exec_timing, supervised, interpreter), (_, _, without, _) in zip(
            supervise_pairs(local, remote, bundle, credential=form), plain, strict=True
        ):
            if exec_timing is None or supervised is None or interpreter is None:
                continue
            rows.append(
                credential_row(
                    f"{label}, 20 connections, token {form}", bundle, exec_timing, supervised, without, interpreter
                )
            )
    return rows


def credential_row(
    label: str, bundle: bool, exec_timing: Any, supervised: Any, without: Any, interpreter: float
) -> list[str]:
    return [
        f"{label}{' (bundle)' if bundle else ''}",
        f"{supervised.median * 1000:.1f}",
        f"{exec_timing.median * 1000:.1f}",
        f"+{(supervised.median - exec_timing.median) * 1000:.1f} ms",
        f"+{(without.median - exec_timing.median) * 1000:.1f} ms" if without else "-",
        f"{(supervised.median - exec_timing.median) / interpreter:.2f}",
    ]


def credential_table(local: dict[str, Any], remote: Any, bundle: BundleStatus) -> list[str]:
    """Information, not a target: what supervise costs when the launcher holds a credential."""
    rows = credential_rows(local, remote, False) + (credential_rows(local, remote, True) if bundle.binary else [])
    header = [
        "supervise with a launcher token (CHOREO_RUN_TOKEN, or its _FILE)",
        "median ms",
        "exec ms",
        "extra over exec",
        "same, no credential",
        "extra in interpreter starts",
    ]
    note = [
        "",
        "Exec is the full path (local store: `CHOREO_RUN_FAST=0`) without `--supervise`; interpreter "
        "starts are the venv's `python -I -c pass` of the same table. A token variable is in the "
        "launcher's environment block, so it supervises through the lean re-exec; a token file is "
        "only in its memory, so it supervises in-process, made non-dumpable (docs/supervise.md). The "
        "etcd credential rows have `env CHOREO_RUN_TOKEN...=...` in front (about the floor, "
        "`env FOO=bar true`) and etcd's exec row does not; the local rows all have an `env` in front.",
    ]
    return table(header, rows) + note


def targets_table(results: list[Check]) -> list[str]:
    verdict = {True: "**pass**", False: "**FAIL**", None: "not measured"}
    return table(
        ["target", "measured", "result"], [[target, measured, verdict[ok]] for target, measured, ok in results]
    )
