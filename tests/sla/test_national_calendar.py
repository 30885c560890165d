"""Whether China's calendar of this year and, from December, the next is known — with a
frozen clock and the package's known years pinned, so the tests do not age."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from app.sla import national_calendar
from app.sla.national_calendar import status_of, years_known_to_holidays

pytestmark = pytest.mark.usefixtures("reference")

STATUS = "/api/v1/calendar/status"


def test_the_installed_holidays_knows_2026s_make_up_workdays():
    # holidays>=0.85: the first release with 2026's 调休 right.
    assert 2026 in years_known_to_holidays()


def test_before_december_only_this_year_is_checked():
    status = status_of(date(2026, 11, 30), overrides_by_year={}, known_years={2026})
    assert [y.year for y in status.years] == [2026]
    assert status.ok and status.warning is None


def test_from_december_an_unknown_next_year_warns():
    status = status_of(date(2026, 12, 1), overrides_by_year={}, known_years={2026})
    assert [y.year for y in status.years] == [2026, 2027]
    assert not status.ok
    assert "2027" in status.warning and "2026" not in status.warning.split("(")[0]


def test_a_next_year_known_to_the_package_or_overridden_is_fine():
    assert status_of(date(2026, 12, 15), overrides_by_year={},
                     known_years={2026, 2027}).ok
    assert status_of(date(2026, 12, 15), overrides_by_year={2027: 9}, known_years={2026}).ok


def test_an_unknown_current_year_warns_all_year():
    assert not status_of(date(2027, 3, 1), overrides_by_year={}, known_years={2026}).ok


@pytest.fixture
def package_knows_2026_only(monkeypatch):
    monkeypatch.setattr(national_calendar, "years_known_to_holidays", lambda: frozenset({2026}))


async def test_admins_see_the_warning_until_the_notice_is_entered(
        client, token_for, clock, package_knows_2026_only):
    clock.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    admin = token_for("admin")
    first = await client.get(STATUS, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json()["ok"] is True

    clock.set(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    admin = token_for("admin")
    body = (await client.get(STATUS, headers=admin)).json()
    assert body["ok"] is False and "2027" in body["warning"]
    assert body["years"][1] == {"year": 2027, "known_to_holidays": False, "overrides": 0,
                                "known": False}

    # The State Council's notice, entered as overrides for all streets.
    day = "2027-01-04"
    r = await client.post("/api/v1/calendars/all/overrides", headers=admin,
                          json={"day": day, "is_working": False, "note": "元旦调休"})
    assert r.status_code == 201, r.text
    try:
        body = (await client.get(STATUS, headers=admin)).json()
        assert body["ok"] is True and body["warning"] is None
    finally:
        await client.delete(f"/api/v1/calendars/all/overrides/{day}", headers=admin)


async def test_only_admins_read_the_status(client, token_for):
    assert (await client.get(STATUS)).status_code == 401
    assert (await client.get(STATUS, headers=token_for("gw01"))).status_code == 403


async def test_the_worker_logs_the_warning(sessions, settings, clock, caplog,
                                           package_knows_2026_only, monkeypatch):
    from app import retention

    monkeypatch.setattr(retention, "_last_housekeeping", None)
    clock.set(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    with caplog.at_level("WARNING", logger="whistle.retention"):
        # Retention windows so long that nothing of the shared database goes.
        keep_all = settings.model_copy(update={f"retain_{kind}_days": 3650 for kind in (
            "delivered_outbox", "delivery_log", "expired_tokens", "login_failures")})
        await retention.housekeeping(sessions, now=clock.now(), settings=keep_all)
    assert any("2027" in r.getMessage() for r in caplog.records)


async def test_metrics_and_the_admins_readiness_detail_carry_the_warning(
        settings, clock, token_for, package_knows_2026_only):
    from app.main import create_app
    from tests.observability.test_metrics import scrape, value

    app = create_app(settings.model_copy(update={"metrics_cache_seconds": 0}), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        clock.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
        november = await scrape(client)
        assert value(november, "whistle_calendar_unknown_years") == 0
        assert value(november, "whistle_calendar_year_known", year="2026") == 1

        clock.set(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
        december = await scrape(client)
        assert value(december, "whistle_calendar_unknown_years") == 1
        assert 'whistle_calendar_year_known{year="2027"} 0.0' in december  # present, and 0

        ready = (await client.get("/readyz", headers=token_for("admin"))).json()
        assert ready["status"] == "ok"  # a warning, not a reason to be unready
        assert ready["details"]["calendar"]["years"] == {"2026": True, "2027": False}
        assert "2027" in ready["details"]["calendar"]["warning"]
        anonymous = (await client.get("/readyz")).json()
        assert anonymous == {"status": "ok"}
    await app.state.engine.dispose()
