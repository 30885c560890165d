from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class MatrixVersion(Base):
    """One import of the matrix. Versions are immutable; the newest one is current."""

    __tablename__ = "matrix_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    item_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class MatrixItem(Base):
    """One item (事项) of one matrix version: who handles it, at which level, in what time.

    Limits are stored in minutes: of working time when ``time_basis`` is ``working``
    (a working day is 7 working hours), of calendar time when it is ``calendar``.
    """

    __tablename__ = "matrix_items"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint("handling_level IN ('grid', 'community', 'street')", name="handling_level"),
        CheckConstraint("time_basis IN ('working', 'calendar')", name="time_basis"),
        CheckConstraint(
            "NOT negative_list OR (handling_level = 'street' AND NOT self_handle_allowed)",
            name="negative_list_never_community",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("matrix_versions.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # How people say it (井盖没了, 路灯不亮): what the suggestion model learns first.
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    handling_level: Mapped[str] = mapped_column(String(16))
    self_handle_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Enforcement, work safety and fire (社区一律不作为责任主体): never a community's duty.
    negative_list: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_department: Mapped[str | None] = mapped_column(String(64))
    co_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_basis: Mapped[str] = mapped_column(String(16))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)
    urgent_response_minutes: Mapped[int] = mapped_column(Integer)
    urgent_resolve_minutes: Mapped[int] = mapped_column(Integer)
    photo_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The escalation ladder's grace past a failed limit (None: the category's; see
    # app.matrix.categories) and the whistle policy.
    response_grace_minutes: Mapped[int | None] = mapped_column(Integer)
    resolve_grace_minutes: Mapped[int | None] = mapped_column(Integer)
    auto_whistle: Mapped[bool] = mapped_column(Boolean, default=False)
