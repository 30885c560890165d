"""``seed-bulk`` at database speed (PostgreSQL): the tickets SQL copies from the drawn ones,
and the rollups summed in SQL, are what a rebuild from the tickets writes, and the report
agrees with the brute-force count."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.clock import SHANGHAI
from app.demo.bulk import seed_bulk
from app.reports.rebuild import rebuild
from app.tickets.models import Ticket
from tests.reports import brute
from tests.reports.tables import snapshot

pytestmark = pytest.mark.usefixtures("reference")
END = datetime(2024, 3, 1, 0, 0, tzinfo=SHANGHAI)
FIRST, LAST = date(2024, 1, 20), date(2024, 2, 29)


@pytest.fixture(scope="module")
async def bulk(engine, sessions, reference):
    if engine.dialect.name != "postgresql":
        pytest.skip("copies are made in PostgreSQL's SQL; SQLite draws every ticket")
    await seed_bulk(engine=engine, tickets=1001, days=41, end=END, seed=7, copies=4)


async def _count(sessions) -> int:
    async with sessions() as s:
        return (await s.execute(select(func.count()).where(
            Ticket.created_at >= datetime(2024, 1, 20, tzinfo=SHANGHAI),
            Ticket.created_at < END))).scalar_one()


async def test_copied_tickets_roll_up_as_a_rebuild_does(bulk, sessions, settings):
    assert await _count(sessions) == 1001
    async with sessions() as s:
        grids = (await s.execute(select(func.count(func.distinct(Ticket.grid_id))).where(
            Ticket.created_at >= datetime(2024, 1, 20, tzinfo=SHANGHAI),
            Ticket.created_at < END))).scalar_one()
    assert grids > 20  # the copies are spread over the street's grids
    before = await snapshot(sessions, FIRST, LAST)
    assert before["report_daily"] and before["report_durations"]
    await rebuild(sessions=sessions, settings=settings)
    assert await snapshot(sessions, FIRST, LAST) == before


async def test_copied_tickets_report_like_the_brute_force_count(bulk, sessions, client,
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
