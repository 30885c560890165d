"""Rankings (排名) of departments and communities by a composite of the 三率.

score = (w_response × on-time response rate + w_resolution × resolution rate
         + w_satisfaction × satisfaction rate) / (sum of the weights of the rates that exist)

Default weights 0.1 / 0.5 / 0.4, as Beijing's 接诉即办 composite (REFERENCE §2.5, §5.3). A
rate with no denominator (nothing rated yet, say) is left out and the other weights are
scaled up; an entity with none of the three is listed unranked. Equal scores share a rank
(1, 2, 2, 4); the movement is the rank in the previous period of the same length minus the
rank now (positive: moved up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.config import Settings
from app.errors import Forbidden, InvalidInput
from app.messages import M
from app.reports import queries
from app.reports.labels import labels
from app.reports.metrics import RATE_DIGITS, derive
from app.reports.queries import Selection
from app.reports.scope import RequestFilters, resolve_filters
from app.reports.service import begin_read, check_range

RankBy = Literal["department", "community"]
# The 三率 as the score reads them: the report metric behind each weight.
SCORED = {"response": "on_time_response_rate", "resolution": "resolution_rate",
          "satisfaction": "satisfaction_rate"}
DEFAULT_WEIGHTS = {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}


@dataclass(frozen=True, slots=True)
class Entry:
    rank: int | None
    code: str | None
    name: str | None
    score: float | None
    rates: dict[str, float | None]
    valid: int
    previous_rank: int | None
    previous_score: float | None

    @property
    def movement(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass(frozen=True, slots=True)
class Ranking:
    by: RankBy
    start: date
    end: date
    previous_start: date
    previous_end: date
    weights: dict[str, float]
    entries: list[Entry]


def check_weights(weights: dict[str, float]) -> None:
    for name, value in weights.items():
        if value < 0:
            raise InvalidInput.at(["query", f"w_{name}"], M("report.weight_negative"))
    if sum(weights.values()) <= 0:
        raise InvalidInput.at(["query", "w_resolution"], M("report.weight_positive"))


def score(rates: dict[str, float | None], weights: dict[str, float]) -> float | None:
    used = [(rate, w) for k, w in weights.items()
            if (rate := rates[SCORED[k]]) is not None and w > 0]
    if not used:
        return None
    total = sum(rate * w for rate, w in used)
    return round(total / sum(w for _, w in used), RATE_DIGITS)


def competition_ranks(scores: dict[object, float | None]) -> dict[object, int]:
    """Competition ranking: equal scores share a rank, the next rank skips."""
    ordered = sorted(((s, k) for k, s in scores.items() if s is not None), key=lambda p: -p[0])
    ranks: dict[object, int] = {}
    for position, (value, key) in enumerate(ordered, start=1):
        tied = position > 1 and ordered[position - 2][0] == value
        ranks[key] = ranks[ordered[position - 2][1]] if tied else position
    return ranks


async def _period(session: AsyncSession, by: RankBy, start: date, end: date, filters: dict,
                  weights: dict[str, float]) -> dict[object, tuple[dict, int, float | None]]:
    """entity → (its rates, valid tickets, score) for one period."""
    counts = await queries.counter_sums(session, Selection(start, end, (by,), filters))
    out = {}
    for (group, _), summed in counts.items():
        entity = group[0]
        metrics = derive(summed, {})
        if (by == "department" and entity == 0) or not metrics["valid"]:
            continue  # tree-held tickets have no department; summons alone are not ranked
        rates = {name: metrics[name] for name in SCORED.values()}
        out[entity] = (rates, int(metrics["valid"] or 0), score(rates, weights))
    return out


async def rankings(*, session: AsyncSession, actor: Actor, by: RankBy, start: date, end: date,
                   weights: dict[str, float], jurisdiction: str | None,
                   settings: Settings) -> Ranking:
    check_range(start, end)
    check_weights(weights)
    if actor.role is Role.department_lead and by != "department":
        raise Forbidden(M("report.lead_department_only"))
    filters = await resolve_filters(session, actor, RequestFilters(jurisdiction=jurisdiction))
    await begin_read(session, settings=settings)
    # Ranks are published figures (公开排名): a lead sees where the department stands among
    # all departments, but no other department's numbers.
    own_department = filters.pop("department_id", None)
    length = (end - start).days + 1
    previous_start, previous_end = start - timedelta(days=length), start - timedelta(days=1)
    now_scores = await _period(session, by, start, end, filters, weights)
    before = await _period(session, by, previous_start, previous_end, filters, weights)
    ranks_now = competition_ranks({k: v[2] for k, v in now_scores.items()})
    ranks_before = competition_ranks({k: v[2] for k, v in before.items()})
    names = await labels(session, by, now_scores.keys())
    entries = [Entry(ranks_now.get(k), names[k].code, names[k].name, v[2], v[0], v[1],
                     ranks_before.get(k), before[k][2] if k in before else None)
               for k, v in now_scores.items() if own_department in (None, k)]
    entries.sort(key=lambda e: (e.rank is None, e.rank or 0, e.code or ""))
    return Ranking(by, start, end, previous_start, previous_end, weights, entries)

