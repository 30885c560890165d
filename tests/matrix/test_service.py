"""Importing versions and the per-process cache of the current one.

These tests write in ``rollback_session``: nothing they import outlives the test."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.matrix import service
from app.matrix.models import MatrixItem, MatrixVersion
from tests.matrix.conftest import replace_cell, shipped_rows, shipped_text

COLUMNS_OF_ITEM = [c.key for c in MatrixItem.__table__.columns]


async def item_rows(session, version_id: int) -> list[dict]:
    items = (await session.execute(select(MatrixItem).where(MatrixItem.version_id == version_id)
                                   .order_by(MatrixItem.code))).scalars()
    return [{k: getattr(i, k) for k in COLUMNS_OF_ITEM} for i in items]


async def import_shipped(session, label: str = "shipped"):
    return await service.import_matrix(session=session, csv_text=shipped_text(), label=label,
                                       source="matrix.csv")


async def test_import_stores_a_version_with_all_its_items(rollback_session, clock):
    s = rollback_session
    version = await service.import_matrix(session=s, csv_text=shipped_text(), label="v",
                                          source="matrix.csv", now=clock.now())
    assert (version.label, version.source, version.created_at) == ("v", "matrix.csv", clock.now())
    assert version.item_count == len(shipped_rows())
    assert (await service.current_version(session=s)).id == version.id
    item = await service.get_item(session=s, version_id=version.id, code="0202")
    assert (item.name, item.handling_level, item.primary_department) == ("暴露垃圾", "street", "HW")
    assert item.resolve_minutes == 240
    assert item.keywords == ["垃圾", "暴露垃圾", "垃圾堆", "乱扔垃圾"]
    assert await service.get_item(session=s, version_id=version.id, code="9999") is None


async def test_a_second_import_is_a_new_version_and_the_first_never_changes(rollback_session):
    s = rollback_session
    first = await import_shipped(s)
    before = await item_rows(s, first.id)
    changed = replace_cell(shipped_text(), "0202", "resolve_limit", "2h")
    second = await service.import_matrix(session=s, csv_text=changed, label="faster 0202",
                                         source="edited.csv")
    assert second.id > first.id
    assert (await service.current_version(session=s)).id == second.id
    assert await item_rows(s, first.id) == before
    old = await service.get_item(session=s, version_id=first.id, code="0202")
    new = await service.get_item(session=s, version_id=second.id, code="0202")
    assert (old.resolve_minutes, new.resolve_minutes) == (240, 120) and old.id != new.id
    assert [v.id for v in await service.list_versions(session=s)][:2] == [second.id, first.id]


async def test_an_invalid_file_stores_nothing(rollback_session):
    s = rollback_session
    count = select(func.count()).select_from(MatrixVersion)
    versions = (await s.execute(count)).scalar_one()
    with pytest.raises(InvalidInput) as caught:
        await service.import_matrix(session=s, csv_text=replace_cell(
            shipped_text(), "0202", "primary_department", "GHOST"), label="bad", source="x.csv")
    assert caught.value.errors[0]["loc"][2] == "primary_department"
    assert (await s.execute(count)).scalar_one() == versions


async def test_departments_are_checked_against_the_database(rollback_session):
    s = rollback_session
    # A code the CSV validator knows nothing about until it is a row in departments.
    text = replace_cell(shipped_text(), "0202", "co_departments", "TEMPDEPT")
    with pytest.raises(InvalidInput):
        await service.import_matrix(session=s, csv_text=text, label="x", source="x.csv")
    from app.jurisdiction.models import Department

    s.add(Department(code="TEMPDEPT", name="临时部门"))
    await s.flush()
    version = await service.import_matrix(session=s, csv_text=text, label="x", source="x.csv")
    item = await service.get_item(session=s, version_id=version.id, code="0202")
    assert item.co_departments == ["TEMPDEPT"]


async def test_a_label_is_required(rollback_session):
    with pytest.raises(InvalidInput) as caught:
        await service.import_matrix(session=rollback_session, csv_text=shipped_text(),
                                    label="  ", source="x.csv")
    assert caught.value.errors[0]["loc"] == ["label"]


async def test_export_of_an_imported_version_imports_back_equal(rollback_session):
    s = rollback_session
    first = await import_shipped(s)
    version, text = await service.export_version(session=s, version_id=first.id)
    assert version.id == first.id and text == shipped_text()
    second = await service.import_matrix(session=s, csv_text=text, label="again", source="e.csv")
    strip = ("id", "version_id")
    assert [{k: v for k, v in r.items() if k not in strip} for r in await item_rows(s, first.id)] \
        == [{k: v for k, v in r.items() if k not in strip} for r in await item_rows(s, second.id)]


async def test_cache_loads_once_and_serves_snapshots(rollback_session, cache):
    s = rollback_session
    version = await import_shipped(s)
    current = await cache.current(s, now_monotonic=0.0)
    assert current.version_id == version.id and cache.loads == 1
    item = current.items["0202"]
    assert (item.handling_level, item.primary_department, item.resolve_grace_minutes,
            item.resolve_grace) == ("street", "HW", None, 0)
    assert list(current.items) == sorted(current.items)
    assert await cache.current(s, now_monotonic=1.0) is current
    assert await cache.current(s, now_monotonic=100.0) is current  # checked: still newest
    assert cache.loads == 1


async def test_cache_reloads_after_a_new_version_and_not_before(rollback_session, cache):
    s = rollback_session
    await import_shipped(s)
    first = await cache.current(s, now_monotonic=0.0)
    newer = await import_shipped(s, label="newer")
    assert (await cache.current(s, now_monotonic=59.0)) is first  # inside the check interval
    reloaded = await cache.current(s, now_monotonic=60.0)
    assert reloaded.version_id == newer.id and reloaded.label == "newer" and cache.loads == 2
    assert reloaded.items["0202"].id != first.items["0202"].id


async def test_invalidate_makes_the_next_call_check_at_once(rollback_session, cache):
    s = rollback_session
    await import_shipped(s)
    await cache.current(s, now_monotonic=0.0)
    newer = await import_shipped(s, label="newer")
    cache.invalidate()
    assert (await cache.current(s, now_monotonic=1.0)).version_id == newer.id


async def test_cache_with_zero_interval_checks_every_call(rollback_session):
    s = rollback_session
    zero = service.MatrixCache(check_seconds=0)
    await import_shipped(s)
    await zero.current(s, now_monotonic=5.0)
    newer = await import_shipped(s, label="newer")
    assert (await zero.current(s, now_monotonic=5.0)).version_id == newer.id


async def test_without_departments_the_import_says_so_once(rollback_session, monkeypatch):
    async def no_departments(session):
        return set()

    monkeypatch.setattr(service.repo, "department_codes", no_departments)
    with pytest.raises(InvalidInput) as caught:
        await import_shipped(rollback_session)
    assert caught.value.errors_in("en") == [{"loc": ["departments"], "type": "value_error",
                                             "msg": "no departments exist yet: import the "
                                                    "departments before the matrix"}]
    assert caught.value.errors_in("zh")[0]["msg"] == "尚无任何部门：请先导入部门，再导入事项清单"


async def test_a_stale_matrix_is_served_while_another_request_checks(rollback_session, cache):
    # As for the jurisdiction tree: never wait for the checker with a snapshot in hand.
    s = rollback_session
    await import_shipped(s)
    current = await cache.current(s, now_monotonic=0.0)
    async with cache._lock:
        assert await asyncio.wait_for(cache.current(s, now_monotonic=100.0), 1) is current
    assert cache.loads == 1
