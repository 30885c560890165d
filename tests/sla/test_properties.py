"""Properties of the SLA maths over random starts in 2025–2027 (years the holiday data
covers), random limits, pauses and local overrides (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla import (
    Pause,
    WorkingCalendar,
    add_working_minutes,
    deadline,
    elapsed_minutes,
    warning_at,
    working_minutes_between,
)

PROFILE = settings(max_examples=200, deadline=None)
TOLERANCE = 1e-6  # minutes; results are rounded to the microsecond
FOUR_WEEKS = 20 * 420

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 10, 1), timezones=st.just(UTC)
)
limits = st.floats(min_value=0, max_value=FOUR_WEEKS, allow_nan=False, allow_infinity=False)
bases = st.sampled_from(["working", "calendar"])
calendars = st.builds(
    WorkingCalendar,
    overrides=st.dictionaries(
        st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
        st.booleans(),
        max_size=30,
    ),
)
offsets = st.integers(min_value=0, max_value=60 * 24 * 30)  # minutes, within a month


@st.composite
def disjoint_pauses(draw, start: datetime) -> list[Pause]:
    """Up to three non-overlapping closed pauses after ``start``."""
    cuts = sorted(draw(st.lists(offsets, min_size=0, max_size=6, unique=True)))
    cuts = cuts[: len(cuts) // 2 * 2]
    return [
        Pause(start + timedelta(minutes=a), start + timedelta(minutes=b))
        for a, b in zip(cuts[::2], cuts[1::2], strict=True)
    ]


@PROFILE
@given(start=instants, limit=limits, basis=bases, cal=calendars, data=st.data())
def test_deadline_is_never_before_the_start(start, limit, basis, cal, data):
    pauses = data.draw(disjoint_pauses(start))
    due = deadline(start=start, limit_minutes=limit, basis=basis, cal=cal, pauses=pauses)
    assert due >= start


@PROFILE
@given(start=instants, a=limits, b=limits, basis=bases, cal=calendars, data=st.data())
def test_deadline_is_monotonic_in_the_limit(start, a, b, basis, cal, data):
    pauses = data.draw(disjoint_pauses(start))
    low, high = sorted((a, b))
    first = deadline(start=start, limit_minutes=low, basis=basis, cal=cal, pauses=pauses)
    second = deadline(start=start, limit_minutes=high, basis=basis, cal=cal, pauses=pauses)
    assert first <= second


@PROFILE
@given(start=instants, minutes=limits, cal=calendars)
def test_working_minutes_between_inverts_add_working_minutes(start, minutes, cal):
    end = add_working_minutes(start, minutes, cal)
    assert abs(working_minutes_between(start, end, cal) - minutes) < TOLERANCE


@PROFILE
@given(start=instants, a=offsets, b=offsets, cal=calendars)
def test_working_minutes_add_up_over_consecutive_stretches(start, a, b, cal):
    middle = start + timedelta(minutes=a)
    end = middle + timedelta(minutes=b)
    whole = working_minutes_between(start, end, cal)
    parts = working_minutes_between(start, middle, cal) + working_minutes_between(middle, end, cal)
    assert abs(whole - parts) < TOLERANCE


@PROFILE
@given(start=instants, now_offset=offsets, basis=bases, cal=calendars, data=st.data())
def test_paused_time_is_excluded_from_elapsed(start, now_offset, basis, cal, data):
    pauses = data.draw(disjoint_pauses(start))
    now = start + timedelta(minutes=now_offset)
    plain = elapsed_minutes(start=start, now=now, basis=basis, cal=cal)
    paused = sum(
        elapsed_minutes(start=p.start, now=min(p.end, now), basis=basis, cal=cal) for p in pauses
    )
    with_pauses = elapsed_minutes(start=start, now=now, basis=basis, cal=cal, pauses=pauses)
    assert abs(with_pauses - (plain - paused)) < TOLERANCE


@PROFILE
@given(start=instants, limit=limits, basis=bases, cal=calendars, data=st.data())
def test_counted_time_up_to_the_deadline_is_the_limit(start, limit, basis, cal, data):
    pauses = data.draw(disjoint_pauses(start))
    due = deadline(start=start, limit_minutes=limit, basis=basis, cal=cal, pauses=pauses)
    counted = elapsed_minutes(start=start, now=due, basis=basis, cal=cal, pauses=pauses)
    assert abs(counted - limit) < TOLERANCE


@PROFILE
@given(
    start=instants,
    limit=limits,
    share=st.floats(min_value=0, max_value=1),
    basis=bases,
    cal=calendars,
    data=st.data(),
)
def test_warning_at_lies_between_start_and_due(start, limit, share, basis, cal, data):
    pauses = data.draw(disjoint_pauses(start))
    due = deadline(start=start, limit_minutes=limit, basis=basis, cal=cal, pauses=pauses)
    warn = warning_at(
        start=start, due=due, warning_share=share, basis=basis, cal=cal, pauses=pauses
    )
    assert start <= warn <= due
