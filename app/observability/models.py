"""The worker's heartbeat (``worker_heartbeats``): one row per worker process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class WorkerHeartbeat(Base):
    """A worker process's last pass: when it ended, how long it took and what it did.
    Readiness (for admins) and ``/metrics`` read the newest row; a stale one means no
    worker is sweeping."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the process started
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # its last pass's end
    pass_seconds: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
