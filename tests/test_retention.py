"""Retention: ``prune`` removes exactly what the settings no longer keep, in the shared
test database (rows are dated weeks before the frozen clock, so other tests' rows stay);
``whistle prune`` runs it; the worker runs it once per interval."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.attachments.models import Attachment
from app.auth import service as auth_service
from app.auth.models import LoginFailure, RefreshToken
from app.db import unit_of_work
from app.jurisdiction.models import Department
from app.notifications.models import (
    Notification,
    NotificationAttempt,
    NotificationChannel,
    NotificationOutbox,
)
from app.retention import housekeeping, prune
from app.tickets.models import TicketEvent
from app.webhooks.models import OutboxMessage, WebhookDelivery, WebhookSubscription
from tests.conftest import T0
from tests.test_settings_check import run_whistle

pytestmark = pytest.mark.usefixtures("reference")

DAY = timedelta(days=1)


async def _ids(sessions, model, ids) -> set[int]:
    async with sessions() as session:
        return set((await session.execute(select(model.id).where(model.id.in_(ids)))).scalars())


async def test_prune_removes_old_failures_and_whole_expired_logins(sessions, settings):
    tag = uuid.uuid4().hex[:8]
    async with unit_of_work(sessions) as session:
        user = await auth_service.create_user(session=session, username=f"prune{tag}",
                                              password="long enough password", role="admin")

        def token(family: str, issued_days_ago: int, lifetime_days: int) -> RefreshToken:
            issued = T0 - issued_days_ago * DAY
            return RefreshToken(user_id=user.id, family=f"{family}{tag}",
                                token_hash=uuid.uuid4().hex, issued_at=issued,
                                expires_at=issued + lifetime_days * DAY)

        rows = {
            "old_failure": LoginFailure(username=f"x{tag}", client_addr="10.0.0.1",
                                        created_at=T0 - 8 * DAY),
            "fresh_failure": LoginFailure(username=f"x{tag}", client_addr="10.0.0.1",
                                          created_at=T0 - DAY),
            "expired_login": token("a", 60, 14),  # expired 46 days ago: goes
            # A login still alive keeps its first token, which dates it (login_max_days).
            "first_of_live_login": token("b", 60, 14),
            "last_of_live_login": token("b", 9, 14),
            "recently_expired": token("c", 17, 14),  # expired 3 days ago: within 7, stays
        }
        session.add_all(rows.values())
        await session.flush()
        ids = {name: row.id for name, row in rows.items()}

    report = await prune(sessions, now=T0, settings=settings)

    assert report.login_failures >= 1 and report.refresh_tokens >= 1
    assert await _ids(sessions, LoginFailure, [ids["old_failure"], ids["fresh_failure"]]) \
        == {ids["fresh_failure"]}
    tokens = [ids[n] for n in ("expired_login", "first_of_live_login", "last_of_live_login",
                               "recently_expired")]
    assert await _ids(sessions, RefreshToken, tokens) == set(tokens[1:])


async def test_prune_removes_delivered_outbox_rows_and_old_delivery_logs(
        client, token_for, sessions, settings):
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    async with unit_of_work(sessions) as session:
        event_id = (await session.execute(select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket_id))).scalars().first()
        subscription = WebhookSubscription(url="https://dept.example/h", secret="sealed",
                                           event_types=[], is_active=False)
        session.add(subscription)
        await session.flush()

        def message(status: str, days_ago: int) -> OutboxMessage:
            at = T0 - days_ago * DAY
            return OutboxMessage(
                subscription_id=subscription.id, event_id=event_id, ticket_id=ticket_id,
                event_kind="created", payload={}, delivery_id=str(uuid.uuid4()), status=status,
                attempts=1, next_attempt_at=at, created_at=at,
                delivered_at=at if status == "delivered" else None)

        messages = {"old_delivered": message("delivered", 10),
                    "new_delivered": message("delivered", 1),
                    "old_pending": message("pending", 60), "old_dead": message("dead", 60)}
        session.add_all(messages.values())
        await session.flush()

        def attempt(name: str, days_ago: int) -> WebhookDelivery:
            return WebhookDelivery(outbox_id=messages[name].id, attempt=1, status_code=500,
                                   duration_ms=5, created_at=T0 - days_ago * DAY)

        attempts = {"of_old_delivered": attempt("old_delivered", 10),
                    "old_of_pending": attempt("old_pending", 40),
                    "new_of_pending": attempt("old_pending", 1)}
        session.add_all(attempts.values())
        await session.flush()
        message_ids = {n: m.id for n, m in messages.items()}
        attempt_ids = {n: a.id for n, a in attempts.items()}

    await prune(sessions, now=T0, settings=settings)

    assert await _ids(sessions, OutboxMessage, message_ids.values()) == {
        message_ids["new_delivered"], message_ids["old_pending"], message_ids["old_dead"]}
    assert await _ids(sessions, WebhookDelivery, attempt_ids.values()) == {
        attempt_ids["new_of_pending"]}


async def test_prune_removes_delivered_notifications_and_their_old_delivery_log(
        sessions, settings, reference):
    tag = uuid.uuid4().hex[:8]
    async with unit_of_work(sessions) as session:
        department_id = (await session.execute(select(Department.id).where(
            Department.code == "CGZF"))).scalar_one()
        channel = NotificationChannel(kind="wecom", name=f"保洁群 {tag}",
                                      department_id=department_id, is_active=False)
        session.add(channel)
        await session.flush()

        def message(status: str, days_ago: int) -> NotificationOutbox:
            at = T0 - days_ago * DAY
            return NotificationOutbox(
                channel_id=channel.id, kind="new_ticket", payload={}, dedupe_key=f"{tag}{status}{days_ago}",
                status=status, attempts=1, next_attempt_at=at, created_at=at,
                delivered_at=at if status == "delivered" else None)

        messages = {"old_delivered": message("delivered", 10),
                    "new_delivered": message("delivered", 1),
                    "old_pending": message("pending", 60), "old_dead": message("dead", 60)}
        session.add_all(messages.values())
        await session.flush()

        def attempt(name: str, days_ago: int) -> NotificationAttempt:
            return NotificationAttempt(outbox_id=messages[name].id, channel_id=channel.id,
                                       attempt=1, status_code=500, duration_ms=5,
                                       created_at=T0 - days_ago * DAY)

        attempts = {"of_old_delivered": attempt("old_delivered", 10),
                    "old_of_dead": attempt("old_dead", 40),
                    "new_of_pending": attempt("old_pending", 1)}
        session.add_all(attempts.values())
        await session.flush()
        message_ids = {n: m.id for n, m in messages.items()}
        attempt_ids = {n: a.id for n, a in attempts.items()}

    report = await prune(sessions, now=T0, settings=settings)

    assert report.delivered_outbox >= 1 and report.delivery_log >= 1
    assert await _ids(sessions, NotificationOutbox, message_ids.values()) == {
        message_ids["new_delivered"], message_ids["old_pending"], message_ids["old_dead"]}
    assert await _ids(sessions, NotificationAttempt, attempt_ids.values()) == {
        attempt_ids["new_of_pending"]}


async def test_prune_removes_inbox_entries_read_long_ago_and_any_a_year_old(
        sessions, settings, reference):
    tag = uuid.uuid4().hex[:8]
    user_id = reference["cgzf_staff"].user_id

    def entry(name: str, *, changed_days_ago: int, read_days_ago: int | None) -> Notification:
        return Notification(
            user_id=user_id, kind="new_ticket", title=name, body="", link="/app/queue",
            dedupe_key=f"{tag}{name}", created_at=T0 - 400 * DAY,
            updated_at=T0 - changed_days_ago * DAY,
            read_at=None if read_days_ago is None else T0 - read_days_ago * DAY)

    async with unit_of_work(sessions) as session:
        entries = {
            "read_long_ago": entry("a", changed_days_ago=100, read_days_ago=95),  # goes
            "read_lately": entry("b", changed_days_ago=100, read_days_ago=10),
            # read long ago, but more new tickets came since: the count is news
            "changed_after_reading": entry("c", changed_days_ago=5, read_days_ago=95),
            "unread": entry("d", changed_days_ago=100, read_days_ago=None),
            "unread_a_year": entry("e", changed_days_ago=366, read_days_ago=None),  # goes
        }
        session.add_all(entries.values())
        await session.flush()
        ids = {n: e.id for n, e in entries.items()}

    report = await prune(sessions, now=T0, settings=settings)

    assert report.inbox_entries >= 2
    assert await _ids(sessions, Notification, ids.values()) == {
        ids["read_lately"], ids["changed_after_reading"], ids["unread"]}


async def test_prune_removes_unused_uploads_and_the_files_nothing_else_uses(
        client, token_for, sessions, settings):
    from tests.attachments.test_attachments import png_bytes, upload

    headers = token_for("gw01")
    shade = uuid.uuid4().int % 200
    uploads = {}
    for name, colour in (("unused", (shade, 1, 2)), ("attached", (shade, 3, 4)),
                         ("shared_old", (shade, 5, 6)), ("shared_new", (shade, 5, 6)),
                         ("touched", (shade, 7, 8))):
        r = await upload(client, headers, png_bytes(colour))
        assert r.status_code == 201, r.text
        uploads[name] = r.json()["id"]
    posted = await client.post("/api/v1/tickets", headers=headers, json={
        "grid": "BH01-01", "item": "0202", "description": "垃圾", "attachments": [uploads["attached"]]})
    assert posted.status_code == 201, posted.text

    week_ago = T0 - 8 * DAY
    async with unit_of_work(sessions) as session:
        rows = {n: await session.get(Attachment, i) for n, i in uploads.items()}
        for name in ("unused", "attached", "shared_old", "touched"):
            rows[name].created_at = week_ago
        files = {n: [settings.attachment_dir / k for k in (a.storage_key, a.original_key,
                                                             a.thumbnail_key)]
                 for n, a in rows.items()}
    for name in ("unused", "attached", "shared_old"):
        for path in files[name]:
            os.utime(path, (week_ago.timestamp(), week_ago.timestamp()))
    # "touched": its files were reused by an identical upload a moment ago (see _write).

    report = await prune(sessions, now=T0, settings=settings)

    assert report.unused_uploads >= 3
    assert await _ids(sessions, Attachment, uploads.values()) == {
        uploads["attached"], uploads["shared_new"]}
    assert not any(p.exists() for p in files["unused"])
    assert all(p.exists() for p in files["attached"])
    assert all(p.exists() for p in files["shared_new"])  # the same photo, still in use
    assert all(p.exists() for p in files["touched"])  # row gone, files left to a later prune


async def test_the_worker_prunes_once_per_interval(sessions, settings, monkeypatch):
    from app import retention

    monkeypatch.setattr(retention, "_last_housekeeping", None)
    assert await housekeeping(sessions, now=T0, settings=settings) is not None
    assert await housekeeping(sessions, now=T0, settings=settings) is None  # not due yet


async def test_a_worker_pass_does_the_housekeeping(sessions, settings, clock, monkeypatch):
    from app import retention
    from app.sla.commands import run_pass

    calls = []

    async def noted(*args, **kwargs):
        calls.append(kwargs["now"])

    monkeypatch.setattr(retention, "housekeeping", noted)
    await run_pass(sessions=sessions, settings=settings, clock=clock)
    assert calls == [clock.now()]


def test_whistle_prune_runs_from_the_command_line(tmp_path):
    assert run_whistle(tmp_path, "migrate").returncode == 0

    r = run_whistle(tmp_path, "prune")

    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("pruned 0 delivered outbox rows")
