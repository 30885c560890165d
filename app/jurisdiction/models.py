from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class Level(StrEnum):
    """A node's level in the tree; also the level a ticket is held at."""

    street = "street"  # 街道
    community = "community"  # 社区
    grid = "grid"  # 网格


PARENT_LEVEL = {Level.community: Level.street, Level.grid: Level.community}


class Jurisdiction(Base):
    """One node of the tree. Every node carries the ids of its street and community so
    that "is this ticket in my subtree" is an equality test, not a recursive query."""

    __tablename__ = "jurisdictions"
    __table_args__ = (
        CheckConstraint("level IN ('street', 'community', 'grid')", name="level"),
        CheckConstraint("(level = 'street') = (parent_id IS NULL)", name="parent_by_level"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("jurisdictions.id", ondelete="RESTRICT"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(BigId, index=True)
    community_id: Mapped[int | None] = mapped_column(BigId, index=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class Department(Base):
    """A functional department (职能部门), beside the tree; it serves one or more streets."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class DepartmentStreet(Base):
    __tablename__ = "department_streets"

    department_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True
    )
    street_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True
    )
