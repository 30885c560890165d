"""Response models of the reports; the metric fields are generated from
``app.reports.metrics`` so that the OpenAPI schema lists each one with its Chinese name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.reports.metrics import COUNT_METRICS, PERCENTILE_METRICS, RATE_METRICS


def _metrics_model() -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for m in COUNT_METRICS:
        fields[m.name] = (int, Field(description=m.zh))
    for m in RATE_METRICS:
        fields[m.name] = (float | None, Field(description=f"{m.zh} (fraction, 4 places)"))
    for m in PERCENTILE_METRICS:
        fields[m.name] = (int | None, Field(description=f"{m.zh} (bucket upper bound)"))
    return create_model("ReportMetrics", **fields)


ReportMetrics = _metrics_model()


class GroupLabel(BaseModel):
    code: str | None = Field(description="the code (null: no department)")
    name: str | None


class ReportRowOut(BaseModel):
    group: dict[str, GroupLabel] = Field(
        description="the value of each group_by dimension, e.g. {\"community\": {...}}")
    period: str | None = Field(
        description="with series: the day (YYYY-MM-DD), week (its Monday) or month (YYYY-MM)")
    metrics: ReportMetrics  # type: ignore[valid-type]  # a model create_model() builds


class SlaReportOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    group_by: list[str]
    series: str | None
    jurisdiction: str | None
    department: str | None
    category: str | None
    generated_at: datetime
    rows: list[ReportRowOut]
    total: ReportMetrics  # type: ignore[valid-type]  # a model create_model() builds


class RankingEntryOut(BaseModel):
    rank: int | None = Field(description="null: no rate to score")
    code: str | None
    name: str | None
    score: float | None
    on_time_response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    valid: int = Field(description="valid tickets in the period")
    previous_rank: int | None
    previous_score: float | None
    movement: int | None = Field(description="previous rank − rank (positive: moved up)")


class RankingsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    by: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    previous_from: date
    previous_to: date
    weights: dict[str, float]
    entries: list[RankingEntryOut]
