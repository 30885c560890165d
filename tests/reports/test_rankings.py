"""GET /api/v1/reports/rankings: scores, ranks and movements agree with a brute-force
ranking of the raw tickets; weights are configurable; CSV too."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.reports import brute
from tests.reports.test_sla_report import _department, place

pytestmark = pytest.mark.usefixtures("reference")
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
RATES = {"response": "on_time_response_rate", "resolution": "resolution_rate",
         "satisfaction": "satisfaction_rate"}


def brute_scores(world, by, start, end, weights, where) -> dict:
    rows = brute.report(world, start=start, end=end, group_by=[by], now=NOW, place=where)
    scores = {}
    for key, m in rows.items():
        if key == ("total",) or key[0] is None or m["valid"] == 0:
            continue
        used = {k: w for k, w in weights.items() if m[RATES[k]] is not None and w > 0}
        scores[key[0]] = (round(sum(m[RATES[k]] * w for k, w in used.items())
                                / sum(used.values()), 4) if used else None)
    return scores


def competition_ranks(scores: dict) -> dict:
    values = sorted((s for s in scores.values() if s is not None), reverse=True)
    return {k: 1 + sum(v > s for v in values) for k, s in scores.items() if s is not None}


CASES = [
    ("admin", "department", "2026-04-01", "2026-04-30", {}, None),
    ("sup_bh", "community", "2026-05-01", "2026-05-31",
     {"w_response": 1, "w_resolution": 0, "w_satisfaction": 0}, "BH"),
    ("admin", "community", "2026-04-16", "2026-05-31",
     {"w_response": 0.2, "w_resolution": 0.3, "w_satisfaction": 0.5}, None),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
async def test_rankings_agree_with_brute_force(case, world, client, token_for, clock):
    clock.set(NOW)
    user, by, start, end, weights_query, node = case
    weights = {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}
    weights.update({k.removeprefix("w_"): float(v) for k, v in weights_query.items()})
    start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
    length = end_day - start_day + timedelta(days=1)
    where = place(world, node=node)
    now_scores = brute_scores(world, by, start_day, end_day, weights, where)
    before = brute_scores(world, by, start_day - length, start_day - timedelta(days=1),
                          weights, where)
    ranks, ranks_before = competition_ranks(now_scores), competition_ranks(before)

    r = await client.get("/api/v1/reports/rankings", headers=token_for(user),
                         params={"by": by, "from": start, "to": end, **weights_query})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["previous_from"], body["previous_to"]) == (
        (start_day - length).isoformat(), (start_day - timedelta(days=1)).isoformat())
    got = {e["code"]: e for e in body["entries"]}
    assert got.keys() == now_scores.keys()
    for code, entry in got.items():
        assert entry["score"] == now_scores[code]
        assert entry["rank"] == ranks.get(code)
        assert entry["previous_rank"] == ranks_before.get(code)
        expected_move = (ranks_before[code] - ranks[code]
                         if code in ranks and code in ranks_before else None)
        assert entry["movement"] == expected_move
    ranked = [e["rank"] for e in body["entries"] if e["rank"] is not None]
    assert ranked == sorted(ranked) and ranked[0] == 1


async def test_a_department_lead_sees_only_its_row_with_its_published_rank(
        world, client, token_for, clock):
    clock.set(NOW)
    weights = {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}
    scores = brute_scores(world, "department", date(2026, 4, 1), date(2026, 5, 31), weights,
                          lambda t: True)
    r = await client.get("/api/v1/reports/rankings", headers=token_for("hw_lead"),
                         params={"from": "2026-04-01", "to": "2026-05-31"})
    assert r.status_code == 200, r.text
    [entry] = r.json()["entries"]
    assert entry["code"] == "HW" and entry["rank"] == competition_ranks(scores)["HW"]
    assert _department(world, "HW")
    r = await client.get("/api/v1/reports/rankings", headers=token_for("hw_lead"),
                         params={"from": "2026-04-01", "to": "2026-05-31", "by": "community"})
    assert r.status_code == 403


async def test_rankings_as_csv(stories, client, token_for):
    r = await client.get("/api/v1/reports/rankings", headers=token_for("sup_bh"),
                         params={"from": "2026-04-01", "to": "2026-05-31", "by": "community",
                                 "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["排名", "编码", "名称", "综合得分", "按时响应率", "结案率", "满意率",
                        "有效数", "上期排名", "上期得分", "名次变化"]
    assert {line[1] for line in lines[1:]} <= {"BH01", "BH02", "BH03", "BH04", "BH05"}
    assert "海韵社区" in {line[2] for line in lines[1:]}


async def test_weights_must_not_all_be_zero(client, token_for):
    r = await client.get("/api/v1/reports/rankings", headers=token_for("admin"),
                         params={"from": "2026-04-01", "to": "2026-05-31", "w_response": 0,
                                 "w_resolution": 0, "w_satisfaction": 0})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "w_resolution"]
