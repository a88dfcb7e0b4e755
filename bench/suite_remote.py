"""Start-up through etcd and through the HTTP backend on loopback, with the requests each launch makes."""

from __future__ import annotations

import json
import os
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import bundle_setup
import servers
from measure import Timing, run_quiet, time_commands
from venv_setup import Venv
from workload import (
    COMPONENT,
    CREDENTIAL,
    ENVIRONMENT,
    PROJECT,
    Workload,
    credential_file,
    make_component,
    write_tokens,
)

SIZES = (1, 10, 20, 100, 1000)
BUNDLE_SIZES = (10, 20, 1000)  # the ones issue 16's targets use, timed through the bundle too
PYTHON = "python -I -c pass"  # in each table: the targets are ratios to it (report.PYTHON)
TOKEN = "bench-token-0123456789"
COUNTED_LAUNCHES = 3
COUNTER_SCRIPT = str(Path(__file__).with_name("count_requests.py"))


@dataclass
class RemoteResult:
    """Per backend and size: timing, server-side requests per launch, and extras."""

    timings: dict[str, Timing] = field(default_factory=dict)
    requests: dict[str, float] = field(default_factory=dict)  # command name -> requests per launch (server side)
    client_counter: dict[int, dict[str, int]] = field(default_factory=dict)  # etcd size -> backend.requests
    server_ms: dict[int, float] = field(default_factory=dict)  # HTTP size -> median answer time of one GET


def launch_argv(venv: Venv, workload: Workload, url: str, launcher: str | None = None) -> list[str]:
    """A launch by the venv's choreo-run, or by `launcher` (the bundle's binary)."""
    return [launcher or venv.choreo_run, *workload.identity_args(), "--backend", url, "--", "true"]


def supervise_rows(name: str, argv: list[str], directory: Path) -> dict[str, list[str]]:
    """Supervise mode next to exec launch `argv`, without and with a launcher credential (which makes
    the launcher re-exec into the lean supervisor); the credential row has `env` in front."""
    supervised = [*argv[:-2], "--supervise", *argv[-2:]]
    return {
        f"{name}, supervise": supervised,
        f"{name}, supervise, launcher credential": ["env", CREDENTIAL, *supervised],
        f"{name}, supervise, launcher credential file": ["env", credential_file(directory), *supervised],
    }


def bundle_rows(name: str, argv: list[str], supervise: bool, directory: Path) -> dict[str, list[str]]:
    """The bundle's twin of row `name` (its launch `argv`), and its supervise rows if asked."""
    rows = {name: argv, **(supervise_rows(name, argv, directory) if supervise else {})}
    return {bundle_setup.row(row): command for row, command in rows.items()}


def requests_per_launch(argv: list[str], counter, env: dict[str, str]) -> float:  # type: ignore[no-untyped-def]
    """Server-side requests over a few launches, divided by the launches."""
    before = counter()
    for _ in range(COUNTED_LAUNCHES):
        run_quiet(argv, env)
    return (counter() - before) / COUNTED_LAUNCHES


def push(venv: Venv, etcd: servers.Etcd, workload: Workload) -> str:
    """Push the workload's store under its own prefix; returns the backend URL."""
    url = etcd.url(f"/bench{workload.size}")
    run_quiet([venv.choreo_run, "store", "push", "--store", str(workload.store), url])
    return url


def etcd_part(
    venv: Venv, etcd: servers.Etcd, root: Path, result: RemoteResult, runs: int, warmup: int, binary: str | None
) -> None:
    named = {f"etcd: {PYTHON}": [venv.python, "-I", "-c", "pass"]}
    for workload in [make_component(root, size) for size in SIZES]:
        url = push(venv, etcd, workload)
        named[f"etcd n={workload.size}"] = argv = launch_argv(venv, workload, url)
        if workload.size == 20:
            named.update(supervise_rows("etcd n=20", argv, workload.directory))
        if binary and workload.size in BUNDLE_SIZES:
            twin_workload = bundle_setup.workload(root, workload.size)
            twin = launch_argv(venv, twin_workload, url, binary)
            named.update(bundle_rows(f"etcd n={workload.size}", twin, workload.size == 20, twin_workload.directory))
        result.requests[f"etcd n={workload.size}"] = requests_per_launch(argv, etcd.range_requests, dict(os.environ))
        counted = run_quiet([venv.python, COUNTER_SCRIPT, url, PROJECT, COMPONENT]).stdout
        result.client_counter[workload.size] = json.loads(counted)
    result.timings.update(time_commands(named, runs, warmup))


def snapshot_url(server: servers.HttpServer) -> str:
    return f"{server.url}/v1/projects/{PROJECT}/components/{COMPONENT}/environments/{ENVIRONMENT}/snapshot"


def answer_ms(server: servers.HttpServer, samples: int = 15) -> float:
    """The server's own time for one snapshot (a plain GET from here), median in milliseconds."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        servers.http_get(snapshot_url(server), {"Authorization": f"Bearer {TOKEN}"})
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def http_part(venv: Venv, root: Path, result: RemoteResult, runs: int, warmup: int, binary: str | None) -> None:
    """One serve-http per size (it serves one store file), all up together so the sizes are timed side by side."""
    tokens = write_tokens(root / "tokens.yaml", TOKEN)
    env = {**os.environ, "CHOREO_RUN_TOKEN": TOKEN}
    named = {f"http: {PYTHON}": [venv.python, "-I", "-c", "pass"]}
    with ExitStack() as stack:
        for workload in [make_component(root, size) for size in SIZES]:
            log = root / f"serve-http-{workload.size}.log"
            server = stack.enter_context(servers.serve_http(venv.choreo_run, workload.store, tokens, log))
            named[f"http n={workload.size}"] = argv = launch_argv(venv, workload, server.url)
            if binary and workload.size == 20:
                twin_workload = bundle_setup.workload(root, 20)
                twin = launch_argv(venv, twin_workload, server.url, binary)
                named.update(bundle_rows("http n=20", twin, False, twin_workload.directory))
            result.requests[f"http n={workload.size}"] = requests_per_launch(argv, server.snapshot_requests, env)
            result.server_ms[workload.size] = answer_ms(server)
        result.timings.update(time_commands(named, runs, warmup, env))


def run(venv: Venv, etcd: servers.Etcd, root: Path, runs: int, warmup: int, binary: str | None = None) -> RemoteResult:
    """`binary`: the bundle's, whose rows are timed in the same round-robins (None: no bundle rows)."""
    result = RemoteResult()
    etcd_part(venv, etcd, root, result, runs, warmup, binary)
    http_part(venv, root, result, runs, warmup, binary)
    return result
