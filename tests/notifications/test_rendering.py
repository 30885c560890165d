"""A set's inbox entries are rendered once per masking, not once per recipient, and each
recipient still reads the text their scope allows."""

from __future__ import annotations

from datetime import UTC, datetime

from app.auth.models import Role
from app.notifications import pipeline
from app.notifications.messages import Message
from app.notifications.pipeline import _Plan
from app.notifications.recipients import Recipient, TicketContext
from app.notifications.rules import SPECS, Kind

AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _ticket(reporter: str | None) -> TicketContext:
    return TicketContext(
        id=41, number="20261203000041", level="street", urgency="normal", status="dispatched",
        department_id=5, department_code="CGZF", street_id=1, community_id=2, grid_id=3,
        assignee_id=None, item_code="CG01", item_name="占道经营", place="BH01-01 东门",
        address="东门", reporter_name=reporter, resolve_due_at=AT, response_due_at=AT)


def _plan(settings, reporter: str | None) -> _Plan:
    return _Plan.of(SPECS[Kind.sla_overdue], _ticket(reporter), at=AT,
                    data={"clock": "resolve", "due_at": AT.isoformat()}, event_id=9,
                    key="e9", settings=settings)


def test_each_recipient_reads_their_masking_and_each_masking_is_rendered_once(
        settings, monkeypatch):
    rendered: list[Message] = []

    def counting(message: Message, **kwargs) -> str:
        rendered.append(message)
        return _render(message, **kwargs)

    _render = pipeline.render
    monkeypatch.setattr(pipeline, "render", counting)
    seeing = [Recipient(u, Role.department_staff, 5, True) for u in (1, 2, 3)]
    masked = [Recipient(u, Role.department_staff, 6, False) for u in (4, 5)]
    entries = _plan(settings, "王小明").inbox(seeing + masked, {})

    bodies = {e["user_id"]: e["body"] for e in entries}
    assert sorted(bodies) == [1, 2, 3, 4, 5]
    for user_id in (1, 2, 3):
        assert "反映人：王小明" in bodies[user_id]
    for user_id in (4, 5):
        assert "反映人：王**" in bodies[user_id] and "王小明" not in bodies[user_id]
    assert len(rendered) == 2  # one text per masking, five recipients
    assert {e["dedupe_key"] for e in entries} == {f"e9:sla_overdue:u{u}" for u in range(1, 6)}


def test_a_message_with_nothing_to_mask_is_its_own_masked_form(settings):
    message = _plan(settings, None).message
    assert message.masked() is message
    named = _plan(settings, "王小明").message
    assert named.masked() is not named and named.masked().reporter == "王**"
    assert named.reporter == "王小明"  # masking made a copy, the original is untouched

