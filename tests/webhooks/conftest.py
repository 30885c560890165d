"""Fixtures shared by the webhook tests."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.db import unit_of_work
from app.webhooks.models import OutboxMessage, WebhookSubscription


@pytest.fixture
async def only_this_tests_messages(sessions):
    """Messages and subscriptions of earlier tests must not be delivered in this one."""
    async with unit_of_work(sessions) as session:
        await session.execute(update(WebhookSubscription).values(is_active=False))
        await session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                              .values(status="dead", last_error="left by another test"))
    yield
    async with unit_of_work(sessions) as session:
        await session.execute(update(WebhookSubscription).values(is_active=False))
