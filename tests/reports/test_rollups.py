"""The rollups kept by the timeline hook are exactly what ``reports-rebuild`` writes, after
the stories' random sequences of actions and sweeps; posting pays for one row write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clock import SHANGHAI
from app.reports.models import (
    ReportDaily,
    ReportDuration,
    ReportMonthly,
    ReportMonthlyDuration,
    ReportSummons,
    ReportTicketFact,
)
from app.reports.rebuild import rebuild
from tests.reports.conftest import END, START

pytestmark = pytest.mark.usefixtures("reference")


async def snapshot(sessions, first=START, last=END) -> dict[str, list[tuple]]:
    """Every rollup row (both tiers) of the days ``first``..``last``."""
    out = {}
    async with sessions() as s:
        for model in (ReportDaily, ReportDuration, ReportSummons, ReportMonthly,
                      ReportMonthlyDuration):
            table = model.__table__
            when = (table.c.day.between(first, last) if "day" in table.c
                    else table.c.month.between(first.replace(day=1), last))
            rows = await s.execute(select(table).where(when))
            out[model.__tablename__] = sorted(tuple(r) for r in rows)
    return out


async def test_rollups_equal_a_rebuild_after_random_histories(stories, sessions, settings):
    before = await snapshot(sessions)
    assert len(before["report_daily"]) > 200 and before["report_summons"]
    assert before["report_monthly"] and before["report_monthly_durations"]
    report = await rebuild(sessions=sessions, settings=settings, batch=500)
    assert report.tickets >= len(stories)
    after = await snapshot(sessions)
    for table in before:
        assert before[table] == after[table], table


async def test_posting_writes_one_daily_row_and_no_fact(client, token_for, sessions, clock):
    clock.advance(timedelta(days=400))  # a day no other test posts on
    day = clock.now().astimezone(SHANGHAI).date()
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"),  # CGZF's item 0211
                          json={"grid": "BH01-01", "item": "0211", "description": "占道经营"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    async with sessions() as s:
        assert await s.get(ReportTicketFact, ticket_id) is None
        rows = (await s.execute(select(ReportDaily).where(ReportDaily.day == day))).scalars()
        [row] = list(rows)
        assert (row.reported, row.open, row.dispatched, row.closed) == (1, 1, 1, 0)
    claimed = await client.post(f"/api/v1/tickets/{ticket_id}/claim",
                                headers=token_for("cgzf_staff"))
    assert claimed.status_code == 200, claimed.text
    async with sessions() as s:
        fact = await s.get(ReportTicketFact, ticket_id)
        assert fact is not None and fact.claim_bucket is not None
        row = (await s.execute(select(ReportDaily).where(ReportDaily.day == day))).scalar_one()
        assert (row.reported, row.responded, row.responded_on_time) == (1, 1, 1)
