"""One set of tickets with varied histories for the whole reports suite, posted in spring
2026 (far from the other tests' clock), and the brute-force world loaded from it."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

from tests.reports import brute
from tests.reports.story import make_stories, sweep_and_continue

START, END = date(2026, 3, 1), date(2026, 5, 31)
# 1,200 by default (about a minute on SQLite); override with WHISTLE_REPORT_TICKETS for a quick look.
TICKETS = int(os.environ.get("WHISTLE_REPORT_TICKETS", "1200"))


@pytest.fixture(scope="session")
async def stories(reference, sessions, settings) -> list[int]:
    ids = await make_stories(
        sessions=sessions, reference=reference, settings=settings, count=TICKETS,
        start=datetime(2026, 3, 1, 0, 0, tzinfo=UTC), end=datetime(2026, 5, 31, 12, 0, tzinfo=UTC))
    await sweep_and_continue(sessions=sessions, reference=reference, settings=settings,
                             ticket_ids=ids, when=datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    return ids


@pytest.fixture
async def world(stories, sessions) -> brute.World:
    return await brute.load_world(sessions)


def pytest_collection_modifyitems(items):
    # The shared report story (1,200 tickets through the whole pipeline, notifications
    # included) is built inside the first test that needs it: give that setup room.
    for item in items:
        if item.nodeid.startswith("tests/reports/"):
            item.add_marker(pytest.mark.timeout(900))
