"""Shared benchmark plumbing: a fresh PostgreSQL database, uvicorn servers in subprocesses,
a load generator in its own process, and the machine description for RESULTS.md.

Every benchmark compares the path under test with a baseline measured in the same run on
the same machine, and reports the ratio: absolute numbers on a noisy 2-core box mean little.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("WHISTLE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    """A free loopback port: ``WHISTLE_BENCH_PORT`` when set (a machine shared by several
    people gives each a range), else one the system picks."""
    if os.environ.get("WHISTLE_BENCH_PORT"):
        return int(os.environ["WHISTLE_BENCH_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(name: str):
    """A new PostgreSQL database for the run; dropped afterwards. ``WHISTLE_BENCH_DATABASE``
    names it instead (a machine shared by several people gives each their own database)."""
    name = os.environ.get("WHISTLE_BENCH_DATABASE", name)
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextmanager
def server(target: str, *, env: dict[str, str], workers: int = 1, factory: bool = False,
           port: int | None = None):
    """Run ``uvicorn target`` on a loopback port (a free one by default) until the block ends."""
    with server_process(target, env=env, workers=workers, factory=factory,
                        port=port) as (url, _pid):
        yield url


@contextmanager
def server_process(target: str, *, env: dict[str, str], workers: int = 1,
                   factory: bool = False, port: int | None = None):
    """Like ``server``, yielding the URL and the server's process id (its CPU time is in
    ``/proc/<pid>/stat``: with one worker, uvicorn serves in that process)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"server {target} did not start")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass
class LoadResult:
    label: str
    concurrency: int
    requests: int
    errors: int
    seconds: float

    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        return (f"| {self.label} | {self.concurrency} | {self.throughput:,.0f} | "
                f"{self.pct(0.50):.1f} | {self.pct(0.99):.1f} | {self.errors} |")


def _load_worker(url: str, path: str, headers: dict, bodies: list, concurrency: int,
                 seconds: float, out) -> None:
    async def run() -> tuple[int, int, list[float], float]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        stop = time.monotonic() + seconds
        latencies: list[float] = []
        errors = 0
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            async def one(n: int) -> None:
                nonlocal errors
                i = n
                while time.monotonic() < stop:
                    body = bodies[i % len(bodies)]
                    i += concurrency
                    t0 = time.perf_counter()
                    r = await client.post(path, json=body, headers=headers)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    if r.status_code >= 400:
                        errors += 1
            started = time.monotonic()
            await asyncio.gather(*(one(n) for n in range(concurrency)))
            elapsed = time.monotonic() - started
        return len(latencies), errors, latencies, elapsed

    out.put(asyncio.run(run()))


def post_load(label: str, url: str, path: str, *, headers: dict, bodies: list,
              concurrency: int, seconds: float) -> LoadResult:
    """POST ``bodies`` round-robin from ``concurrency`` connections for ``seconds``, from a
    separate process so the generator does not share the server's interpreter."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_load_worker,
                      args=(url, path, headers, bodies, concurrency, seconds, queue))
    proc.start()
    count, errors, latencies, elapsed = queue.get()
    proc.join()
    return LoadResult(label, concurrency, count, errors, elapsed, latencies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``), every thread."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · {cpu} · "
            f"{os.cpu_count()} cores · Python {platform.python_version()} · "
            f"{platform.system()} {platform.release()}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out
