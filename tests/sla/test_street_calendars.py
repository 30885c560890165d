"""Street calendars kept by admins: working periods and extra days off or on, applied to
deadlines computed after the change (nothing is recomputed retroactively)."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.clock import SHANGHAI
from app.sla import street_calendars
from tests.sla.support import post, street_item_of, ticket_row

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def restore_calendar(client, token_for):
    yield
    await client.put("/api/v1/calendars/BH", json={"periods": "08:30-12:00,14:00-17:30"},
                     headers=token_for("admin"))
    for day in ("2026-11-24", "2026-11-23"):
        await client.delete(f"/api/v1/calendars/BH/overrides/{day}", headers=token_for("admin"))
        await client.delete(f"/api/v1/calendars/all/overrides/{day}",
                            headers=token_for("admin"))
    street_calendars.invalidate()


async def test_admin_reads_and_sets_working_periods(client, token_for, restore_calendar):
    r = await client.get("/api/v1/calendars/BH", headers=token_for("admin"))
    assert r.json()["periods"] == "08:30-12:00,14:00-17:30" and r.json()["minutes_per_day"] == 420
    r = await client.put("/api/v1/calendars/BH", json={"periods": "09:00-12:00,13:30-18:00"},
                         headers=token_for("admin"))
    assert r.status_code == 200 and r.json()["minutes_per_day"] == 450


async def test_bad_periods_name_the_field_and_others_may_not_edit(client, token_for):
    r = await client.put("/api/v1/calendars/BH", json={"periods": "12:00-08:30,14:00-17:30"},
                         headers=token_for("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "periods"]
    r = await client.put("/api/v1/calendars/BH", json={"periods": "08:30-12:00"},
                         headers=token_for("sd"))
    assert r.status_code == 403
    r = await client.get("/api/v1/calendars/NOPE", headers=token_for("admin"))
    assert r.status_code == 404


async def test_an_extra_day_off_moves_deadlines_computed_afterwards(
        client, token_for, sessions, matrix_items, restore_calendar):
    item = street_item_of(matrix_items, "CGZF")
    before = await ticket_row(sessions, (await post(client, token_for, item))["id"])
    r = await client.post("/api/v1/calendars/BH/overrides",
                          json={"day": "2026-11-23", "is_working": False, "note": "停电"},
                          headers=token_for("admin"))
    assert r.status_code == 201, r.text
    dup = await client.post("/api/v1/calendars/BH/overrides",
                            json={"day": "2026-11-23", "is_working": True},
                            headers=token_for("admin"))
    assert dup.status_code == 409
    listed = (await client.get("/api/v1/calendars/BH/overrides",
                               headers=token_for("admin"))).json()
    assert {"day": "2026-11-23", "is_working": False, "note": "停电"} in listed

    after = await ticket_row(sessions, (await post(client, token_for, item))["id"])
    assert after.resolve_due_at > before.resolve_due_at  # today no longer counts
    assert (await ticket_row(sessions, before.id)).resolve_due_at == before.resolve_due_at
    gone = await client.delete("/api/v1/calendars/BH/overrides/2026-11-23",
                               headers=token_for("admin"))
    assert gone.status_code == 204


async def test_an_all_streets_override_applies_to_every_street(client, token_for, sessions,
                                                               settings, restore_calendar):
    r = await client.post("/api/v1/calendars/all/overrides",
                          json={"day": "2026-11-23", "is_working": False},
                          headers=token_for("admin"))
    assert r.status_code == 201
    async with sessions() as s:
        street_id = await street_calendars.street_id_for(s, "BH")
        cal = await street_calendars.calendar_for(s, street_id, settings=settings)
    assert not cal.is_working_day(datetime(2026, 11, 23, tzinfo=SHANGHAI).date())
