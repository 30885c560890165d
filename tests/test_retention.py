"""Retention: ``prune`` removes exactly what the settings no longer keep, in the shared
test database (rows are dated weeks before the frozen clock, so other tests' rows stay);
``whistle prune`` runs it; the worker runs it once per interval."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth import service as auth_service
from app.auth.models import LoginFailure, RefreshToken
from app.db import unit_of_work
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
