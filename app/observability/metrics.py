"""The process's own Prometheus metrics, and ``GET /metrics``.

Under ``whistle serve --workers N`` every worker process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (``whistle serve`` makes one when it is unset) and a scrape,
whichever process answers it, adds them all up; gauges say how (``livesum``: the sum over
living processes). The service's figures (``figures.py``) come from the database, so one
process's answer is the whole truth for them.

Access: from the networks in ``WHISTLE_METRICS_ALLOWED_NETWORKS`` (loopback by default),
or from anywhere with ``Authorization: Bearer <WHISTLE_METRICS_TOKEN>``; anyone else gets
404, as if there were no such page.
"""

from __future__ import annotations

import hmac
import os
import tempfile
from ipaddress import ip_address
from pathlib import Path

from fastapi import Request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Histogram(
    "whistle_http_request_duration_seconds",
    "HTTP requests by route template and status, and how long they took (a live stream "
    "counts when it ends)",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0))
POOL_IN_USE = Gauge("whistle_db_pool_connections_in_use",
                    "database connections checked out of the pool", multiprocess_mode="livesum")
POOL_CAPACITY = Gauge("whistle_db_pool_capacity",
                      "connections the pool may hold at once (pool size + overflow)",
                      multiprocess_mode="livesum")
LIVE_STREAMS = Gauge("whistle_live_streams_open", "open live-queue (SSE) streams",
                     multiprocess_mode="livesum")
DELIVERY_FAILURES = Counter(
    "whistle_delivery_failures_total",
    "failed delivery attempts to outside systems, by channel (webhook; notification)",
    ["channel"])
WORKER_PASSES = Histogram(
    "whistle_worker_pass_duration_seconds", "the worker's passes and how long they took",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))


def watch_pool(engine: AsyncEngine, *, capacity: int) -> None:
    """Count the engine's checked-out connections (two gauge writes per request)."""
    POOL_CAPACITY.inc(capacity)
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: POOL_IN_USE.dec())


def prepare_multiprocess() -> None:
    """Give ``--workers N`` a fresh directory to share samples in (unless the operator
    named one): every process started after this writes there."""
    if not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="whistle-metrics-")


def forget_process(pid: int) -> None:
    """Drop a process's live gauges (pool use, open streams) from the shared directory: a
    ``livesum`` gauge is summed over whatever files are there, so a worker that ended, or
    was killed and replaced by uvicorn, would otherwise be counted for ever. Its counters
    and histograms stay: they are history."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(pid)


def forget_dead_processes() -> None:
    """At a process's start: forget the live gauges of processes that ended without saying
    so (killed, out of memory)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            mark_process_dead(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def process_metrics() -> bytes:
    """This process's metrics, or every worker process's when they share a directory."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def may_scrape(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return True
    if request.client is None:
        return False
    try:
        address = ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allowed_networks)

