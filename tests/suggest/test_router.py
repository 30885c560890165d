"""POST /api/v1/matrix/suggest: the top items, where each routes, the words that drove it;
bad input is a clear 422 or an honest "no confident suggestion", never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("reference")

URL = "/api/v1/matrix/suggest"


async def test_a_plain_report_gets_its_item_with_route_and_words(client, token_for,
                                                                 matrix_items):
    r = await client.post(URL, json={"text": "人行道上井盖没了，晚上很危险"},
                          headers=token_for("gw01"))
    assert r.status_code == 200, r.text
    body = r.json()
    top = body["suggestions"][0]
    assert top["item"] == "0219" and body["confident"] is True
    assert top["level"] == "street" and top["department"] == matrix_items["0219"].primary_department
    assert top["item_name"] == matrix_items["0219"].name and top["category"] == "02"
    assert any("井盖" in w for w in top["words"])
    assert len(body["suggestions"]) == 3
    scores = [s["score"] for s in body["suggestions"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
    assert body["model_version"].startswith(f"m{body['matrix_version']}-")


async def test_grid_and_community_items_route_without_a_department(client, token_for):
    r = await client.post(URL, json={"text": "楼道里堆满了纸箱子", "limit": 1},
                          headers=token_for("gw01"))
    (top,) = r.json()["suggestions"]
    assert top["item"] == "0227" and top["level"] == "grid" and top["department"] is None


async def test_mixed_scripts_are_read(client, token_for):
    r = await client.post(URL, json={"text": "KTV晚上让未成年人进去唱歌"},
                          headers=token_for("gw01"))
    assert r.json()["suggestions"][0]["item"] == "0313"


@pytest.mark.parametrize("text", ["🙂🙂🔥💧", "the streetlight is broken", "1234 ???", "……"])
async def test_text_the_model_cannot_read_is_an_honest_no(client, token_for, text):
    r = await client.post(URL, json={"text": text}, headers=token_for("gw01"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["confident"] is False and body["suggestions"] == []
    assert "no confident suggestion" in body["note"]


async def test_a_vague_text_is_not_confident(client, token_for):
    r = await client.post(URL, json={"text": "这里有个问题，麻烦看一下"}, headers=token_for("gw01"))
    body = r.json()
    assert r.status_code == 200 and body["confident"] is False
    assert body["suggestions"][0]["score"] < body["threshold"] and "below" in body["note"]


@pytest.mark.parametrize(("payload", "loc"), [
    ({"text": ""}, ["body", "text"]),
    ({"text": "   \n\t "}, ["body", "text"]),
    ({"text": "井盖" * 5000}, ["body", "text"]),
    ({}, ["body", "text"]),
    ({"text": "井盖没了", "limit": 0}, ["body", "limit"]),
    ({"text": "井盖没了", "limit": 11}, ["body", "limit"]),
    ({"text": "井盖没了", "grid": "NOPE-99"}, ["body", "grid"]),  # context: test_context.py
    ({"text": "井盖没了", "colour": "red"}, ["body", "colour"]),
])
async def test_bad_input_is_a_422_naming_the_field(client, token_for, payload, loc):
    r = await client.post(URL, json=payload, headers=token_for("gw01"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in r.json()["errors"]]


async def test_it_needs_credentials(client):
    r = await client.post(URL, json={"text": "井盖没了"})
    assert r.status_code == 401
