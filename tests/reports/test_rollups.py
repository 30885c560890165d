"""The rollups, once the backlog is drained, are exactly what ``reports-rebuild`` writes,
after the stories' random sequences of actions and sweeps; posting pays for one row write
and counts at once, every later change only marks its ticket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.clock import SHANGHAI
from app.reports.models import ReportDaily, ReportTicketFact
from app.reports.rebuild import rebuild
from tests.reports.conftest import END, START
from tests.reports.story import act_on_some
from tests.reports.tables import drained, marked, recomputed, snapshot, tickets_posted

pytestmark = pytest.mark.usefixtures("reference")


async def test_rollups_equal_a_rebuild_after_random_histories(stories, sessions, settings,
                                                              reference):
    await drained(sessions, settings)
    before = await snapshot(sessions, START, END)
    assert len(before["report_daily"]) > 200 and before["report_summons"]
    assert before["report_monthly"] and before["report_monthly_durations"]
    # More steps on some stories: their changes mark the tickets and touch no rollup row
    # until drained; then the rows are what a rebuild writes.
    acted = await act_on_some(sessions=sessions, reference=reference, settings=settings,
                              ticket_ids=stories, when=datetime(2026, 6, 10, 2, 0, tzinfo=UTC),
                              seed=9, share=20)
    assert await marked(sessions) & set(acted)
    assert await snapshot(sessions, START, END) == before
    await drained(sessions, settings)
    assert not await marked(sessions)
    drained_rows = await snapshot(sessions, START, END)
    assert drained_rows != before
    report = await rebuild(sessions=sessions, settings=settings, batch=500)
    assert report.tickets >= len(stories)
    after = await snapshot(sessions, START, END)
    for table in drained_rows:
        assert drained_rows[table] == after[table], table


async def test_posting_counts_at_once_and_a_claim_only_marks(client, token_for, sessions,
                                                             settings, clock):
    clock.set(datetime(2029, 3, 5, 2, 0, tzinfo=UTC))  # a month no other test posts in
    day = clock.now().astimezone(SHANGHAI).date()
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"),  # CGZF's item 0211
                          json={"grid": "BH01-01", "item": "0211", "description": "占道经营"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]

    async def daily_row() -> ReportDaily:
        async with sessions() as s:
            return (await s.execute(select(ReportDaily).where(ReportDaily.day == day))
                    ).scalar_one()

    row = await daily_row()
    assert (row.reported, row.open, row.dispatched, row.closed) == (1, 1, 1, 0)
    assert ticket_id not in await marked(sessions)
    claimed = await client.post(f"/api/v1/tickets/{ticket_id}/claim",
                                headers=token_for("cgzf_staff"))
    assert claimed.status_code == 200, claimed.text
    assert ticket_id in await marked(sessions)
    async with sessions() as s:
        assert await s.get(ReportTicketFact, ticket_id) is None
    assert (await daily_row()).responded == 0
    assert await drained(sessions, settings) >= 1
    assert ticket_id not in await marked(sessions)
    async with sessions() as s:
        fact = await s.get(ReportTicketFact, ticket_id)
        assert fact is not None and fact.claim_bucket is not None
    row = await daily_row()
    assert (row.reported, row.responded, row.responded_on_time) == (1, 1, 1)
    month = (day.replace(day=1), day.replace(day=31))
    assert await snapshot(sessions, *month) == await recomputed(
        sessions, settings, await tickets_posted(sessions, *month))
