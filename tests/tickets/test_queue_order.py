"""One queue order: the first ticket of a department's queue listing is the one claim-next
hands out, whatever the urgencies and deadlines (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from app.tickets.models import Ticket, Urgency
from app.tickets.queue_order import URGENCY_RANK

pytestmark = pytest.mark.usefixtures("reference")

QUEUE = "/api/v1/departments/CGZF/queue"

# (urgency, resolution deadline in hours from now or none); few distinct deadlines, so that
# ties (decided by age) are common.
tickets = st.lists(st.tuples(st.sampled_from([u.value for u in Urgency]),
                             st.one_of(st.none(), st.integers(-2, 3))),
                   min_size=1, max_size=4)


def test_every_urgency_has_a_rank_and_urgent_comes_first():
    assert set(URGENCY_RANK) == set(Urgency) and URGENCY_RANK[0] is Urgency.urgent


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wanted=tickets)
async def test_the_first_of_the_queue_is_what_claim_next_hands_out(
        client, token_for, sessions, clock, matrix_items, wanted):
    item = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.self_handle_allowed)
    ids = []
    for urgency, _ in wanted:
        r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
            "grid": "BH01-01", "item": item, "description": "占道经营", "urgency": urgency})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    async with sessions() as s, s.begin():
        for ticket_id, (_, hours) in zip(ids, wanted, strict=True):
            await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(
                resolve_due_at=None if hours is None else clock.now() + timedelta(hours=hours)))
    staff = token_for("cgzf_staff")
    for _ in ids:
        listed = (await client.get(QUEUE, headers=staff,
                                   params={"status": "dispatched", "limit": 1})).json()
        claimed = await client.post(f"{QUEUE}/claim-next", headers=staff)
        assert claimed.status_code == 200
        assert claimed.json()["id"] == listed[0]["id"]
