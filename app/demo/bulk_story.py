"""One bulk ticket's history, drawn the way real cases spread (for ``app.demo.bulk``).

Most cases are claimed within the hour and closed within a few working days; a long tail
waits for days. Some are handled on the spot by the grid worker, some escalate up the
ladder, get returned and re-routed, extended, suspended, fail verification, are whistled
for; most closed ones are rated, mostly 满意. Whatever would happen after ``end`` has not
happened yet: recent tickets are still open, in whichever state their story reached.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.tickets import ratings

RATINGS = tuple(zip(ratings.RATINGS, (70, 20, 10), strict=True))  # the demo's weights
SOURCES = (("grid_worker", 55), ("hotline", 30), ("resident", 10), ("open311", 5))


@dataclass(slots=True)
class Step:
    kind: str
    at: datetime
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]


@dataclass(slots=True)
class Story:
    """The ticket's state as its events leave it, and the side rows they imply."""

    status: str
    level: str
    department: str | None
    end: datetime
    steps: list[Step] = field(default_factory=list)
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rework_count: int = 0
    return_count: int = 0
    rating: str | None = None
    escalations: list[tuple[str, str, datetime]] = field(default_factory=list)
    requests: list[tuple[str, int | None, datetime, datetime]] = field(default_factory=list)
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    # (blown at, report-in due, [(department code, reported in at or None)])
    whistles: list[tuple[datetime, datetime, list[tuple[str, datetime | None]]]] = field(
        default_factory=list)

    def go(self, kind: str, at: datetime, to: str | None = None, **data: Any) -> bool:
        """Record a step unless its time has not come yet; False ends the story."""
        if at > self.end:
            return False
        before = self.status
        self.status = to or before
        self.steps.append(Step(kind, at, before, self.status, data))
        return True


def _minutes(rng: random.Random, median: float, spread: float = 1.0) -> timedelta:
    return timedelta(minutes=rng.lognormvariate(0, spread) * median)


def pick(rng: random.Random, weighted) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def tell(rng: random.Random, *, item, posted: datetime, end: datetime, self_handle: bool,
         co_departments: list[str]) -> Story:
    """The story of one ticket for matrix item ``item`` posted at ``posted``."""
    level = "grid" if self_handle else item.handling_level
    department = item.primary_department if level == "street" else None
    story = Story("self_handling" if self_handle else "dispatched", level, department, end)
    story.go("created", posted, story.status, level=level, department=department,
             item=item.code, reason="bulk")
    at = posted
    if rng.random() < 0.03:  # 作废: a duplicate or an invalid report
        story.go("cancel", at + _minutes(rng, 30), "cancelled", reason="重复上报")
        return story
    if self_handle:
        at += _minutes(rng, 90)
        if rng.random() < 0.9:
            if story.go("self_close", at, "closed", result="已现场处置"):
                story.resolved_at = story.closed_at = at
                _rate(rng, story, at)
            return story
        if not _escalate(story, at, "community", auto=False):
            return story
    while story.level in ("grid", "community") and rng.random() < 0.08:
        at += _minutes(rng, 420, 0.6)  # the level's budget ran out: the sweep takes it up
        if not story.go("sla_overdue", at, clock="resolve") or not _escalate(
                story, at, "street" if story.level == "community" else "community",
                auto=True, department=item.primary_department):
            return story
    if rng.random() < 0.05:  # 退单 and 改派
        at += _minutes(rng, 60)
        if not story.go("return", at, "returned", reason="非本部门职责"):
            return story
        story.return_count += 1
        at += _minutes(rng, 120)
        # 改派 to a co-handling department (or back to the primary one), at street level
        story.department = co_departments[0] if co_departments else item.primary_department
        story.level = "street"
        if not story.go("reroute", at, "dispatched", department=story.department,
                        item=item.code, level="street"):
            return story
    _handle(rng, story, at, co_departments)
    return story


def _escalate(story: Story, at: datetime, to_level: str, *, auto: bool,
              department: str | None = None) -> bool:
    department = department if to_level == "street" else None
    # By hand or by the system (the sweep), one action: ``auto`` tells them apart.
    if not story.go("escalate", at, "dispatched", from_level=story.level, to_level=to_level,
                    department=department, auto=auto):
        return False
    story.escalations.append((story.level, to_level, at))
    story.level, story.department = to_level, department
    return True


def _handle(rng: random.Random, story: Story, at: datetime, co: list[str]) -> None:
    """Claim, work (with the odd extension, suspension, whistle), resolve, verify, rate."""
    at += _minutes(rng, 40, 1.3)
    if not story.go("claim", at, "claimed"):
        return
    story.claimed_at = at
    at += _minutes(rng, 20)
    if not story.go("start", at, "in_progress"):
        return
    if rng.random() < 0.04:  # 延期
        minutes = rng.choice((240, 420, 840, 2100))
        at += _minutes(rng, 300)
        asked, at = at, at + _minutes(rng, 60)
        if not story.go("request_extension", asked, minutes=minutes, reason="需协调") or \
                not story.go("approve_extension", at, minutes=minutes):
            return
        story.requests.append(("extension", minutes, asked, at))
    if rng.random() < 0.02:  # 挂起 and 恢复
        at += _minutes(rng, 200)
        asked, at = at, at + _minutes(rng, 30)
        if not story.go("request_suspension", asked, reason="等待居民") or \
                not story.go("approve_suspension", at, "suspended"):
            return
        story.requests.append(("suspension", None, asked, at))
        story.pauses.append((at, None))
        at += _minutes(rng, 2000)
        if not story.go("resume", at, "in_progress"):
            return
        story.pauses[-1] = (story.pauses[-1][0], at)
    if story.level == "street" and co and rng.random() < 0.03:  # 吹哨
        at += _minutes(rng, 120)
        if not _whistle(rng, story, at, co):
            return
    for attempt in range(3):
        at += _minutes(rng, 900, 1.1)
        if not story.go("resolve", at, "resolved", result="已处置"):
            return
        story.resolved_at = at
        at += _minutes(rng, 240)
        if attempt < 2 and rng.random() < 0.06:  # 返工
            if not story.go("verify_fail", at, "rework", reason="复核未整改到位"):
                return
            story.resolved_at = None
            story.rework_count += 1
            at += _minutes(rng, 60)
            if not story.go("start", at, "in_progress"):
                return
            continue
        if story.go("verify_pass", at, "closed"):
            story.closed_at = at
            _rate(rng, story, at)
        return


def _whistle(rng: random.Random, story: Story, at: datetime, co: list[str]) -> bool:
    summoned = co[:2]
    due = at + timedelta(minutes=30)
    if not story.go("whistle_blown", at, departments=summoned, auto=False):
        return False
    report_ins: list[tuple[str, datetime | None]] = []
    for code in summoned:
        came = at + _minutes(rng, 20, 0.8) if rng.random() < 0.9 else None
        if came is not None and story.go("reported_in", came, department=code,
                                         on_time=came <= due):
            report_ins.append((code, came))
        else:
            report_ins.append((code, None))
    story.whistles.append((at, due, report_ins))
    return True


def _rate(rng: random.Random, story: Story, closed: datetime) -> None:
    if rng.random() < 0.6:
        rating = pick(rng, RATINGS)
        if story.go("rate", closed + _minutes(rng, 600), rating=rating):
            story.rating = rating
