from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, UTCDateTime, utc_now


class SuggestModel(Base):
    """One trained suggestion model (``whistle suggest-train``), for one matrix version.

    Stored in the database so that every API process serves the same one; the newest for
    the current matrix version is served, and a version with none suggests from the matrix
    alone (``app.suggest.matrix_model``).
    """

    __tablename__ = "suggest_models"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    matrix_version_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("matrix_versions.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    # How many examples of each kind it learnt from: matrix phrases, closed tickets, corrections.
    examples: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scorer: Mapped[bytes] = mapped_column(LargeBinary)  # LinearScorer.to_bytes()
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
