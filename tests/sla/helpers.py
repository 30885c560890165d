"""Shorthands for instants on the office clock of a Shanghai street."""

from __future__ import annotations

from datetime import datetime

from app.clock import SHANGHAI


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local Shanghai wall-clock instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
