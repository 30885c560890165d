"""Open311: the catch-all service 待分拨 files a ticket whose item is suggested from the
description (routed when confident, else triaged)."""

from __future__ import annotations

import pytest

from tests.open311.test_post import post, spec_body, ticket_url

pytestmark = pytest.mark.usefixtures("reference")


async def test_the_catch_all_service_is_listed_and_defined(o311):
    services = {s["service_code"]: s for s in (await o311.get("services.json")).json()}
    assert services["待分拨"]["group"] == "智能分拨"
    r = await o311.get("services/待分拨.json")
    assert r.status_code == 200 and r.json()["attributes"][0]["code"] == "urgent"


async def test_a_clear_description_is_routed_by_its_suggested_item(o311, client, api_key,
                                                                   token_for, matrix_items):
    r = await post(o311, spec_body(api_key, service_code="待分拨",
                                   description="小区门口的路灯坏了一排，晚上黑乎乎的"))
    assert r.status_code == 200, r.text
    ticket = (await client.get(ticket_url(r), headers=token_for("admin"))).json()
    assert ticket["item"] == "0221" and ticket["source"] == "open311"
    assert ticket["department"] == matrix_items["0221"].primary_department


async def test_an_unclear_description_is_triaged(o311, client, api_key, token_for):
    r = await post(o311, spec_body(api_key, service_code="待分拨",
                                   description="A large sinkhole is destroying the street"))
    assert r.status_code == 200, r.text
    ticket = (await client.get(ticket_url(r), headers=token_for("admin"))).json()
    assert ticket["department"] is None and "待分拨" in ticket["routing_reason"]


async def test_the_catch_all_needs_a_description(o311, api_key):
    r = await post(o311, spec_body(api_key, service_code="待分拨", description=None))
    assert r.status_code == 400 and "description" in r.text
