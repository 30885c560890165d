"""The hot paths' shortcuts keep the behaviour of the plain versions: claim-next's order,
and the deadlines posting stores with the new ticket (before the hook recomputed them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.config import get_settings
from app.db import unit_of_work
from app.sla import service as sla
from app.sla.models import SlaClock
from app.tickets.models import Ticket

CLAIM_NEXT = "/api/v1/departments/CGZF/queue/claim-next"


@pytest.fixture
def cgzf_item(matrix_items):
    return next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF")


@pytest.fixture
def post(client, token_for, cgzf_item):
    async def make(**overrides) -> dict:
        body = {"grid": "BH01-01", "item": cgzf_item, "description": "占道经营，影响通行",
                **overrides}
        r = await client.post("/api/v1/tickets", json=body, headers=token_for("gw01"))
        assert r.status_code == 201, r.text
        return r.json()
    return make


async def test_claim_next_order_is_urgency_then_deadline_then_age(client, token_for, post,
                                                                  sessions, clock):
    async with sessions() as s, s.begin():  # empty the CGZF queue of other tests' tickets
        await s.execute(update(Ticket).where(Ticket.status == "dispatched",
                                             Ticket.department_id.is_not(None))
                        .values(status="cancelled"))
    soon, later, none, tie, urgent_late = [await post() for _ in range(5)]
    await post(urgency="urgent")  # claimed first of all; urgent_late's later deadline decides
    due = {soon["id"]: timedelta(hours=1), later["id"]: timedelta(hours=5), none["id"]: None,
           tie["id"]: timedelta(hours=5), urgent_late["id"]: timedelta(days=60)}
    async with sessions() as s, s.begin():
        for ticket_id, delta in due.items():
            await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(
                resolve_due_at=None if delta is None else clock.now() + delta,
                urgency="urgent" if ticket_id == urgent_late["id"] else "normal"))
    staff = token_for("cgzf_staff")
    claimed = [(await client.post(CLAIM_NEXT, headers=staff)).json()["id"] for _ in range(6)]
    assert claimed[1:] == [urgent_late["id"], soon["id"], later["id"], tie["id"], none["id"]]
    assert (await client.post(CLAIM_NEXT, headers=staff)).status_code == 204


async def test_posting_stores_the_deadlines_a_recomputation_finds(post, sessions, clock):
    ticket = await post(urgency="urgent")

    async def stored() -> tuple:
        async with sessions() as s:
            row = (await s.execute(
                select(Ticket.response_due_at, Ticket.resolve_due_at, Ticket.next_check_at,
                       Ticket.sla_state, SlaClock.response_started_at,
                       SlaClock.response_warn_at, SlaClock.resolve_warn_at, SlaClock.level,
                       SlaClock.level_entered_at, SlaClock.escalate_due_at)
                .join(SlaClock, SlaClock.ticket_id == Ticket.id)
                .where(Ticket.id == ticket["id"]))).one()
        return tuple(row)

    posted = await stored()
    assert posted[0] is not None and posted[1] is not None and posted[2] is not None
    async with unit_of_work(sessions) as s:
        await sla.refresh(s, ticket_id=ticket["id"], now=clock.now(), settings=get_settings())
    assert await stored() == posted


async def _sla_columns(sessions, ticket_id: int) -> tuple:
    async with sessions() as s:
        row = (await s.execute(
            select(Ticket.response_due_at, Ticket.resolve_due_at, Ticket.next_check_at,
                   Ticket.sla_state, SlaClock.response_started_at, SlaClock.response_warn_at,
                   SlaClock.resolve_warn_at, SlaClock.level, SlaClock.level_entered_at,
                   SlaClock.escalate_due_at)
            .join(SlaClock, SlaClock.ticket_id == Ticket.id)
            .where(Ticket.id == ticket_id))).one()
    return tuple(row)


@pytest.mark.parametrize("state", ["on_track", "warning", "overdue"])
@pytest.mark.parametrize("how", ["by_id", "next"])
async def test_a_claim_stores_the_deadlines_a_recomputation_finds(
        client, token_for, post, sessions, clock, how, state):
    # The claim stops the response clock in its own UPDATE instead of the hook's recompute:
    # what it stores must be what the full recomputation stores, whatever the state.
    async with sessions() as s, s.begin():
        await s.execute(update(Ticket).where(Ticket.status == "dispatched",
                                             Ticket.department_id.is_not(None))
                        .values(status="cancelled"))
    ticket = await post()
    posted = await _sla_columns(sessions, ticket["id"])
    claim_at = {"on_track": clock.now(), "warning": posted[6] + timedelta(minutes=1),
                "overdue": posted[1] + timedelta(minutes=1)}[state]
    clock.advance(claim_at - clock.now())
    staff = token_for("cgzf_staff")
    if how == "next":
        r = await client.post(CLAIM_NEXT, headers=staff)
    else:
        r = await client.post(f"/api/v1/tickets/{ticket['id']}/claim", headers=staff)
    assert r.status_code == 200 and r.json()["id"] == ticket["id"], r.text
    claimed = await _sla_columns(sessions, ticket["id"])
    assert claimed[0] is None and claimed[4] is None and claimed[5] is None
    assert claimed[3] == state and claimed[1] == posted[1]
    async with unit_of_work(sessions) as s:
        await sla.refresh(s, ticket_id=ticket["id"], now=clock.now(), settings=get_settings())
    assert await _sla_columns(sessions, ticket["id"]) == claimed


async def test_claim_next_writes_its_event_and_marks_the_report_backlog(
        client, token_for, post, sessions, reference):
    from app.reports.models import ReportBacklog
    from app.tickets.models import TicketEvent

    async with sessions() as s, s.begin():
        await s.execute(update(Ticket).where(Ticket.status == "dispatched",
                                             Ticket.department_id.is_not(None))
                        .values(status="cancelled"))
    ticket = await post()
    r = await client.post(CLAIM_NEXT, headers=token_for("cgzf_staff"))
    assert r.status_code == 200 and r.json()["id"] == ticket["id"]
    assert r.json()["status"] == "claimed" and r.headers["ETag"]
    async with sessions() as s:
        events = (await s.execute(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket["id"]).order_by(TicketEvent.id))).scalars().all()
        assert [(e.kind, e.from_status, e.to_status) for e in events] == [
            ("created", None, "dispatched"), ("claim", "dispatched", "claimed")]
        claim = events[-1]
        assert claim.actor_user_id == reference["cgzf_staff"].user_id
        assert (claim.actor_role, claim.data) == ("department_staff", {"via": "claim_next"})
        assert await s.get(ReportBacklog, ticket["id"]) is not None
        row = await s.get(Ticket, ticket["id"])
        assert (row.assignee_id, row.version) == (reference["cgzf_staff"].user_id, 2)
