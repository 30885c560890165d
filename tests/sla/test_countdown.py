"""GET /tickets/{id}/countdown: the minutes left, counted as the item counts them — the
street's working time stands still at night, over weekends and holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import T0  # Monday 2026-11-23 10:00 in Shanghai

pytestmark = pytest.mark.usefixtures("reference")


async def _countdown(client, token_for, ticket_id: int) -> dict:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/countdown", headers=token_for("sd"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_working_time_stands_still_at_night_and_runs_in_the_day(client, token_for, clock):
    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0201", "description": "违法搭建（倒计时）"})
    assert posted.status_code == 201, posted.text
    ticket_id = posted.json()["id"]
    at_post = await _countdown(client, token_for, ticket_id)
    assert at_post["basis"] == "working" and at_post["resolve_minutes_left"] > 0

    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # 19:00 Monday in Shanghai
    evening = await _countdown(client, token_for, ticket_id)
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00
    night = await _countdown(client, token_for, ticket_id)
    assert evening["resolve_minutes_left"] == night["resolve_minutes_left"]
    assert evening["resolve_minutes_left"] < at_post["resolve_minutes_left"]

    clock.set(T0 + timedelta(days=1, hours=1))  # Tuesday 11:00: an hour of the day gone
    tuesday = await _countdown(client, token_for, ticket_id)
    assert tuesday["resolve_minutes_left"] < night["resolve_minutes_left"]

    clock.set(T0 + timedelta(days=90))
    late = await _countdown(client, token_for, ticket_id)
    assert late["resolve_minutes_left"] < 0 and late["response_minutes_left"] < 0


async def test_a_claimed_ticket_has_no_response_countdown_and_scope_is_the_tickets(
        client, token_for):
    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0201", "description": "违法搭建（已签收）"})
    ticket_id = posted.json()["id"]
    await client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=token_for("cgzf_staff"))
    assert (await _countdown(client, token_for, ticket_id))["response_minutes_left"] is None
    hidden = await client.get(f"/api/v1/tickets/{ticket_id}/countdown",
                              headers=token_for("gw02"))
    absent = await client.get(f"/api/v1/tickets/{2**62}/countdown", headers=token_for("gw02"))
    assert hidden.status_code == absent.status_code == 404
