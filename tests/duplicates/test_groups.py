"""GET /tickets/duplicates: the dispatchers' suspected duplicate groups, scoped like the
ticket list; merging one ticket of a group into another is the merge action."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import T0
from tests.duplicates.support import border_point, moved, post

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture(scope="module")
def items(matrix_items) -> list[str]:
    """Street-level items other than the intake tests' (they take the first nine)."""
    return sorted(code for code, item in matrix_items.items()
                  if item.handling_level == "street" and code != "0202")[9:]


async def groups_of(client, headers, *tickets: dict, **params) -> list[list[int]]:
    """The groups the endpoint answers, as lists of ids, keeping only these tickets."""
    r = await client.get("/api/v1/tickets/duplicates", headers=headers,
                         params={"limit": 200} | params)
    assert r.status_code == 200, r.text
    ids = {t["id"] for t in tickets}
    found = [[t["id"] for t in g["tickets"] if t["id"] in ids] for g in r.json()["groups"]]
    return [g for g in found if g]


async def test_pairs_within_the_radius_and_period_form_groups(client, token_for, items, clock):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    a = await post(client, sd, items[0], here)
    b = await post(client, sd, items[0], moved(here, along_m=70))
    c = await post(client, sd, items[0], moved(here, along_m=140))  # 140 m from a, 70 from b
    lone = await post(client, sd, items[0], moved(here, along_m=-150))
    other_item = await post(client, sd, items[1], moved(here, along_m=10))
    clock.set(T0 - timedelta(days=9))
    old = await post(client, sd, items[2], moved(here, along_m=-20))
    clock.set(T0)
    recent = await post(client, sd, items[2], moved(here, along_m=-25))

    groups = await groups_of(client, sd, a, b, c, lone, other_item, old, recent)
    assert groups == [[a["id"], b["id"], c["id"]]]  # oldest first; the chain is one group
    r = await client.get("/api/v1/tickets/duplicates", headers=sd,
                         params={"item": items[0], "coordinate_system": "gcj02"})
    (group,) = [g for g in r.json()["groups"] if a["id"] in [t["id"] for t in g["tickets"]]]
    assert group["item"] == items[0] and group["spread_m"] == pytest.approx(70, abs=0.5)
    assert group["tickets"][0]["location"]["coordinate_system"] == "gcj02"


async def test_scoped_like_the_ticket_list(client, token_for, items):
    item = items[3]
    border = border_point()
    west = await post(client, token_for("gw01"), item, moved(border, east_m=-20))
    west2 = await post(client, token_for("gw01"), item, moved(border, east_m=-20, along_m=30))
    east = await post(client, token_for("gw02"), item, moved(border, east_m=20))
    every = (west, west2, east)
    assert await groups_of(client, token_for("sd"), *every) == [
        [west["id"], west2["id"], east["id"]]]
    # gw01 reads its grids (BH01-01, BH01-02), cd02 community BH02: neither sees across.
    assert await groups_of(client, token_for("gw01"), *every) == [[west["id"], west2["id"]]]
    assert await groups_of(client, token_for("cd02"), *every) == []
    assert await groups_of(client, token_for("sd"), *every, jurisdiction="BH01") == [
        [west["id"], west2["id"]]]
    r = await client.get("/api/v1/tickets/duplicates", headers=token_for("gw01"),
                         params={"jurisdiction": "BH02"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "jurisdiction"]
    assert (await client.get("/api/v1/tickets/duplicates")).status_code == 401


async def test_merging_one_into_another_takes_it_out_of_the_group(client, token_for, items):
    sd = token_for("sd")
    here = moved(border_point(), east_m=-30)
    first = await post(client, sd, items[4], here)
    second = await post(client, sd, items[4], moved(here, east_m=15))
    assert await groups_of(client, sd, first, second) == [[first["id"], second["id"]]]
    r = await client.post(f"/api/v1/tickets/{second['id']}/merge", headers=sd,
                          json={"target_ticket_id": first["id"]})
    assert r.status_code == 200, r.text
    assert await groups_of(client, sd, first, second) == []
