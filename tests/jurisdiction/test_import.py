"""Importing the tree into the database: upsert by code, idempotent, ids denormalised."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db import unit_of_work
from app.errors import InvalidInput
from app.jurisdiction import service
from app.jurisdiction.models import Jurisdiction, Level
from tests.jurisdiction.conftest import DEPARTMENTS_CSV, demo_collection


async def _demo_nodes(sessions) -> dict[str, Jurisdiction]:
    async with sessions() as session:
        rows = await session.execute(select(Jurisdiction).where(
            (Jurisdiction.code == "BH") | Jurisdiction.code.like("BH0%")))
        return {j.code: j for j in rows.scalars()}


async def test_the_demo_street_is_imported_with_street_and_community_ids(demo, sessions):
    nodes = await _demo_nodes(sessions)
    by_level = {level: [n for n in nodes.values() if n.level == level] for level in Level}
    assert len(by_level[Level.street]) == 1
    assert {n.code for n in by_level[Level.community]} >= {"BH01", "BH02", "BH03", "BH04",
                                                           "BH05"}
    assert len(by_level[Level.grid]) >= 24
    street = nodes["BH"]
    assert street.street_id == street.id and street.community_id is None
    assert street.parent_id is None
    for community in by_level[Level.community]:
        assert (community.street_id, community.community_id) == (street.id, community.id)
        assert community.parent_id == street.id
    for grid in by_level[Level.grid]:
        community = nodes[grid.code.split("-")[0]]
        assert (grid.parent_id, grid.community_id, grid.street_id) == (
            community.id, community.id, street.id)
        assert grid.geometry["type"] == "Polygon"


async def test_reimporting_the_same_file_changes_nothing(demo, sessions):
    async with sessions() as session:
        before = (await session.execute(
            select(func.count(Jurisdiction.id), func.max(Jurisdiction.updated_at)))).one()
    async with unit_of_work(sessions) as session:
        summary = await service.import_jurisdictions(session=session,
                                                     feature_collection=demo_collection())
    assert (summary.created, summary.updated) == (0, 0)
    assert summary.unchanged == len(demo_collection()["features"])
    assert (summary.streets, summary.communities) == (1, 5)
    async with sessions() as session:
        after = (await session.execute(
            select(func.count(Jurisdiction.id), func.max(Jurisdiction.updated_at)))).one()
    assert tuple(after) == tuple(before)


async def test_a_rename_updates_the_node_and_keeps_its_id(demo, sessions):
    data = demo_collection()
    community = next(f for f in data["features"] if f["properties"]["code"] == "BH04")
    community["properties"]["name"] = "银沙新社区"
    try:
        async with unit_of_work(sessions) as session:
            summary = await service.import_jurisdictions(session=session, feature_collection=data)
        assert (summary.created, summary.updated) == (0, 1)
        nodes = await _demo_nodes(sessions)
        assert (nodes["BH04"].id, nodes["BH04"].name) == (demo["BH04"], "银沙新社区")
    finally:
        async with unit_of_work(sessions) as session:
            await service.import_jurisdictions(session=session,
                                               feature_collection=demo_collection())


async def test_a_rejected_import_writes_nothing(demo, sessions):
    data = demo_collection()
    data["features"][1]["properties"]["name"] = "改名但不会写入"
    data["features"].append({"type": "Feature", "geometry": None,
                             "properties": {"code": "BH09", "name": "x", "level": "community",
                                            "parent": "BH01"}})
    async with unit_of_work(sessions) as session:
        with pytest.raises(InvalidInput) as caught:
            await service.import_jurisdictions(session=session, feature_collection=data)
    assert caught.value.errors[0]["loc"] == ["features", len(data["features"]) - 1, "parent"]
    nodes = await _demo_nodes(sessions)
    assert "BH09" not in nodes
    assert nodes[data["features"][1]["properties"]["code"]].name != "改名但不会写入"


async def test_departments_are_upserted_and_linked_to_the_street(demo, sessions):
    rows = service.load_departments_csv(DEPARTMENTS_CSV)
    assert len(rows) == 22 and all(r.streets == ("BH",) for r in rows)
    async with unit_of_work(sessions) as session:
        summary = await service.import_departments(session=session, rows=rows)
    assert (summary.created, summary.updated, summary.links_added) == (0, 0, 0)
    async with sessions() as session:
        listed = await service.list_departments(session=session)
    shipped = {r.code for r in rows}
    assert shipped <= {d.code for d in listed}
    assert all("BH" in d.streets for d in listed if d.code in shipped)


def test_department_rows_are_validated_with_their_line():
    text = "\ufeffcode,name,streets\nCGZF,城管,BH\n,无代码,BH\nCGZF,重复,BH\nHW,,BH\n"
    with pytest.raises(InvalidInput) as caught:
        service.load_departments_csv(text)
    assert [(e["loc"], e["msg"][:9]) for e in caught.value.errors_in("en")] == [
        (["rows", 3, "code"], "missing c"),
        (["rows", 4, "code"], "duplicate"),
        (["rows", 5, "name"], "missing n"),
    ]


def test_a_departments_file_needs_its_columns():
    with pytest.raises(InvalidInput) as caught:
        service.load_departments_csv("code,title\nX,Y\n")
    assert caught.value.errors[0]["loc"] == ["header"]


async def test_a_department_must_name_known_streets(demo, sessions):
    rows = service.load_departments_csv("code,name,streets\nCGZF,城管执法中队,BH;BH01 NOPE\n")
    async with unit_of_work(sessions) as session:
        with pytest.raises(InvalidInput) as caught:
            await service.import_departments(session=session, rows=rows)
    assert [e["msg"] for e in caught.value.errors_in("en")] == [
        "'BH01' is not a known street", "'NOPE' is not a known street"]
    assert [e["msg"] for e in caught.value.errors_in("zh")] == [
        "“BH01”不是已知的街道", "“NOPE”不是已知的街道"]
    assert caught.value.errors[0]["loc"] == ["rows", 2, "streets"]
