"""The deadline bookkeeping of ``app.sla.service``, pure: which clocks run in which state,
the next check, the SLA state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.clock import SHANGHAI
from app.sla.deadlines import Pause
from app.sla.service import ClockInputs, compute, initial_deadlines, limits_for
from app.sla.working_time import WorkingCalendar

CAL = WorkingCalendar()
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Item:
    category_code: str = "02"
    time_basis: str = "working"
    response_minutes: int = 120
    resolve_minutes: int = 420
    urgent_response_minutes: int = 30
    urgent_resolve_minutes: int = 60
    response_grace_minutes: int | None = None
    resolve_grace_minutes: int | None = None


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_a_new_grid_ticket_climbs_when_it_fails_a_limit_and_not_before():
    d = initial_deadlines(item=Item(), urgency="normal", level="grid", status="dispatched",
                          now=MONDAY_10, cal=CAL, warning_share=0.8)
    assert (d.response_due_at, d.response_warn_at) == (at(23, 12), at(23, 11, 36))
    # Unclaimed at the response deadline, unresolved at the resolution deadline (grace 0).
    assert (d.response_escalate_at, d.resolve_due_at, d.escalate_due_at) == \
        (at(23, 12), at(24, 10), at(24, 10))
    assert d.next_check() == at(23, 11, 36)
    assert d.ticket_values(MONDAY_10)["sla_state"] == "on_track"
    assert d.ladder_failure(at(23, 11, 59)) is None
    assert d.ladder_failure(at(23, 12)) == "response"


def test_a_claimed_ticket_climbs_only_past_its_resolution_limit_at_the_level():
    inputs = ClockInputs(created_at=MONDAY_10, status="in_progress", level="community",
                         urgency="normal", response_started_at=None,
                         level_entered_at=at(23, 15))  # escalated from the grid at 15:00
    d = compute(inputs, item=Item(), cal=CAL, warning_share=0.8)
    assert d.response_escalate_at is None and d.resolve_due_at == at(24, 10)
    assert d.escalate_due_at == at(24, 15)  # the level's own resolution limit
    assert d.ladder_failure(at(24, 14, 59)) is None and d.ladder_failure(at(24, 15)) == "resolve"


def test_graces_of_the_item_delay_the_climb():
    item = Item(response_grace_minutes=30, resolve_grace_minutes=60)
    d = initial_deadlines(item=item, urgency="normal", level="grid", status="dispatched",
                          now=MONDAY_10, cal=CAL, warning_share=0.8)
    assert (d.response_due_at, d.response_escalate_at) == (at(23, 12), at(23, 14, 30))
    assert (d.resolve_due_at, d.escalate_due_at) == (at(24, 10), at(24, 11))
    assert d.next_check(after=at(23, 12)) == at(23, 14, 30)  # the sweep wakes for it


def test_urgent_limits_and_item_graces_override_the_defaults():
    assert limits_for(Item(), "urgent").resolve == 60
    assert limits_for(Item(), "normal").resolve_grace == 0  # the category's
    assert limits_for(Item(resolve_grace_minutes=30), "normal").resolve_grace == 30


def test_street_level_has_no_escalation_budget_and_calendar_time_counts_nights():
    d = initial_deadlines(item=Item(time_basis="calendar"), urgency="normal", level="street",
                          status="dispatched", now=MONDAY_10, cal=CAL, warning_share=0.8)
    assert d.escalate_due_at is None
    assert d.resolve_due_at == MONDAY_10 + timedelta(minutes=420)


def test_a_claimed_ticket_has_no_response_clock_and_a_resolved_one_no_next_check():
    base = ClockInputs(created_at=MONDAY_10, status="claimed", level="street", urgency="normal",
                       response_started_at=MONDAY_10, level_entered_at=MONDAY_10)
    claimed = compute(base, item=Item(), cal=CAL, warning_share=0.8)
    assert claimed.response_due_at is None and claimed.next_check() == claimed.resolve_warn_at
    resolved = compute(_with(base, status="resolved"), item=Item(), cal=CAL, warning_share=0.8)
    assert resolved.next_check() is None


def _with(inputs: ClockInputs, **changes) -> ClockInputs:
    return replace(inputs, **changes)


def test_paused_time_and_extensions_move_the_resolution_deadline():
    base = ClockInputs(created_at=MONDAY_10, status="in_progress", level="street",
                       urgency="normal", response_started_at=None, level_entered_at=MONDAY_10)
    plain = compute(base, item=Item(), cal=CAL, warning_share=0.8).resolve_due_at
    paused = compute(_with(base, pauses=(Pause(at(23, 11), at(23, 12)),)), item=Item(),
                     cal=CAL, warning_share=0.8).resolve_due_at
    extended = compute(_with(base, extension_minutes=60), item=Item(), cal=CAL,
                       warning_share=0.8).resolve_due_at
    assert plain == at(24, 10)
    assert paused == extended == at(24, 11)  # one paused working hour = one hour more


def test_next_check_after_an_instant_and_the_state_at_it():
    d = initial_deadlines(item=Item(), urgency="normal", level="grid", status="dispatched",
                          now=MONDAY_10, cal=CAL, warning_share=0.8)
    assert d.next_check(after=at(23, 11, 36)) == at(23, 12)
    assert d.state(at(23, 11, 40)) == "warning" and d.state(at(23, 12)) == "overdue"
    assert d.next_check(after=at(24, 10)) is None
