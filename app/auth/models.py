from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class Role(StrEnum):
    grid_worker = "grid_worker"  # 网格员: one or more grids
    community_dispatcher = "community_dispatcher"  # 社区调度: a community
    street_dispatcher = "street_dispatcher"  # 街道指挥中心: a street
    department_staff = "department_staff"  # 部门工作人员: a department
    department_lead = "department_lead"  # 部门负责人: a department
    supervisor = "supervisor"  # 督查: any node, read-only, its subtree
    admin = "admin"  # users, matrix, jurisdictions, departments
    integration = "integration"  # API keys: hotline / Open311 systems


_ROLE_LIST = ", ".join(f"'{r.value}'" for r in Role)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_LIST})", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    # The scope: a tree node (dispatchers, supervisors) or a department (staff, leads);
    # grid workers' grids are in user_grids.
    jurisdiction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    department_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("departments.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # An initial password (given by a bulk import): the user's tokens allow only changing
    # it (POST /auth/password) until they do.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False,
                                                       server_default=false())
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class UserGrid(Base):
    __tablename__ = "user_grids"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("jurisdictions.id", ondelete="CASCADE"), primary_key=True
    )


class RefreshToken(Base):
    """A rotating refresh token, stored as a hash. Each use replaces it with a new one of
    the same family; presenting a replaced token again revokes the whole family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        # Every API process reloads the families revoked in the last minutes
        # (app.auth.revocations); most tokens are never revoked, so the index is small.
        Index("ix_refresh_tokens_revoked_at", "revoked_at",
              postgresql_where=text("revoked_at IS NOT NULL"),
              sqlite_where=text("revoked_at IS NOT NULL")),
        # Retention finds the logins whose tokens have all expired (app.retention).
        Index("ix_refresh_tokens_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """An integration client's key: shown once, stored as a hash, found by its prefix."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    # The street (or any node) the client may file into; NULL means every street.
    jurisdiction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("jurisdictions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login, counted per account and per client address for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client_addr: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
