"""``whistle suggest-train``: the model learns from dispatchers' corrections, is versioned
with the matrix version it was trained for, and every process serves it from the database;
without one, the matrix alone is served."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from app.db import unit_of_work
from app.suggest.models import SuggestModel
from app.suggest.training import train

pytestmark = pytest.mark.usefixtures("reference")

# Nothing in the matrix says what this means here: only a dispatcher's correction can.
PHRASE = "五号楼那户老张家又在折腾，大家都受不了了"
# The shared test database holds thousands of closed tickets by now: learning from all of
# them takes minutes and says nothing more about what these tests check.
RECENT = 200
URL = "/api/v1/matrix/suggest"


async def top(client, headers, text=PHRASE) -> dict:
    r = await client.post(URL, json={"text": text}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
async def forget_models(app, sessions):
    yield
    async with unit_of_work(sessions) as session:
        await session.execute(delete(SuggestModel))
    app.state.suggester.invalidate()


async def test_a_correction_teaches_the_next_identical_phrase(client, token_for, sessions, app,
                                                              clock, forget_models):
    headers = token_for("sd")
    before = await top(client, headers)
    wrong = before["suggestions"][0]["item"]
    right = "0401" if wrong != "0401" else "0403"  # 邻里纠纷 (or 物业纠纷)
    assert before["model_version"].endswith("-matrix")

    # A grid worker files it under the suggested item; the dispatcher corrects it.
    posted = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": wrong, "description": PHRASE})
    assert posted.status_code == 201, posted.text
    rerouted = await client.post(f"/api/v1/tickets/{posted.json()['id']}/reroute",
                                 headers=headers, json={"item": right, "reason": "选错事项"})
    assert rerouted.status_code == 200, rerouted.text

    async with unit_of_work(sessions) as session:
        trained = await train(session=session, now=clock.now(), closed_limit=RECENT)
    assert trained.examples["corrections"] >= 1
    app.state.suggester.invalidate()  # as another process would after cache_check_seconds

    after = await top(client, headers)
    assert after["model_version"] == trained.version
    assert after["suggestions"][0]["item"] == right
    # What the model knew before is not lost: a plain report still finds its item.
    plain = await top(client, headers, "人行道上井盖没了，晚上很危险")
    assert plain["suggestions"][0]["item"] == "0219"


async def test_models_are_versioned_by_matrix_version_and_served_from_the_database(
        client, token_for, sessions, app, clock, forget_models):
    headers = token_for("gw01")
    matrix_only = await top(client, headers, "路灯不亮")
    async with unit_of_work(sessions) as session:
        first = await train(session=session, now=clock.now(), closed_limit=RECENT)
        second = await train(session=session, now=clock.now(), closed_limit=RECENT)
    version = matrix_only["matrix_version"]
    assert first.matrix_version_id == version and first.version.startswith(f"m{version}-")
    assert second.version != first.version
    async with sessions() as session:
        stored = (await session.execute(select(SuggestModel.matrix_version_id,
                                               SuggestModel.version))).all()
    assert {(version, first.version), (version, second.version)} <= set(stored)

    app.state.suggester.invalidate()
    assert (await top(client, headers, "路灯不亮"))["model_version"] == second.version  # newest
    async with unit_of_work(sessions) as session:
        await session.execute(delete(SuggestModel))
    app.state.suggester.invalidate()
    assert (await top(client, headers, "路灯不亮"))["model_version"] == f"m{version}-matrix"


async def test_training_learns_from_the_newest_closed_tickets_up_to_the_setting(
        sessions, clock, forget_models):
    from app.suggest.repository import closed_tickets

    async with unit_of_work(sessions) as session:
        everything = await closed_tickets(session, limit=10**9)
        if len(everything) < 3:  # run alone: the suite's other tests close tickets
            pytest.skip("needs closed tickets in the shared database")
        newest = await closed_tickets(session, limit=2)
        trained = await train(session=session, now=clock.now(), closed_limit=2)
    assert trained.examples["closed_tickets"] == 2
    assert list(newest) == list(everything[:2])  # newest first
