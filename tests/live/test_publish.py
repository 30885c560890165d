"""Queue events leave the transaction only when it commits, on either backend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import unit_of_work
from app.jurisdiction.models import Department
from app.live import make_broker
from app.tickets.events import record_event
from app.tickets.models import Ticket

pytestmark = pytest.mark.usefixtures("reference")


async def test_only_committed_changes_are_published(engine, sessions, clock, client, token_for,
                                                    matrix_items):
    code = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.self_handle_allowed)
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": code, "description": "占道经营"})
    ticket_id = r.json()["id"]
    async with sessions() as session:
        cgzf = (await session.execute(
            select(Department.id).where(Department.code == "CGZF"))).scalar_one()
        ticket = await session.get_one(Ticket, ticket_id)
    broker = make_broker(engine)
    await broker.start()
    try:
        subscription = broker.subscribe(cgzf)
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                await record_event(session, ticket_id=ticket_id, kind="claim", actor=None,
                                   at=clock.now())
                raise RuntimeError("rolled back")
        assert await subscription.next(0.3) is None
        async with unit_of_work(sessions) as session:
            event_id = await record_event(session, ticket_id=ticket_id, kind="claim",
                                          actor=None, at=clock.now())
            assert await subscription.next(0.1) is None  # not before the commit
        got = await subscription.next(5)
        assert (got.event_id, got.kind, got.ticket_id) == (event_id, "claim", ticket_id)
        assert (got.department_id, got.street_id, got.grid_id) == (
            cgzf, ticket.street_id, ticket.grid_id)
        async with unit_of_work(sessions) as session:  # not a queue change: not published
            await record_event(session, ticket_id=ticket_id, kind="note", actor=None,
                               at=clock.now(), data={"result": "在处理"})
        assert await subscription.next(0.3) is None
    finally:
        await broker.stop()


async def test_a_process_without_a_broker_notifies_inside_its_transaction(
        engine, sessions, clock, client, token_for, matrix_items, is_postgres):
    """The worker and commands run no broker: their events must still reach the API."""
    if not is_postgres:
        pytest.skip("NOTIFY is PostgreSQL's")
    import asyncio

    import asyncpg

    from app.live.broker import CHANNEL, database_key_of, decode_events, has_notifier

    assert not has_notifier(database_key_of(engine))
    code = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.self_handle_allowed)
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": code, "description": "占道经营"})
    ticket_id = r.json()["id"]
    received: asyncio.Queue = asyncio.Queue()
    listener = await asyncpg.connect(engine.url.set(drivername="postgresql")
                                     .render_as_string(hide_password=False))
    await listener.add_listener(CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                await record_event(session, ticket_id=ticket_id, kind="release", actor=None,
                                   at=clock.now())
                raise RuntimeError("rolled back")
        async with unit_of_work(sessions) as session:
            event_id = await record_event(session, ticket_id=ticket_id, kind="claim",
                                          actor=None, at=clock.now())
        (got,) = decode_events(await asyncio.wait_for(received.get(), 5))
        assert (got.event_id, got.kind, got.ticket_id) == (event_id, "claim", ticket_id)
        assert received.empty()  # nothing from the rolled-back release
    finally:
        await listener.close()


@pytest.fixture
async def only_ticket_in_cgzf_queue(sessions, client, token_for, matrix_items, clear_queues):
    """CGZF's queue emptied of other tests' tickets, then one posted: (CGZF's id, its id)."""
    code = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.self_handle_allowed)
    await clear_queues()
    async with sessions() as session:
        cgzf = (await session.execute(
            select(Department.id).where(Department.code == "CGZF"))).scalar_one()
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": code, "description": "占道经营"})
    return cgzf, r.json()["id"]


async def test_claim_next_reaches_the_stream_with_the_claimed_ticket(
        engine, client, token_for, only_ticket_in_cgzf_queue):
    # Claim-next's one statement runs straight on the driver; its queue event must still
    # arrive, once, with the row, when the request commits.

    cgzf, ticket_id = only_ticket_in_cgzf_queue
    broker = make_broker(engine)
    await broker.start()
    try:
        subscription = broker.subscribe(cgzf)
        claimed = await client.post("/api/v1/departments/CGZF/queue/claim-next",
                                    headers=token_for("cgzf_staff"))
        assert claimed.status_code == 200 and claimed.json()["id"] == ticket_id
        got = await subscription.next(5)
        assert (got.kind, got.ticket_id, got.department_id, got.status) == (
            "claim", ticket_id, cgzf, "claimed")
        assert await subscription.next(0.3) is None
    finally:
        await broker.stop()


async def test_a_claim_next_whose_request_fails_is_neither_kept_nor_published(
        engine, sessions, reference, clock, only_ticket_in_cgzf_queue):
    # The claim is part of the request's transaction on both backends: when the request
    # fails after it, the ticket stays queued and no queue event goes out.
    from app.workflow.claiming import claim_next

    cgzf, ticket_id = only_ticket_in_cgzf_queue
    broker = make_broker(engine)
    await broker.start()
    try:
        subscription = broker.subscribe(cgzf)
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                row = await claim_next(session=session, actor=reference["cgzf_staff"],
                                       department_id=cgzf, now=clock.now())
                assert row is not None and row.id == ticket_id
                raise RuntimeError("the request failed after the claim")
        got = await subscription.next(0.5)
        async with sessions() as session:
            status = (await session.get_one(Ticket, ticket_id)).status
        assert (got, status) == (None, "dispatched")
    finally:
        await broker.stop()


async def test_a_claim_next_after_the_requests_first_statement_commits_with_its_transaction(
        engine, sessions, reference, clock, only_ticket_in_cgzf_queue):
    # Once the request has run a statement (an API key looked up), its transaction is open
    # on the connection the claim runs on: the claim is part of it, and is published when
    # it commits — not when it rolls back.
    from sqlalchemy import text

    from app.workflow.claiming import claim_next

    cgzf, ticket_id = only_ticket_in_cgzf_queue
    broker = make_broker(engine)
    await broker.start()

    async def claim(session):
        await session.execute(text("SELECT 1"))
        row = await claim_next(session=session, actor=reference["cgzf_staff"],
                               department_id=cgzf, now=clock.now())
        assert row is not None and row.id == ticket_id

    async def status() -> str:
        async with sessions() as session:
            return (await session.get_one(Ticket, ticket_id)).status

    try:
        subscription = broker.subscribe(cgzf)
        with pytest.raises(RuntimeError):
            async with unit_of_work(sessions) as session:
                await claim(session)
                raise RuntimeError("the request failed after the claim")
        assert await subscription.next(0.3) is None and await status() == "dispatched"
        async with unit_of_work(sessions) as session:
            await claim(session)
        got = await subscription.next(5)
        assert (got.kind, got.ticket_id, await status()) == ("claim", ticket_id, "claimed")
    finally:
        await broker.stop()


async def test_a_rerouted_ticket_leaves_one_queue_and_enters_another_and_both_hear_it(
        engine, sessions, client, token_for, only_ticket_in_cgzf_queue):
    # Rerouted straight out of CGZF's queue (still dispatched): CGZF's phones must drop it,
    # not only HW's show it.
    cgzf, ticket_id = only_ticket_in_cgzf_queue
    async with sessions() as session:
        hw = (await session.execute(
            select(Department.id).where(Department.code == "HW"))).scalar_one()
    broker = make_broker(engine)
    await broker.start()
    try:
        left, entered = broker.subscribe(cgzf), broker.subscribe(hw)
        r = await client.post(f"/api/v1/tickets/{ticket_id}/reroute", headers=token_for("sd"),
                              json={"department": "HW", "reason": "环卫负责"})
        assert r.status_code == 200, r.text
        for subscription, department in ((left, cgzf), (entered, hw)):
            got = await subscription.next(5)
            assert (got.kind, got.ticket_id, got.department_id, got.status) == (
                "reroute", ticket_id, department, "dispatched")
            assert await subscription.next(0.3) is None
        timeline = (await client.get(f"/api/v1/tickets/{ticket_id}/events",
                                     headers=token_for("sd"))).json()
        assert timeline[-1]["data"]["left_department_id"] == cgzf
    finally:
        await broker.stop()

