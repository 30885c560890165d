"""The hot paths' shortcuts keep the behaviour of the plain versions: claim-next's order,
and the deadlines posting stores with the new ticket (before the hook recomputed them)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from app.config import get_settings
from app.db import unit_of_work
from app.sla import service as sla
from app.sla.models import SlaClock
from app.tickets.models import Ticket, TicketEvent

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
                                                                  sessions, clock,
                                                                  clear_queues):
    await clear_queues()
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
        client, token_for, post, sessions, clock, clear_queues, how, state):
    # The claim stops the response clock in its own UPDATE instead of the hook's recompute:
    # what it stores must be what the full recomputation stores, whatever the state.
    await clear_queues()
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
        client, token_for, post, sessions, reference, clear_queues):
    from app.reports.models import ReportBacklog
    from app.tickets.models import TicketEvent

    await clear_queues()
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


def test_the_claim_statement_sends_only_the_requests_values_as_parameters():
    # Constants (statuses, urgencies, the LIMIT) are written into its text: sent as
    # parameters they made PostgreSQL plan each claim anew (see the next test).
    from sqlalchemy.dialects.postgresql import asyncpg

    from app.workflow.claiming import _driver_statement

    statement = _driver_statement(asyncpg.dialect())
    assert {name for name, _ in statement.parameters} == {
        "queue_department", "claimer", "now", "actor_api_key_id", "actor_role", "data"}
    assert "LIMIT 1 FOR UPDATE SKIP LOCKED" in statement.sql


async def test_claim_next_runs_on_one_generic_plan(post, sessions, reference, clock,
                                                    is_postgres, clear_queues):
    # PostgreSQL plans a prepared statement once for all executions only when its
    # parameters do not change the plan's estimated cost; with the LIMIT, statuses and
    # urgencies sent as parameters it re-planned every claim, and planning cost more than
    # the claim. Five custom plans, then the generic one.
    if not is_postgres:
        pytest.skip("PostgreSQL's plan cache")
    from sqlalchemy import text

    from app.workflow.claiming import claim_next

    await clear_queues()
    staff = reference["cgzf_staff"]
    tickets = {(await post())["id"] for _ in range(8)}
    plans = text("SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
                 "FROM pg_prepared_statements WHERE statement LIKE 'WITH claimed AS%'")
    async with unit_of_work(sessions) as session:  # one connection for every claim
        before = (await session.execute(plans)).one()
        claimed = {(await claim_next(session=session, actor=staff,
                                     department_id=staff.department_id, now=clock.now())).id
                   for _ in range(8)}
        after = (await session.execute(plans)).one()
    assert claimed == tickets
    # The pooled connection may have claimed before this test: count this test's claims.
    generic, custom = after[0] - before[0], after[1] - before[1]
    assert generic + custom == 8 and generic >= 3, (generic, custom)


async def test_claim_next_on_a_lost_connection_answers_503_and_the_retry_claims(
        settings, clock, is_postgres, token_for, post, clear_queues, kill_pooled_connection):
    # The claim runs straight on the driver: a connection lost to a database restart must
    # still be discarded and answered like any other statement's (503, retry), not a 500.
    if not is_postgres:
        pytest.skip("needs a server whose connection can be killed: PostgreSQL")
    import httpx

    from app.main import create_app

    await clear_queues()
    app = create_app(settings, clock=clock)
    staff = token_for("cgzf_staff")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as c:
            assert (await c.post(CLAIM_NEXT, headers=staff)).status_code == 204
            await kill_pooled_connection(app)
            ticket = await post()
            lost = await c.post(CLAIM_NEXT, headers=staff)
            assert lost.status_code == 503, lost.text
            assert lost.headers["content-type"].startswith("application/problem+json")
            retry = await c.post(CLAIM_NEXT, headers=staff)
            assert retry.status_code == 200 and retry.json()["id"] == ticket["id"], retry.text
    finally:
        await app.state.engine.dispose()



async def test_a_claim_next_whose_answer_fails_leaves_the_ticket_queued(
        app, token_for, post, sessions, monkeypatch):
    # The claim is part of the request's unit of work: when building the answer fails,
    # nobody was told of the claim, and nothing of it is kept.
    ticket = await post(urgency="urgent")

    def answer_fails(*_args, **_kwargs):
        raise RuntimeError("the answer could not be built")

    async def claims_of_the_department() -> dict[str, int]:
        async with sessions() as s:
            rows = await s.execute(
                select(Ticket.status, func.count()).where(Ticket.department_id.in_(
                    select(Ticket.department_id).where(Ticket.id == ticket["id"])))
                .group_by(Ticket.status))
            return dict(rows.all())

    before = await claims_of_the_department()
    monkeypatch.setattr("app.tickets.workflow_router.ticket_out", answer_fails)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.post(CLAIM_NEXT, headers=token_for("cgzf_staff"))
    assert r.status_code == 500
    assert await claims_of_the_department() == before
    async with sessions() as s:
        kinds = (await s.execute(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == ticket["id"]))).scalars().all()
    assert kinds == ["created"]


async def test_a_keyed_post_writes_its_key_in_posting_statement(app, client, token_for, sessions,
                                                                cgzf_item, is_postgres):
    """On PostgreSQL the Idempotency-Key's record is part of posting's one statement: no
    statement of its own before it, no UPDATE binding it after; a retry writes nothing."""
    if not is_postgres:
        pytest.skip("SQLite claims the key first and binds it after")
    import uuid

    from sqlalchemy import event

    from app.tickets.models import IdempotencyRecord

    engine = app.state.engine.sync_engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    key = f"one-statement-{uuid.uuid4()}"
    body = {"grid": "BH01-01", "item": cgzf_item, "description": f"占道经营，一次写完 {key}"}
    headers = {**token_for("gw01"), "Idempotency-Key": key}
    event.listen(engine, "before_cursor_execute", note)
    try:
        first = await client.post("/api/v1/tickets", json=body, headers=headers)
        posting = [s for s in seen if "idempotency_records" in s]
        seen.clear()
        again = await client.post("/api/v1/tickets", json=body, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert first.status_code == 201 and again.status_code == 200, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert len(posting) == 1 and posting[0].startswith("WITH idempotency_key AS"), posting
    assert not any(s.startswith(("INSERT INTO tickets", "UPDATE idempotency_records"))
                   for s in seen), seen
    async with sessions() as s:
        record = (await s.execute(select(IdempotencyRecord).where(
            IdempotencyRecord.key == key))).scalar_one()
        count = (await s.execute(select(func.count()).select_from(Ticket).where(
            Ticket.description == body["description"]))).scalar_one()
    assert record.ticket_id == first.json()["id"] and count == 1


async def test_one_ticket_is_read_in_one_statement_with_its_attachments(app, client, token_for,
                                                                       post, monkeypatch):
    """GET one ticket reads the ticket, the codes it shows and its attachment ids in one
    statement (they were two, through the ORM); on PostgreSQL straight on the driver."""
    from sqlalchemy import event

    from app.tickets import repository

    ticket = await post()
    engine = app.state.engine.sync_engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    on_driver = repository.run_on_driver

    async def noted(session, statement, params):
        note(None, None, statement.sql)
        return await on_driver(session, statement, params)

    monkeypatch.setattr(repository, "run_on_driver", noted)

    event.listen(engine, "before_cursor_execute", note)
    try:
        r = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=token_for("sd"))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    posted = {k: v for k, v in ticket.items() if k != "possible_duplicates"}  # posting's own
    assert r.status_code == 200 and r.json()["attachments"] == [] and r.json() == {
        **posted, "attachments": []}
    reads = [s for s in seen if "tickets" in s or "attachments" in s]
    assert len(reads) == 1 and "attachments" in reads[0], reads


async def test_claim_next_answers_from_its_statement_without_reading_back(
        app, client, token_for, post, clear_queues, is_postgres):
    """On PostgreSQL the claim statement returns the claimed row with its codes, item name
    and attachments: the answer is exactly what a read shows, and no read follows."""
    if not is_postgres:
        pytest.skip("SQLite's claim is a plain UPDATE and the answer is read")
    from sqlalchemy import event

    await clear_queues()
    ticket = await post()
    engine = app.state.engine.sync_engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        r = await client.post(CLAIM_NEXT, headers=token_for("cgzf_staff"))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert r.status_code == 200 and r.json()["id"] == ticket["id"], r.text
    # (the live step's pg_notify names the ticket by id: it publishes, it reads nothing)
    assert not [s for s in seen if "FROM tickets" in s and "pg_notify" not in s], seen
    read = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=token_for("cgzf_staff"))
    assert r.json() == read.json() and r.headers["ETag"] == read.headers["ETag"]
    assert r.json()["status"] == "claimed" and r.json()["department"] == "CGZF"


async def test_the_reads_open_no_transaction_block_on_postgresql(client, token_for, post,
                                                                 is_postgres, monkeypatch):
    """GET one ticket, a page and a queue run in autocommit on PostgreSQL: no BEGIN and
    COMMIT round trips around their one statement. A write still opens its block."""
    if not is_postgres:
        pytest.skip("SQLite transactions are local")
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    opened: list[int] = []
    start = AsyncAdapt_asyncpg_connection._start_transaction

    async def counted(self):
        if self.isolation_level != "autocommit":  # what sends BEGIN
            opened.append(1)
        return await start(self)

    ticket = await post()
    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", counted)
    for path in (f"/api/v1/tickets/{ticket['id']}", "/api/v1/tickets?limit=5",
                 "/api/v1/departments/CGZF/queue?limit=5"):
        r = await client.get(path, headers=token_for("sd"))
        assert r.status_code == 200, r.text
    assert opened == []
    await post()
    assert opened


async def test_posting_counts_its_rollups_last(app, client, token_for, cgzf_item, sessions,
                                               is_postgres, monkeypatch):
    """The daily and monthly rollup rows are shared by every post of a street and day, and
    a transaction holds their lock until it commits: on PostgreSQL posting upserts them
    after every other statement (they were inside the posting statement, and concurrent
    posts waited behind the delivery steps). They still count the post."""
    if not is_postgres:
        pytest.skip("SQLite serialises writers")
    from sqlalchemy import event

    from app.reports.models import ReportDaily

    async def reported() -> int:
        async with sessions() as s:
            return (await s.execute(select(func.coalesce(func.sum(ReportDaily.reported), 0))
                                    )).scalar_one()

    before = await reported()
    engine = app.state.engine.sync_engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    from app.notifications import repository

    on_driver = repository.run_on_driver

    async def noted(session, statement, params):  # the inbox entries run on the driver
        note(None, None, statement.sql)
        return await on_driver(session, statement, params)

    monkeypatch.setattr(repository, "run_on_driver", noted)
    event.listen(engine, "before_cursor_execute", note)
    try:
        r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
            "grid": "BH01-01", "item": cgzf_item, "description": "占道经营，计数在最后"})
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert r.status_code == 201, r.text
    writes = [s for s in seen if s.startswith(("WITH", "INSERT", "UPDATE", "SELECT pg_notify"))]
    assert "report_daily" in writes[-1] and not any("report_daily" in s for s in writes[:-1]), \
        writes
    assert any("notifications" in s for s in writes[:-1]), writes
    assert await reported() == before + 1
