"""Run benchmarks and record their figures in bench/RESULTS.md.

    .venv/bin/python -m bench.run [http|post|claim|sweep|seed|reports|suggest|all] [--seconds N]
    .venv/bin/python -m bench.run http [--quick] [--only post,claim,get,list,queue]

``http`` is the measure of the API (wrk against Whistle and a raw-asyncpg ceiling, see
``bench.bench_http``); ``post`` and ``claim`` are diagnostics below HTTP or with a Python
load generator, kept to locate a cost, not to judge the API by.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth), like the test suite; each benchmark makes
and drops its own database.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bench.harness import machine

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _ratio_table(results, target: float, what: str) -> str:
    lines = ["| path | clients | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    lines += [r.row() for r in results]
    by_c: dict[int, dict[str, float]] = {}
    for r in results:
        by_c.setdefault(r.concurrency, {})["base" if r.label.startswith("baseline")
                                           else "ours"] = r.throughput
    lines.append("")
    for c, pair in sorted(by_c.items()):
        if pair.get("base"):
            ratio = pair["ours"] / pair["base"]
            verdict = "meets" if ratio >= target else "misses"
            lines.append(f"- {c} clients: {what} = **{ratio:.0%}** of the baseline "
                         f"(target ≥ {target:.0%}: {verdict})")
    return "\n".join(lines)


def record(section: str, body: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else (
        "# Benchmark results\n\nEach section is rewritten by `python -m bench.run <name>`; "
        "figures are from one run on the machine named, with the baseline measured in the "
        "same run.\n")
    block = f"## {section}\n\n{machine()}\n\n{body}\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", nargs="?", default="all",
                        choices=["http", "post", "claim", "sweep", "seed", "reports", "suggest", "all"])
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds per run (http: 5, others: 10)")
    parser.add_argument("--quick", action="store_true",
                        help="http: one pair of 3 s runs per row, a shorter claim queue")
    parser.add_argument("--only", default="",
                        help="http: a comma-separated subset of post,claim,get,list,queue")
    args = parser.parse_args()
    if args.which in ("http", "all"):
        from bench import bench_http

        quick = {"seconds": 3.0, "pairs": 1, "queue": 40_000} if args.quick else {}
        if args.seconds:
            quick["seconds"] = args.seconds
        runs, facts = bench_http.run(**quick, only=tuple(filter(None, args.only.split(","))))
        body = bench_http.table(runs, facts)
        print(body)
        if not args.quick:
            record("HTTP: Whistle against its ceiling under wrk", body)
    args.seconds = args.seconds or 10.0
    if args.which in ("post", "all"):
        from bench import bench_post

        results = bench_post.run(seconds=args.seconds)
        body = _ratio_table(results, 0.5, "Whistle's throughput")
        print(body)
        record("Diagnostic: POST with a Python load generator (16 and 64 clients)", body)
    if args.which in ("claim", "all"):
        from bench import bench_claim

        body = bench_claim.table(bench_claim.run(seconds=args.seconds))
        print(body)
        record("Diagnostic: claiming below HTTP (16 and 64 claimers)", body)
    if args.which in ("sweep", "all"):
        from bench import bench_sweep

        body = bench_sweep.table(bench_sweep.run())
        print(body)
        record("The SLA sweep over 1M tickets (10k due)", body)
    if args.which in ("seed", "all"):
        from bench import bench_seed

        body = bench_seed.table(bench_seed.run())
        print(body)
        record("seed-bulk at database speed", body)
    if args.which in ("reports", "all"):
        from bench import bench_reports

        timings, facts = bench_reports.run()
        body = bench_reports.summary(timings, facts)
        print(body)
        record("Reports: a month's street report on 5M tickets", body)
    if args.which in ("suggest", "all"):
        from bench import bench_suggest

        body = bench_suggest.run()
        print(body)
        record("智能分拨: suggesting the item from the text", body)


if __name__ == "__main__":
    main()
