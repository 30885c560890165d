"""``seed-bulk`` on SQLite (executemany): its rollups are what a rebuild writes, and the
report over its tickets agrees with the brute-force count."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.clock import SHANGHAI
from app.demo.bulk import day_counts, seed_bulk
from app.reports.rebuild import rebuild
from app.tickets.models import Ticket
from tests.reports import brute
from tests.reports.tables import snapshot

pytestmark = pytest.mark.usefixtures("reference")
END = datetime(2025, 3, 1, 0, 0, tzinfo=SHANGHAI)
FIRST, LAST = date(2025, 1, 20), date(2025, 2, 28)


@pytest.fixture(scope="module")
async def bulk(engine, sessions, reference):
    await seed_bulk(engine=engine, tickets=1200, days=40, end=END, seed=5)


async def test_bulk_rollups_equal_a_rebuild(bulk, sessions, settings):
    async with sessions() as s:
        count = (await s.execute(select(func.count()).where(
            Ticket.created_at >= datetime(2025, 1, 20, tzinfo=SHANGHAI),
            Ticket.created_at < END))).scalar_one()
    assert count == 1200
    before = await snapshot(sessions, FIRST, LAST)
    assert before["report_daily"]
    await rebuild(sessions=sessions, settings=settings)
    assert await snapshot(sessions, FIRST, LAST) == before


async def test_bulk_tickets_report_like_the_brute_force_count(bulk, sessions, client,
                                                              token_for, clock):
    world = await brute.load_world(sessions)
    expected = brute.report(world, start=FIRST, end=LAST, group_by=["department"],
                            now=clock.now())
    r = await client.get("/api/v1/reports/sla", headers=token_for("admin"),
                         params={"from": FIRST.isoformat(), "to": LAST.isoformat(),
                                 "group_by": "department"})
    body = r.json()
    got = {(row["group"]["department"]["code"], None): row["metrics"] for row in body["rows"]}
    got[("total",)] = body["total"]
    assert got.keys() == expected.keys()
    for key, metrics in expected.items():
        assert {m: got[key][m] for m in metrics} == metrics, key
    assert body["total"]["closed"] > 500 and body["total"]["satisfied"] > 100


def test_tickets_spread_over_days_with_quieter_weekends():
    import random

    counts = day_counts(7000, date(2025, 1, 6), 14, random.Random(1))
    assert sum(c for _, c in counts) == 7000
    weekend = [c for d, c in counts if d.weekday() >= 5]
    weekday = [c for d, c in counts if d.weekday() < 5]
    assert max(weekend) < min(weekday)
