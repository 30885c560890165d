"""``seed-bulk`` at database speed (PostgreSQL): the tickets SQL copies from the drawn ones,
and the rollups summed in SQL, are what a rebuild from the tickets writes, and the report
agrees with the brute-force count."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from app.clock import SHANGHAI
from app.demo.bulk import LOAD_TABLES, seed_bulk
from app.reports.rebuild import rebuild
from app.tickets.models import Ticket
from tests.reports import brute
from tests.reports.tables import snapshot

pytestmark = pytest.mark.usefixtures("reference")
END = datetime(2024, 3, 1, 0, 0, tzinfo=SHANGHAI)
FIRST, LAST = date(2024, 1, 20), date(2024, 2, 29)


CATALOGUE = """
SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid), i.indisvalid
  FROM pg_index i WHERE indrelid = ANY(CAST(:tables AS regclass[]))
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid), convalidated
  FROM pg_constraint WHERE conrelid = ANY(CAST(:tables AS regclass[]))
ORDER BY 1, 2
"""


async def catalogue(engine) -> list[tuple]:
    """Every index and constraint of the tables the load writes, as PostgreSQL defines them."""
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(CATALOGUE),
                                                      {"tables": list(LOAD_TABLES)})).all()]


@pytest.fixture(scope="module")
async def bulk(engine, sessions, reference):
    if engine.dialect.name != "postgresql":
        pytest.skip("copies are made in PostgreSQL's SQL; SQLite draws every ticket")
    before = await catalogue(engine)
    phases: dict[str, float] = {}
    await seed_bulk(engine=engine, tickets=1001, days=41, end=END, seed=7, copies=4,
                    phases=phases)
    return before, await catalogue(engine), phases


async def test_the_load_puts_back_every_index_and_constraint_it_set_aside(bulk):
    before, after, phases = bulk
    assert "reference data, indexes and foreign keys set aside" in phases  # it did set them aside
    assert after == before
    names = {name for kind, name, _, _ in after}
    assert {"ix_tickets_queue", "ix_ticket_events_ticket_id", "fk_ticket_events_ticket_id_tickets",
            "uq_whistle_summons_whistle_id_department_id", "fk_tickets_grid_id_jurisdictions",
            "ix_report_daily_department_day"} <= names
    assert all(valid for *_, valid in after)  # every index usable, every foreign key checked


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
