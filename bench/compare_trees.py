"""Whistle before and after a change, next to the ceiling, on one database and alternating.

    git archive <commit> | tar -x -C /tmp/before
    CONNS=16,64 .venv/bin/python -m bench.compare_trees /tmp/before get,post,claim,list [rounds] [s]

``bench.bench_http`` compares this tree with the ceiling; on a shared machine the ratio moves
with the load between two runs of it, so a change is judged here instead: three servers
(the other tree's Whistle, this tree's, the ceiling) loaded in turn, round after round, and
each side's median req/s, CPU ms per request and p99 reported with the ratios of the
rounds. Both Whistles claim from the same queue (SZ), the ceiling from its own (YL).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import bench_http as bh
from bench import bulk
from bench.harness import ROOT, fresh_database

SIDES = ("before", "after", "ceiling")
CLAIM_QUEUES = {"before": "SZ", "after": "SZ", "ceiling": "YL"}


def _start(target: str, env: dict[str, str], port: int, cwd: str | Path,
           factory: bool = False) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--log-level", "warning", "--no-access-log"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"server {target} in {cwd} did not start")
        time.sleep(0.2)


def main() -> None:
    before_tree, which = sys.argv[1], sys.argv[2].split(",")
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 4.0
    conns = [int(c) for c in os.environ.get("CONNS", "16").split(",")]
    port = int(os.environ.get("WHISTLE_BENCH_PORT", "18770"))
    with fresh_database("whistle_bench_trees") as url, tempfile.TemporaryDirectory() as tmp:
        setup = asyncio.run(bh._setup(url, 30_000))
        env = {"WHISTLE_DATABASE_URL": url, "WHISTLE_SECRET_KEY": bh.SECRET,
               "WHISTLE_ENV": "production", "WHISTLE_DATABASE_POOL_SIZE": "20",
               "WHISTLE_DATABASE_MAX_OVERFLOW": "0"}
        ceiling_env = {"CEILING_DSN": bulk.dsn(url), "CEILING_SECRET": bh.SECRET,
                       "CEILING_ITEM": setup.post_item, "CEILING_GRID": bh.GRID}
        servers: dict[str, tuple[subprocess.Popen, str]] = {}
        try:
            servers["before"] = _start("app.main:create_app", env, port, before_tree, True)
            servers["after"] = _start("app.main:create_app", env, port + 1, ROOT, True)
            servers["ceiling"] = _start("bench.ceiling_http:app", ceiling_env, port + 2, ROOT)
            _measure(setup, url, which, conns, rounds, seconds, servers, Path(tmp))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=15)


def _measure(setup, url, which, conns, rounds, seconds, servers, work) -> None:
    t = setup.tokens
    post = bh.Endpoint("post", "POST", (["/api/v1/tickets"],) * 2, (t["gw01"],) * 2,
                       bh._bodies(setup.post_item), idempotency_keys=True)
    for proc, base in servers.values():
        bh._one_run(post, 0, base, proc.pid, 8, 2, work)  # warm-up; the reads read these
    ids = asyncio.run(bh._ticket_ids(url))
    endpoints = {
        "post": post,
        "get": bh.Endpoint("get", "GET", ([f"/api/v1/tickets/{i}" for i in ids],) * 2,
                           (t["sd"],) * 2),
        "list": bh.Endpoint("list", "GET", (["/api/v1/tickets?limit=50"],) * 2, (t["sd"],) * 2),
    }
    def endpoint(name: str, side: str) -> bh.Endpoint:
        code = CLAIM_QUEUES[side]
        return endpoints.get(name) or bh.Endpoint(
            "claim", "POST", ([f"/api/v1/departments/{code}/queue/claim-next"],) * 2,
            (t[code],) * 2)

    runs: dict[tuple[str, int, str], list[bh.Run]] = {}
    for name in which:
        for side in SIDES:  # warm-up: statements prepared, caches filled
            proc, base = servers[side]
            bh._one_run(endpoint(name, side), 0, base, proc.pid, 8, 1, work)
        for c in conns:
            for _ in range(rounds):
                for side in SIDES:
                    proc, base = servers[side]
                    r = bh._one_run(endpoint(name, side), 0, base, proc.pid, c, seconds, work)
                    runs.setdefault((name, c, side), []).append(r)
                    print(f"{name} c={c} {side}: {r.result.rate:,.0f} req/s, "
                          f"{r.cpu_ms_per_request:.3f} ms CPU/req, p99 {r.result.p99_ms:.0f} ms, "
                          f"non-2xx {r.result.non2xx}, load {r.load:.1f}", flush=True)
    print(_table(runs, which, conns))


def _table(runs, which, conns) -> str:
    med = statistics.median
    lines = ["| endpoint | conns | req/s before / after / ceiling | before ÷ ceiling "
             "| after ÷ ceiling | after ÷ before | CPU ms/req before / after / ceiling "
             "| p99 ms before / after / ceiling | load |", "|---|---|---|---|---|---|---|---|---|"]
    for name in which:
        for c in conns:
            side = {s: runs[(name, c, s)] for s in SIDES}

            def ratio(a: str, b: str, side=side) -> float:
                return med(x.result.rate / y.result.rate
                           for x, y in zip(side[a], side[b], strict=True) if y.result.rate)

            loads = [r.load for rs in side.values() for r in rs]
            lines.append(
                f"| {name} | {c} | "
                + " / ".join(f"{med(r.result.rate for r in side[s]):,.0f}" for s in SIDES)
                + f" | {ratio('before', 'ceiling'):.0%} | {ratio('after', 'ceiling'):.0%} "
                f"| {ratio('after', 'before'):.2f}× | "
                + " / ".join(f"{med(r.cpu_ms_per_request for r in side[s]):.2f}" for s in SIDES)
                + " | " + " / ".join(f"{med(r.result.p99_ms for r in side[s]):.0f}" for s in SIDES)
                + f" | {min(loads):.1f}–{max(loads):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
