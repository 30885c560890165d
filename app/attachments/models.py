from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class Attachment(Base):
    """An uploaded image. Until a ticket or an action references it, only its uploader
    may use it; once referenced it belongs to that ticket (and that event) for good.

    ``sha256``, ``size`` and ``original_key`` are the upload as it came (kept as evidence,
    never served); ``storage_key`` and ``content_type`` are the copy every endpoint serves,
    without metadata; ``evidence`` is what the upload's EXIF said (when and where it was
    taken), shown only to whoever may see the reporter. Rows stored before these columns
    existed have no ``thumbnail_key``: their copies are made on first read."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_by_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    uploaded_by_api_key_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("api_keys.id"))
    ticket_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ticket_events.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    original_content_type: Mapped[str | None] = mapped_column(String(64))
    original_key: Mapped[str | None] = mapped_column(String(255))
    thumbnail_key: Mapped[str | None] = mapped_column(String(255))
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
