"""The report backlog: changes mark their tickets, drains bring them into the rollups — in the
worker and before every report read — and on PostgreSQL concurrent drains and actions lose
nothing and count nothing twice. Each test posts in a month of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert

from app.clock import SHANGHAI, FrozenClock
from app.jurisdiction.geo import JurisdictionCache
from app.matrix.cache import MatrixCache
from app.reports import backlog
from app.reports.models import COUNTERS, ReportBacklog, ReportTicketFact
from app.sla.commands import run_pass
from app.tickets.action_context import ActionInput
from app.tickets.lookups import Lookups
from app.workflow import actions
from tests.reports.tables import drained, marked, recomputed, snapshot, tickets_posted

pytestmark = pytest.mark.usefixtures("reference")
GONE = 10**9  # ticket ids no test reaches


@pytest.fixture
def pg_only(is_postgres):
    if not is_postgres:
        pytest.skip("concurrent drains need PostgreSQL (SQLite serialises writers)")


def month_of(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=28)


async def post_and_claim(client, token_for, count: int = 1) -> list[int]:
    """``count`` CGZF tickets posted now and claimed: posted counts, claims marked."""
    ids = []
    for _ in range(count):
        r = await client.post("/api/v1/tickets", headers=token_for("gw01"),
                              json={"grid": "BH01-01", "item": "0211", "description": "占道经营"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        claimed = await client.post(f"/api/v1/tickets/{ids[-1]}/claim",
                                    headers=token_for("cgzf_staff"))
        assert claimed.status_code == 200, claimed.text
    return ids


async def assert_rollups_exact(sessions, settings, month: tuple[date, date]) -> None:
    assert await snapshot(sessions, *month) == await recomputed(
        sessions, settings, await tickets_posted(sessions, *month))


async def test_a_report_read_counts_a_change_committed_just_before(client, token_for, clock,
                                                                   sessions):
    clock.set(datetime(2029, 5, 7, 2, 0, tzinfo=UTC))
    day = clock.now().astimezone(SHANGHAI).date().isoformat()
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"),
                          json={"grid": "BH01-01", "item": "0211", "description": "占道经营"})
    ticket_id = r.json()["id"]

    async def report() -> dict:
        got = await client.get("/api/v1/reports/sla", headers=token_for("admin"),
                               params={"from": day, "to": day})
        assert got.status_code == 200, got.text
        return got.json()["total"]

    before = await report()
    assert before["reported"] >= 1
    await client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=token_for("cgzf_staff"))
    assert ticket_id in await marked(sessions)
    assert (await report())["responded"] == before["responded"] + 1
    assert ticket_id not in await marked(sessions)  # the read drained it and committed
    ranked = await client.get("/api/v1/reports/rankings", headers=token_for("admin"),
                              params={"from": day, "to": day, "format": "csv"})
    assert ranked.status_code == 200 and "CGZF" in ranked.text


async def test_a_worker_pass_drains_the_backlog(client, token_for, clock, sessions, settings):
    clock.set(datetime(2029, 7, 2, 2, 0, tzinfo=UTC))
    [ticket_id] = await post_and_claim(client, token_for)
    # A clock long before anything is due: the pass's sweep and deliveries do nothing.
    _, refreshed, _ = await run_pass(sessions=sessions, settings=settings,
                                     clock=FrozenClock(datetime(2000, 1, 3, tzinfo=UTC)))
    assert refreshed >= 1 and not await marked(sessions)
    async with sessions() as s:
        assert await s.get(ReportTicketFact, ticket_id) is not None
    await assert_rollups_exact(sessions, settings, month_of(clock.now().date()))


async def test_markers_of_missing_tickets_are_dropped_and_a_round_stops_at_its_cap(
        sessions, settings):
    await drained(sessions, settings)
    async with sessions() as s, s.begin():
        await s.execute(insert(ReportBacklog), [
            {"ticket_id": GONE + n, "marked_at": datetime(2029, 1, 1, tzinfo=UTC)}
            for n in range(5)])
    assert await backlog.drain_round(sessions, settings=settings, batch=2, cap=3) == 3
    assert await marked(sessions) == {GONE + 3, GONE + 4}
    assert await backlog.drain_round(sessions, settings=settings, batch=2) == 2
    assert not await marked(sessions)


async def test_marking_twice_keeps_one_marker(sessions):
    at = datetime(2029, 1, 1, tzinfo=UTC)
    async with sessions() as s, s.begin():
        await backlog.mark(s, GONE + 10, at)
        await backlog.mark(s, GONE + 10, at.replace(day=2))
    async with sessions() as s, s.begin():
        row = await s.get_one(ReportBacklog, GONE + 10)
        assert row.marked_at == at
        await s.delete(row)


# --- PostgreSQL: concurrent drains and actions -----------------------------------------------


@pytest.mark.usefixtures("pg_only")
async def test_two_workers_take_each_marker_once(client, token_for, clock, sessions,
                                                 settings):
    await drained(sessions, settings)
    months = []
    for when in (datetime(2029, 8, 6, 2, 0, tzinfo=UTC), datetime(2029, 9, 3, 2, 0, tzinfo=UTC)):
        clock.set(when)  # the two workers' tickets add to different rollup rows
        await post_and_claim(client, token_for, count=5 if not months else 7)
        months.append(month_of(when.date()))
    assert len(await marked(sessions)) == 12
    async with sessions() as first, first.begin():
        assert await backlog.drain(first, settings=settings, batch=5, wait=False) == 5

        async def second() -> int:
            async with sessions() as s, s.begin():
                return await backlog.drain(s, settings=settings, batch=100, wait=False)

        # It skips the first's markers instead of waiting for them.
        assert await asyncio.wait_for(second(), timeout=5) == 7
    assert not await marked(sessions)
    for month in months:
        await assert_rollups_exact(sessions, settings, month)


@pytest.mark.usefixtures("pg_only")
async def test_a_read_waits_for_a_batch_under_way(client, token_for, clock, sessions,
                                                  settings):
    await drained(sessions, settings)
    clock.set(datetime(2029, 10, 8, 2, 0, tzinfo=UTC))
    await post_and_claim(client, token_for, count=3)
    month = month_of(clock.now().date())
    async with sessions() as worker, worker.begin():
        assert await backlog.drain(worker, settings=settings, wait=False) == 3

        async def read() -> dict:
            async with sessions() as s, s.begin():
                await backlog.drain_all(s, settings=settings)
                return await snapshot(sessions, *month)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        assert not reader.done()  # it waits for the worker's markers
    assert await reader == await recomputed(sessions, settings,
                                            await tickets_posted(sessions, *month))


@pytest.mark.usefixtures("pg_only")
async def test_a_marker_written_while_a_drain_holds_it_is_not_lost(client, token_for, clock,
                                                                   sessions, settings):
    await drained(sessions, settings)
    clock.set(datetime(2029, 11, 5, 2, 0, tzinfo=UTC))
    [ticket_id] = await post_and_claim(client, token_for)
    async with sessions() as drain, drain.begin():
        assert await backlog.drain(drain, settings=settings, wait=False) == 1

        async def mark_again() -> None:
            async with sessions() as s, s.begin():
                await backlog.mark(s, ticket_id, clock.now())

        marking = asyncio.create_task(mark_again())
        await asyncio.sleep(0.3)
        assert not marking.done()  # waits for the drain's deletion to commit
    await marking
    assert await marked(sessions) == {ticket_id}
    await drained(sessions, settings)
    await assert_rollups_exact(sessions, settings, month_of(clock.now().date()))


@pytest.mark.parametrize("wait", [False, True], ids=["worker", "read"])
@pytest.mark.usefixtures("pg_only")
async def test_an_action_under_way_when_its_marker_is_taken_is_not_lost(
        wait, client, token_for, clock, sessions, settings, reference):
    """The action finds its ticket already marked (its insert does nothing) and commits
    after a drain took that marker: the drain sees the ticket busy and marks it again."""
    await drained(sessions, settings)
    clock.set(datetime(2030, 3 if wait else 1, 4 if wait else 7, 2, 0, tzinfo=UTC))
    [ticket_id] = await post_and_claim(client, token_for)
    lookups = Lookups(JurisdictionCache(check_seconds=0), MatrixCache(check_seconds=0))
    async with sessions() as acting, acting.begin():
        await actions.take_action(
            session=acting, actor=reference["cgzf_staff"], ticket_id=ticket_id,
            action="return", data=ActionInput(reason="非本部门职责"), if_match=None,
            now=clock.now(), settings=settings, lookups=lookups)
        async with sessions() as drain, drain.begin():  # does not wait for the action
            taken = await asyncio.wait_for(
                backlog.drain(drain, settings=settings, wait=wait), timeout=5)
        assert taken == 1 and await marked(sessions) == {ticket_id}
    await drained(sessions, settings)
    async with sessions() as s:
        fact = await s.get_one(ReportTicketFact, ticket_id)
    assert fact.counters[COUNTERS.index("returned")] == "1"  # the action's change counts
    await assert_rollups_exact(sessions, settings, month_of(clock.now().date()))
