"""The escalation ladder over the shipped matrix (hypothesis): for every grid- and
community-level item, a ticket claimed and worked within its limits stays at its level until
closed; one left unclaimed past its response limit, or unresolved past its resolution limit,
moves up exactly once per level.

The sweep is simulated on the pure decision it acts on (``compute`` → ``Deadlines`` →
``ladder_failure``), visiting the ticket at every instant it would be due (its next checks)
— the earliest the real sweep could act — and climbing as the ``escalate`` action does: the
next level, back in a queue (dispatched), the response clock and the level's count restarted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla.deadlines import add_counted_minutes, elapsed_minutes
from app.sla.service import LADDER, ClockInputs, Deadlines, compute, limits_for
from app.sla.working_time import WorkingCalendar
from tests.matrix.conftest import shipped_rows

ITEMS = [row for row in shipped_rows() if row.handling_level in LADDER]
CAL = WorkingCalendar()
HORIZON = timedelta(days=120)  # far past every limit of the matrix, holidays included
PROFILE = settings(max_examples=150, deadline=None)
TOLERANCE = 1e-3  # minutes: instants are rounded to the microsecond

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 1),
                        timezones=st.just(UTC))
graces = st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 420))
shares = st.floats(min_value=0, max_value=0.99)


@st.composite
def items(draw):
    """A shipped grid- or community-level item, as shipped or with graces of its own."""
    item = draw(st.sampled_from(ITEMS))
    if draw(st.booleans()):
        item = replace(item, response_grace_minutes=draw(graces),
                       resolve_grace_minutes=draw(graces))
    return item


@dataclass
class Climb:
    from_level: str
    failed: str
    at: datetime


class Ticket:
    """One ticket's clock inputs, changed as the workflow's actions change them."""

    def __init__(self, item, urgency: str, posted_at: datetime) -> None:
        self.item, self.limits = item, limits_for(item, urgency)
        self.inputs = ClockInputs(created_at=posted_at, status="dispatched",
                                  level=item.handling_level, urgency=urgency,
                                  response_started_at=posted_at, level_entered_at=posted_at)
        self.climbs: list[Climb] = []
        self.swept_until = posted_at

    @property
    def deadlines(self) -> Deadlines:
        return compute(self.inputs, item=self.item, cal=CAL, warning_share=0.8)

    def act(self, status: str) -> None:
        self.inputs = replace(self.inputs, status=status)

    def sweep_until(self, end: datetime, *, until_a_climb: bool = False) -> None:
        """Every visit of the sweep up to ``end``: at each instant the ticket is due (or up
        to its first climb)."""
        while True:
            due = [i for i in self.deadlines.instants() if self.swept_until < i <= end]
            if not due:
                self.swept_until = end
                return
            now = self.swept_until = min(due)
            failed = self.deadlines.ladder_failure(now)
            if failed is not None:
                self.climb(failed, now)
                if until_a_climb:
                    return

    def climb(self, failed: str, now: datetime) -> None:
        level = self.inputs.level
        self.climbs.append(Climb(level, failed, now))
        self.inputs = replace(self.inputs, level=LADDER[level], status="dispatched",
                              response_started_at=now, level_entered_at=now)

    def worked_minutes(self, start: datetime, end: datetime) -> float:
        return elapsed_minutes(start=start, now=end, basis=self.limits.basis, cal=CAL)

    def at(self, start: datetime, minutes: float) -> datetime:
        return add_counted_minutes(start, minutes, self.limits.basis, CAL)


def _ladder_from(level: str) -> list[str]:
    levels = [level]
    while levels[-1] in LADDER:
        levels.append(LADDER[levels[-1]])
    return levels[:-1]  # the levels a ticket climbs from


@PROFILE
@given(item=items(), urgent=st.booleans(), posted_at=instants, claim_share=shares,
       resolve_share=shares)
def test_a_ticket_worked_within_its_limits_stays_at_its_level_until_closed(
        item, urgent, posted_at, claim_share, resolve_share):
    ticket = Ticket(item, "urgent" if urgent else "normal", posted_at)
    limits = ticket.limits
    claimed_after = claim_share * limits.response
    resolved_after = claimed_after + resolve_share * (limits.resolve - claimed_after)
    claim_at, resolve_at = ticket.at(posted_at, claimed_after), ticket.at(posted_at,
                                                                          resolved_after)

    ticket.sweep_until(claim_at)
    ticket.act("claimed")
    ticket.act("in_progress")
    ticket.sweep_until(resolve_at)
    ticket.act("resolved")
    ticket.sweep_until(resolve_at + HORIZON)  # awaiting verification: the clock stands
    ticket.act("closed")
    ticket.sweep_until(resolve_at + 2 * HORIZON)

    assert ticket.climbs == []
    assert ticket.inputs.level == item.handling_level


@PROFILE
@given(item=items(), urgent=st.booleans(), posted_at=instants)
def test_a_ticket_nobody_signs_for_climbs_once_per_level_at_its_response_limit(
        item, urgent, posted_at):
    ticket = Ticket(item, "urgent" if urgent else "normal", posted_at)
    ticket.sweep_until(posted_at + HORIZON)

    assert [c.from_level for c in ticket.climbs] == _ladder_from(item.handling_level)
    assert ticket.inputs.level == "street"
    limits = ticket.limits
    # Unclaimed, it is unresolved too: whichever limit (with its grace) the level fails
    # first — the response limit, unless an item's graces say otherwise.
    response, resolve = (limits.response + limits.response_grace,
                         limits.resolve + limits.resolve_grace)
    if item.response_grace_minutes is None and item.resolve_grace_minutes is None:
        assert response <= resolve
    entered = posted_at
    for climb in ticket.climbs:  # each level had exactly that limit and grace
        assert climb.failed == ("response" if response <= resolve else "resolve")
        waited = ticket.worked_minutes(entered, climb.at)
        assert abs(waited - min(response, resolve)) <= TOLERANCE, (climb, waited)
        entered = climb.at


@PROFILE
@given(item=items(), urgent=st.booleans(), posted_at=instants, claim_share=shares)
def test_a_ticket_claimed_but_unresolved_climbs_once_per_level_at_its_resolution_limit(
        item, urgent, posted_at, claim_share):
    ticket = Ticket(item, "urgent" if urgent else "normal", posted_at)
    limits = ticket.limits
    entered = posted_at
    for level in _ladder_from(item.handling_level):  # at each level: claimed, never resolved
        claim_at = ticket.at(entered, claim_share * limits.response)
        ticket.sweep_until(claim_at)
        assert ticket.inputs.level == level and len(ticket.climbs) == len(
            _ladder_from(item.handling_level)) - len(_ladder_from(level))
        ticket.act("claimed")
        ticket.act("in_progress")
        ticket.sweep_until(entered + HORIZON, until_a_climb=True)
        climb = ticket.climbs[-1]
        assert (climb.from_level, climb.failed) == (level, "resolve")
        waited = ticket.worked_minutes(entered, climb.at)
        assert abs(waited - (limits.resolve + limits.resolve_grace)) <= TOLERANCE, waited
        entered = climb.at
    ticket.sweep_until(entered + HORIZON)  # at the street the ladder ends
    assert [c.from_level for c in ticket.climbs] == _ladder_from(item.handling_level)
    assert ticket.inputs.level == "street"
