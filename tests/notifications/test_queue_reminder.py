"""The new-ticket reminder (待签收提醒), written set-based on every post, writes exactly the
rows the general recipient-by-recipient path writes, in every kind of queue, and a post
makes a fixed, small number of statements."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import delete, event, select, update

from app import db
from app.db import unit_of_work
from app.notifications import pipeline, repository
from app.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationContact,
    NotificationOutbox,
    NotificationPreference,
)
from app.notifications.rules import Kind
from app.tickets.models import Ticket
from tests.conftest import T0
from tests.sla.support import post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")

REPORTER = {"name": "王小明", "phone": "13812341234"}
_EVENT_IDS = count(900_000_000)  # ids no real event has: the rows of one call are found by it
INBOX_COLUMNS = ("user_id", "kind", "ticket_id", "event_id", "title", "body", "link", "urgent",
                 "count", "dedupe_key", "created_at", "updated_at", "read_at")
OUTBOX_COLUMNS = ("channel_id", "user_id", "kind", "ticket_id", "event_id", "payload", "count",
                  "urgent", "dedupe_key", "status", "attempts", "next_attempt_at")


async def _rows(sessions, event_id: int) -> tuple[list, list]:
    async with sessions() as s:
        inbox = (await s.execute(select(*(Notification.__table__.c[c] for c in INBOX_COLUMNS))
                                 .where(Notification.event_id == event_id)
                                 .order_by(Notification.id))).all()
        outbox = (await s.execute(
            select(*(NotificationOutbox.__table__.c[c] for c in OUTBOX_COLUMNS))
            .where(NotificationOutbox.event_id == event_id)
            .order_by(NotificationOutbox.id))).all()
    return [tuple(r) for r in inbox], [tuple(r) for r in outbox]


async def _notified_twice(sessions, settings, monkeypatch, *, ticket_id: int, set_based: bool,
                          at, event_id: int) -> tuple[list, list]:
    """Notify of the ticket twice for one event (a retried step), by one path; the rows it
    left, which are then removed."""
    monkeypatch.setattr(pipeline, "_set_based", lambda spec: set_based)
    for _ in range(2):
        async with unit_of_work(sessions) as s:
            await pipeline.notify(s, Kind.new_ticket, ticket_id=ticket_id, at=at,
                                  data={"_event_kind": "created"}, event_id=event_id,
                                  key=f"e{event_id}", settings=settings)
    written = await _rows(sessions, event_id)
    async with unit_of_work(sessions) as s:
        await s.execute(delete(Notification).where(Notification.event_id == event_id))
        await s.execute(delete(NotificationOutbox).where(NotificationOutbox.event_id == event_id))
    return written


@pytest.mark.parametrize("queue", ["department", "community", "grid"])
@pytest.mark.parametrize("urgency", ["normal", "urgent"])
async def test_the_set_based_reminder_writes_what_the_general_path_writes(
        queue, urgency, client, token_for, matrix_items, sessions, settings, reference,
        configure, monkeypatch):
    await configure("CGZF", url="https://robot.invalid/cgi-bin/webhook/send?key=k")
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"),
                        reporter=REPORTER)
    staff, lead = reference["cgzf_staff"].id, reference["cgzf_lead"].id
    texters = [staff, reference["cd01"].id, reference["gw01"].id]
    async with unit_of_work(sessions) as s:
        row = await s.get_one(Ticket, ticket["id"])
        department_id = row.department_id
        changes = {"urgency": urgency}
        if queue == "community":
            changes.update(level="community", department_id=None)
        elif queue == "grid":
            changes.update(level="grid", department_id=None)
        await s.execute(update(Ticket).where(Ticket.id == row.id).values(**changes))
        # Someone has chosen SMS for new tickets (off by default), someone the inbox off.
        for user_id in texters:
            await s.merge(NotificationPreference(user_id=user_id, kind="new_ticket",
                                                 channel="sms", enabled=True))
            await s.merge(NotificationContact(user_id=user_id, phone="13900001111"))
        await s.merge(NotificationPreference(user_id=lead, kind="new_ticket", channel="inbox",
                                             enabled=False))
        s.add(NotificationChannel(kind="sms", name="CGZF SMS", department_id=department_id,
                                  sealed="sealed", kinds=[]))
    # A window no other test writes in.
    at = T0 + timedelta(days=400, hours=next(_EVENT_IDS) % 1000)
    event_id = next(_EVENT_IDS)
    try:
        general = await _notified_twice(sessions, settings, monkeypatch, ticket_id=ticket["id"],
                                        set_based=False, at=at, event_id=event_id)
        fast = await _notified_twice(sessions, settings, monkeypatch, ticket_id=ticket["id"],
                                     set_based=True, at=at, event_id=event_id)
    finally:
        async with unit_of_work(sessions) as s:
            await s.execute(delete(NotificationPreference).where(
                NotificationPreference.kind == "new_ticket"))
            await s.execute(delete(NotificationChannel).where(
                NotificationChannel.name == "CGZF SMS"))
            await s.execute(delete(NotificationContact).where(
                NotificationContact.user_id.in_(texters)))
            # Moved by hand into other queues: out of the sweep's way for the other tests.
            await s.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(
                status="cancelled", next_check_at=None))
    assert general[0], "the queue has recipients"
    assert fast == general
    if queue == "department":
        assert {r[0] for r in general[0]} >= {staff} and lead not in {r[0] for r in general[0]}
        assert any(r[1] == staff for r in general[1]), "the SMS opt-in gets a text"



# Reads of the caches that a process checks every few seconds, and the tests on every use.
_CACHE_CHECKS = ("SELECT count(jurisdictions.id)", "SELECT max(matrix_versions.id)",
                 "SELECT street_calendars.", "SELECT calendar_overrides.")


async def test_a_post_makes_a_fixed_number_of_statements(app, client, token_for, matrix_items,
                                                         is_postgres, monkeypatch):
    """A post (no location, so no duplicate lookup) makes at most 7 statements on
    PostgreSQL besides BEGIN and COMMIT — posting's one statement, 4 for the new-ticket
    reminder (the ticket as messages show it, the inbox entries, SMS opt-ins, the queue's
    robots), the live event, the rollups — where the notifications step alone made 7–8;
    SQLite, without writable CTEs, writes row by row."""
    engine = app.state.engine.sync_engine
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()))

    on_driver = repository.run_on_driver

    async def noted(session, statement, params):  # statements run straight on asyncpg
        note(None, None, statement.sql)
        return await on_driver(session, statement, params)

    item = street_item_of(matrix_items, "CGZF")
    await post(client, token_for, item)  # the caches warm
    monkeypatch.setattr(repository, "run_on_driver", noted)
    event.listen(engine, "before_cursor_execute", note)
    try:
        await post(client, token_for, item)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    made = [s for s in seen if not s.startswith(_CACHE_CHECKS)]
    notifying = [s for s in made if "notification" in s]
    assert len(notifying) == 3, "\n".join(s[:300] for s in notifying)  # inbox, SMS, robots
    assert [s for s in notifying if s.startswith("INSERT INTO notifications")][0].count(
        "SELECT users.id") == 1, "the inbox entries are one INSERT … SELECT"
    assert len(made) <= (7 if is_postgres else 12), made


async def test_the_compiled_reads_of_a_post_answer_what_the_session_answers(
        client, token_for, matrix_items, sessions, reference, is_postgres):
    """The ticket as messages show it and the queue's SMS opt-ins, compiled once and run on
    asyncpg (every post reads both), answer what the same reads through the session do."""
    from app.notifications.recipients import queue_users
    from app.notifications.rules import sms_roles

    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"),
                        reporter=REPORTER)
    staff = reference["cgzf_staff"].id
    async with unit_of_work(sessions) as s:
        await s.merge(NotificationPreference(user_id=staff, kind="new_ticket", channel="sms",
                                             enabled=True))
        await s.merge(NotificationContact(user_id=staff, phone="13900001111"))
    try:
        async with sessions() as s:
            compiled = await repository.ticket_context(s, ticket["id"])
            through_session = (await repository.ticket_contexts(s, [ticket["id"]]))[ticket["id"]]
            assert compiled == through_session
            assert await repository.ticket_context(s, 2**40) is None
            t = compiled
            queue = (t.level, t.street_id, t.community_id, t.grid_id, t.department_id)
            kind = Kind.new_ticket
            texting = [await repository.texters(s, queue_users(t), kind=kind.value,
                                                sms_by_default=sms_roles(kind), queue=q)
                       for q in (queue, queue, None)]  # compiled, again, through the session
        assert texting[0] == texting[1] == texting[2]
        assert staff in [r[0] for r in texting[0]]
    finally:
        async with unit_of_work(sessions) as s:
            await s.execute(delete(NotificationPreference).where(
                NotificationPreference.kind == "new_ticket"))
            await s.execute(delete(NotificationContact).where(
                NotificationContact.user_id == staff))
    assert any(k[1] == "ticket_context" for k in db._COMPILED) == is_postgres
