"""The report's metrics: counts summed from the rollups, rates derived from them, and
percentiles read from duration histograms. Pure; the formulas are written out in
``FORMULAS.md`` (served in the OpenAPI description too).

Every metric has an English name (JSON keys, ``lang=en`` CSV headers) and a Chinese label
(``lang=zh`` CSV headers, the default for Excel users).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass

from app.reports.models import COUNTERS, SUMMONS_COUNTERS

RATE_DIGITS = 4  # rates are fractions rounded to 4 places (0.9583 = 95.83 %)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    zh: str


COUNT_METRICS: tuple[Metric, ...] = (
    Metric("reported", "上报数"),
    Metric("cancelled", "作废数"),
    Metric("valid", "有效数"),
    Metric("open", "在办数"),
    Metric("closed", "结案数"),
    Metric("suspended", "缓办数"),
    Metric("overdue_now", "超时在办数"),
    Metric("dispatched", "应签收数"),
    Metric("responded", "签收数"),
    Metric("responded_on_time", "按时签收数"),
    Metric("resolved", "处置数"),
    Metric("closed_on_time", "按期结案数"),
    Metric("rated", "评价数"),
    Metric("satisfied", "满意数"),
    Metric("returned", "退单数"),
    Metric("reworked", "返工数"),
    Metric("extended", "延期数"),
    Metric("escalated_to_community", "上报社区数"),
    Metric("escalated_to_street", "上报街道数"),
    Metric("closed_in_grid", "网格内结案数"),
    Metric("closed_in_community", "社区内结案数"),
    Metric("summoned", "吹哨召集数"),
    Metric("reported_in", "报到数"),
    Metric("reported_in_on_time", "按时报到数"),
)

# name → (numerator, denominator); a denominator "valid_unsuspended" is valid − suspended
# (应结案 minus 缓办, REFERENCE §1.6).
RATES: dict[str, tuple[str, str]] = {
    "response_rate": ("responded", "dispatched"),
    "on_time_response_rate": ("responded_on_time", "dispatched"),
    "resolution_rate": ("closed", "valid_unsuspended"),
    "on_time_resolution_rate": ("closed_on_time", "valid_unsuspended"),
    "satisfaction_rate": ("satisfied", "rated"),
    "return_rate": ("returned", "dispatched"),
    "rework_rate": ("reworked", "resolved"),
    "extension_rate": ("extended", "valid"),
    "escalation_rate_community": ("escalated_to_community", "valid"),
    "escalation_rate_street": ("escalated_to_street", "valid"),
    "closed_in_grid_share": ("closed_in_grid", "closed"),
    "closed_in_community_share": ("closed_in_community", "closed"),
    "report_in_on_time_rate": ("reported_in_on_time", "summoned"),
}
RATE_METRICS: tuple[Metric, ...] = (
    Metric("response_rate", "响应率"),
    Metric("on_time_response_rate", "按时响应率"),
    Metric("resolution_rate", "结案率"),
    Metric("on_time_resolution_rate", "按期结案率"),
    Metric("satisfaction_rate", "满意率"),
    Metric("return_rate", "退单率"),
    Metric("rework_rate", "返工率"),
    Metric("extension_rate", "延期率"),
    Metric("escalation_rate_community", "上报社区率"),
    Metric("escalation_rate_street", "上报街道率"),
    Metric("closed_in_grid_share", "网格内结案占比"),
    Metric("closed_in_community_share", "社区内结案占比"),
    Metric("report_in_on_time_rate", "按时报到率"),
)
PERCENTILE_METRICS: tuple[Metric, ...] = (
    Metric("claim_minutes_p50", "签收用时中位数(分钟)"),
    Metric("claim_minutes_p90", "签收用时90分位(分钟)"),
    Metric("resolve_minutes_p50", "处置用时中位数(分钟)"),
    Metric("resolve_minutes_p90", "处置用时90分位(分钟)"),
)
ALL_METRICS: tuple[Metric, ...] = COUNT_METRICS + RATE_METRICS + PERCENTILE_METRICS
ZH: dict[str, str] = {m.name: m.zh for m in ALL_METRICS}

# --- duration buckets ------------------------------------------------------------------------


def _bounds() -> tuple[int, ...]:
    """Upper bounds (minutes, inclusive) of the duration buckets: 5-minute steps to an hour,
    half hours to a working day (420), quarter days to 5 working days, days to 20, then
    5-day steps to 100 working days."""
    steps = ((60, 5), (420, 30), (2100, 105), (8400, 420), (42000, 2100))
    bounds: list[int] = []
    low = 0
    for top, step in steps:
        bounds += range(low + step, top + 1, step)
        low = top
    return tuple(bounds)


BUCKET_BOUNDS: tuple[int, ...] = _bounds()
OVERFLOW_BUCKET = len(BUCKET_BOUNDS)  # more than the last bound


def bucket_of(minutes: float) -> int:
    """The bucket of a duration: the first whose upper bound is ≥ ``minutes``."""
    return bisect_left(BUCKET_BOUNDS, minutes)


def bucket_value(bucket: int) -> int:
    """What a percentile falling in ``bucket`` reports: its upper bound; the overflow bucket
    reports the last bound (read it as "more than")."""
    return BUCKET_BOUNDS[min(bucket, OVERFLOW_BUCKET - 1)]


def percentile(histogram: Mapping[int, int], q: float) -> int | None:
    """Nearest-rank percentile over a histogram: the bucket holding the ⌈q·n⌉-th smallest
    duration, reported as that bucket's upper bound; None when there is no duration."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    raise AssertionError("rank beyond the histogram")  # pragma: no cover


# --- from summed counters to the metrics of one row ------------------------------------------


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator > 0 else None


def derive(counts: Mapping[str, int], histograms: Mapping[str, Mapping[int, int]]
           ) -> dict[str, int | float | None]:
    """Every metric of a row from its summed counters (``COUNTERS``, ``SUMMONS_COUNTERS``,
    ``overdue_now``) and its two histograms (``claim``, ``resolve``)."""
    counters = {name: int(counts.get(name, 0)) for name in (*COUNTERS, *SUMMONS_COUNTERS)}
    counters["overdue_now"] = int(counts.get("overdue_now", 0))
    counters["valid"] = counters["reported"] - counters["cancelled"]
    values: dict[str, int | float | None] = dict(counters)
    denominators = {**values, "valid_unsuspended": counters["valid"] - counters["suspended"]}
    for name, (numerator, denominator) in RATES.items():
        values[name] = rate(int(values[numerator] or 0), int(denominators[denominator] or 0))
    for measure in ("claim", "resolve"):
        histogram = histograms.get(measure, {})
        values[f"{measure}_minutes_p50"] = percentile(histogram, 0.5)
        values[f"{measure}_minutes_p90"] = percentile(histogram, 0.9)
    return {m.name: values[m.name] for m in ALL_METRICS}
