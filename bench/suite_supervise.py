"""Supervise mode: the launcher's resident memory while the service runs, and signal forwarding latency.

The sender takes CLOCK_MONOTONIC just before kill(launcher, SIGUSR1); the child takes it when the
signal arrives (signal_child.py) and writes it to a pipe. The same child started directly, and
signalled directly, gives the floor: what the kernel and the child's own wake-up cost without a launcher.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import bundle_setup
import psutil
from measure import percentile
from venv_setup import Venv
from workload import CREDENTIAL, Workload, make_component

CHILD = str(Path(__file__).with_name("signal_child.py"))
TIMEOUT = 5.0  # seconds to wait for any one line from the child


@dataclass(frozen=True)
class SignalRun:
    """One process tree's numbers: memory of the process signalled, latencies in milliseconds."""

    rss_mb: float
    uss_mb: float
    median_ms: float
    p95_ms: float
    worst_ms: float


def read_line(fd: int) -> bytes:
    """One line from the pipe (the child writes whole lines with one write), or fail after TIMEOUT."""
    if not select.select([fd], [], [], TIMEOUT)[0]:
        raise RuntimeError("the child did not answer within 5 s")
    return os.read(fd, 64).strip()


def round_trips(pid: int, fd: int, count: int) -> list[float]:
    """Latencies (ms) of `count` SIGUSR1 sent to `pid`, one at a time."""
    latencies = []
    for _ in range(count):
        sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        os.kill(pid, signal.SIGUSR1)
        latencies.append((int(read_line(fd)) - sent) / 1e6)
    return latencies


def memory_mb(pid: int) -> tuple[float, float]:
    info = psutil.Process(pid).memory_full_info()
    return info.rss / 2**20, info.uss / 2**20


def measure_tree(argv: list[str], count: int, env: dict[str, str] | None = None) -> SignalRun:
    """Start `argv` (which ends with the child and its pipe), wait for ready, signal it `count` times."""
    reader, writer = os.pipe()
    process = subprocess.Popen([*argv, str(writer), str(count)], pass_fds=(writer,), env=env)
    os.close(writer)
    try:
        if read_line(reader) != b"ready":
            raise RuntimeError("unexpected first line from the child")
        time.sleep(0.3)  # let the launcher settle into its wait
        rss, uss = memory_mb(process.pid)
        latencies = round_trips(process.pid, reader, count)
        if process.wait(TIMEOUT) != 0:
            raise RuntimeError(f"{argv[0]} exited {process.returncode}")
    finally:
        os.close(reader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return SignalRun(rss, uss, percentile(latencies, 0.5), percentile(latencies, 0.95), max(latencies))


def launcher_argv(venv: Venv, workload: Workload, backend: list[str], launcher: str | None = None) -> list[str]:
    """Supervise the signal child, by the venv's choreo-run or by `launcher` (the bundle's binary)."""
    return [launcher or venv.choreo_run, *workload.identity_args(), *backend, "--supervise", "--", venv.python, CHILD]


def local_runs(argv: list[str], count: int) -> dict[str, SignalRun]:
    """Supervising with the local store, without and with a launcher credential in the environment."""
    name, value = CREDENTIAL.split("=", 1)
    return {
        "supervise, local n=20": measure_tree(argv, count),
        "supervise, local n=20, launcher credential": measure_tree(argv, count, {**os.environ, name: value}),
    }


def run(
    venv: Venv, root: Path, count: int, etcd_url: str | None = None, binary: str | None = None
) -> dict[str, SignalRun]:
    """Direct child (floor), supervised with the local store (20 connections), through etcd if given,
    and by the bundle's `binary` if given."""
    workload = make_component(root, 20)
    results = {"child alone (floor)": measure_tree([venv.python, CHILD], count)}
    results.update(local_runs(launcher_argv(venv, workload, []), count))
    if etcd_url:
        results["supervise, etcd n=20"] = measure_tree(launcher_argv(venv, workload, ["--backend", etcd_url]), count)
    if binary:
        twin = launcher_argv(venv, bundle_setup.workload(root, 20), [], binary)
        results.update({bundle_setup.row(name): run for name, run in local_runs(twin, count).items()})
    return results
