"""GET /api/v1/reports/sla agrees exactly with the brute-force count over the raw tickets,
events and summons, as JSON and as CSV, for several groupings, ranges, filters and
scopes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event

from app.reports.metrics import ALL_METRICS, PERCENTILE_METRICS
from tests.reports import brute
from tests.reports.conftest import END, START

pytestmark = pytest.mark.usefixtures("reference")
MAY_NOW = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)


def _node(world, code):
    return next(n for n in world.nodes.values() if n.code == code)


def _department(world, code):
    return next(d for d in world.departments.values() if d.code == code).id


def place(world, *, node: str | None = None, category: str | None = None):
    """The brute-force ticket filter for a subtree and a category."""
    column = None
    if node:
        n = _node(world, node)
        column, value = f"{n.level}_id", n.id
    return lambda t: ((column is None or getattr(t, column) == value)
                      and (category is None or t.category_code == category))


# (user, query, scope node, scope department, filter node, filter department, category)
# Whole months read the monthly tier, other days the daily one; some cases mix both.
CASES = [
    ("admin", {"group_by": "community"}, None, None, None, None, None),
    ("admin", {"group_by": "department", "from": "2026-03-15", "to": "2026-05-10"},
     None, None, None, None, None),
    ("sup_bh", {"group_by": "community,source", "series": "month", "from": "2026-03-20"},
     "BH", None, None, None, None),
    ("admin", {"group_by": "category", "from": "2026-04-01", "to": "2026-05-07"},
     None, None, None, None, None),
    ("admin", {"group_by": "department"}, None, None, None, None, None),
    ("admin", {"group_by": ["category", "source"]}, None, None, None, None, None),
    ("admin", {"group_by": "item", "from": "2026-04-01", "to": "2026-04-30"},
     None, None, None, None, None),
    ("admin", {"series": "month"}, None, None, None, None, None),
    ("sup_bh", {"group_by": "grid", "series": "week", "from": "2026-03-09",
                "to": "2026-04-19"}, "BH", None, None, None, None),
    ("sup_bh01", {"group_by": "grid,department"}, "BH01", None, None, None, None),
    ("sd", {"group_by": "community", "category": "02", "series": "day", "from": "2026-05-04",
            "to": "2026-05-10"}, "BH", None, None, None, "02"),
    ("cd02", {"group_by": "department"}, "BH02", None, None, None, None),
    ("hw_lead", {"group_by": "community"}, None, "HW", None, None, None),
    ("hw_lead", {"group_by": ["department", "grid"], "jurisdiction": "BH01"},
     None, "HW", "BH01", None, None),
    ("admin", {"group_by": "community", "department": "CGZF"}, None, None, None, "CGZF", None),
    ("sup_bh", {"group_by": "source", "jurisdiction": "BH01-01"}, "BH", None, "BH01-01",
     None, None),
]


def _expected(world, case, now):
    user, query, scope_node, scope_dept, filter_node, filter_dept, category = case
    group_by = query.get("group_by", [])
    group_by = group_by.split(",") if isinstance(group_by, str) else group_by
    start = date.fromisoformat(query.get("from", START.isoformat()))
    end = date.fromisoformat(query.get("to", END.isoformat()))
    scope = place(world, node=scope_node)
    narrower = place(world, node=filter_node, category=category)
    department = scope_dept or filter_dept
    return group_by, brute.report(
        world, start=start, end=end, group_by=group_by, now=now,
        place=lambda t: scope(t) and narrower(t),
        department=_department(world, department) if department else None,
        series=query.get("series"))


async def _get(client, token_for, user, query, **extra):
    params = {"from": START.isoformat(), "to": END.isoformat(), **query, **extra}
    r = await client.get("/api/v1/reports/sla", params=params, headers=token_for(user))
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_json_and_csv_agree_with_brute_force(case, world, client, token_for, clock):
    clock.set(MAY_NOW)
    group_by, expected = _expected(world, case, MAY_NOW)
    body = (await _get(client, token_for, case[0], case[1])).json()
    got = {(*(row["group"][d]["code"] for d in group_by), row["period"]): row["metrics"]
           for row in body["rows"]}
    got[("total",)] = body["total"]
    assert got.keys() == expected.keys()
    for key, metrics in expected.items():
        assert {m: got[key][m] for m in metrics} == metrics, key
    assert body["total"]["reported"] > 0

    text = (await _get(client, token_for, case[0], case[1], format="csv")).content
    assert text.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    width = 2 * len(group_by) + int("series" in case[1])
    assert lines[0][width:] == [m.zh for m in ALL_METRICS]
    assert len(lines) == len(expected) + 1
    csv_rows = {(*(line[2 * i] or None for i in range(len(group_by))),
                 (line[width - 1] if "series" in case[1] else None)): line[width:]
                for line in lines[1:-1]}
    csv_rows[("total",)] = lines[-1][width:]
    for key, metrics in expected.items():
        assert csv_rows[key] == ["" if metrics[m.name] is None else str(metrics[m.name])
                                 for m in ALL_METRICS], key


async def test_csv_headers_in_english_and_names_in_chinese(stories, client, token_for):
    r = await _get(client, token_for, "admin", {"group_by": "community"}, format="csv",
                   lang="en")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="sla-report-2026-03-01-2026-05-31.csv"' in r.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["community_code", "community_name", "reported", "cancelled"]
    assert ["BH01", "海韵社区"] in [line[:2] for line in lines]
    assert lines[-1][0] == "Total"
    zh = list(csv.reader(io.StringIO(
        (await _get(client, token_for, "admin", {"group_by": "community"},
                    format="csv")).content.decode("utf-8-sig"))))
    assert zh[0][:4] == ["社区编码", "社区名称", "上报数", "作废数"]
    assert zh[-1][0] == "合计"


async def test_without_percentiles_the_same_counts_and_rates_and_no_histogram_read(
        stories, app, client, token_for, clock):
    """percentiles=false (the dashboard's trend and map): every other metric as before, the
    four percentiles null, and the duration histograms never read."""
    clock.set(MAY_NOW)
    query = {"group_by": "grid", "series": "week", "from": "2026-03-09", "to": "2026-04-19"}
    full = (await _get(client, token_for, "sup_bh", query)).json()
    statements: list[str] = []
    listen = app.state.engine.sync_engine
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(listen, "before_cursor_execute", record)
    try:
        lean = (await _get(client, token_for, "sup_bh", query, percentiles="false")).json()
    finally:
        event.remove(listen, "before_cursor_execute", record)
    percentiles = {m.name for m in PERCENTILE_METRICS}
    assert len(lean["rows"]) == len(full["rows"]) > 1
    for got, want in zip([*lean["rows"], {"metrics": lean["total"]}],
                         [*full["rows"], {"metrics": full["total"]}], strict=True):
        assert got.get("group") == want.get("group") and got.get("period") == want.get("period")
        assert {k: v for k, v in got["metrics"].items() if k not in percentiles} == \
            {k: v for k, v in want["metrics"].items() if k not in percentiles}
        assert all(got["metrics"][p] is None for p in percentiles)
    assert any(full["total"][p] is not None for p in percentiles)
    assert any("report_daily" in s for s in statements)
    assert not any("durations" in s for s in statements)
