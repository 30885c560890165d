"""``seed-bulk`` at database speed (PostgreSQL): the tickets SQL copies from the drawn ones,
and the rollups summed in SQL, are what a rebuild from the tickets writes, and the report
agrees with the brute-force count."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from app.clock import SHANGHAI
from app.demo.bulk import LOAD_TABLES, placed, placements, seed_bulk
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
    # 1001 tickets from 251 templates, in batches of 25 templates (the batch is 100
    # tickets): the copies of each batch are made while the next is drawn, their ids right
    # after the batch's own.
    await seed_bulk(engine=engine, tickets=1001, days=41, end=END, seed=7, copies=4,
                    batch_size=100, phases=phases)
    return before, await catalogue(engine), phases


async def test_the_load_puts_back_every_index_and_constraint_it_set_aside(bulk):
    before, after, phases = bulk
    assert "indexes and foreign keys set aside" in phases  # it did set them aside
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
    async with sessions() as s:
        # Every ticket has its timeline and its fact: no copy lost its rows across batches.
        orphans = (await s.execute(text(
            "SELECT count(*) FROM tickets t WHERE t.created_at >= :first AND NOT EXISTS ("
            "SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'created' "
            "AND e.created_at = t.created_at) OR t.created_at >= :first AND NOT EXISTS ("
            "SELECT 1 FROM report_ticket_facts f WHERE f.ticket_id = t.id "
            "AND f.grid_id = t.grid_id)"),
            {"first": datetime(2024, 1, 20, tzinfo=SHANGHAI)})).scalar_one()
    assert orphans == 0
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


def test_copies_go_to_every_street_with_the_same_calendar_and_only_there():
    from app.demo.bulk_world import Grid, World
    from app.sla.working_time import WorkingCalendar

    same, other = WorkingCalendar(), WorkingCalendar(overrides={date(2024, 2, 3): True})
    grids = [Grid(10 + g, 1, 100) for g in range(3)] + [Grid(20 + g, 2, 200) for g in range(3)] \
        + [Grid(30 + g, 3, 300) for g in range(2)]
    world = World(1, grids, [1, 2, 3], {}, {}, {1: same, 2: WorkingCalendar(), 3: other})
    moves = {(grid, k): (street, community, to)
             for grid, k, street, community, to in placements(world, 8)}
    assert all(moves[(g.id, 0)] == (g.street_id, g.community_id, g.id) for g in grids)
    # streets 1 and 2 keep one calendar: a ticket of street 1 is copied into both
    assert {moves[(10, k)][2] for k in range(8)} == {10, 11, 12, 20, 21, 22}
    assert moves[(11, 3)] == (2, 200, 21)
    # street 3 works another Saturday: its tickets stay in it, and no other comes in
    assert {moves[(30, k)][0] for k in range(8)} == {3}
    assert all(to < 30 for (grid, _), (_, _, to) in moves.items() if grid < 30)


def test_each_template_stands_for_its_share_of_the_wanted_tickets():
    for wanted, copies in ((1001, 4), (200_000, 10), (7, 7), (5, 3)):
        templates = -(-wanted // copies)
        counts = [placed(n, templates=templates, wanted=wanted, copies=copies)
                  for n in range(templates)]
        assert sum(counts) == wanted and max(counts) == copies and min(counts) >= 1


async def test_a_second_load_adds_to_the_rollups_already_there(bulk, engine, sessions,
                                                               settings):
    # (last in this module: it adds tickets to the same days.) The rollup tables are not
    # empty now, so their keys stay and each summed row is added to the row it meets.
    await seed_bulk(engine=engine, tickets=303, days=41, end=END, seed=8, copies=3,
                    batch_size=60)
    assert await _count(sessions) == 1001 + 303
    before = await snapshot(sessions, FIRST, LAST)
    await rebuild(sessions=sessions, settings=settings)
    assert await snapshot(sessions, FIRST, LAST) == before
    assert await catalogue(engine) == bulk[1]  # keys and constraints as they were
