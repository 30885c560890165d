"""The worker's heartbeat: after every pass a worker process writes when it ended, how
long it took and what it did (``repository.record_heartbeat``). Nothing else tells an
operator that the sweep has stopped: the API keeps answering while deadlines go by."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from app.config import Settings
from app.observability.models import WorkerHeartbeat


def worker_name() -> str:
    """This process, as its heartbeat row names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_stale(beat: WorkerHeartbeat | None, *, now: datetime, settings: Settings) -> bool:
    """No worker has ended a pass within ``worker_stale_seconds`` (or none ever has)."""
    return beat is None or now - beat.beat_at > timedelta(seconds=settings.worker_stale_seconds)
