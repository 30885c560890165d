"""Reports as .xlsx: Chinese headers, rates as numbers formatted as percentages."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest

from app.clock import SHANGHAI
from app.reports import csvout

pytestmark = pytest.mark.usefixtures("reference")


async def _a_claimed_ticket(client, token_for, clock):
    clock.set(datetime(2030, 3, 4, 2, 0, tzinfo=UTC))  # a month no other test posts in
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"),
                          json={"grid": "BH01-01", "item": "0211", "description": "占道经营"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/tickets/{r.json()['id']}/claim",
                          headers=token_for("cgzf_staff"))
    assert r.status_code == 200, r.text
    return clock.now().astimezone(SHANGHAI).date().isoformat()


def _sheet(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == csvout.XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    return openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]


async def test_sla_report_xlsx_has_chinese_headers_and_percent_cells(client, token_for, clock):
    day = await _a_claimed_ticket(client, token_for, clock)
    r = await client.get("/api/v1/reports/sla", headers=token_for("admin"),
                         params={"from": day, "to": day, "format": "xlsx",
                                 "group_by": "department"})
    sheet = _sheet(r)
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["部门编码", "部门名称"]
    assert "按时响应率" in header and "上报数" in header
    rate_col = header.index("响应率") + 1
    count_col = header.index("上报数") + 1
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "CGZF")
    rate = row[rate_col - 1]
    assert rate.value == 1 and rate.data_type == "n"  # a number, not "100 %"
    assert rate.number_format == "0.00%"
    assert row[count_col - 1].number_format == "General"
    assert sheet.freeze_panes == "A2"
    total = [r for r in sheet.iter_rows(min_row=2)][-1]
    assert total[0].value == "合计"


async def test_rankings_xlsx_formats_rates_and_scores_as_percentages(client, token_for, clock):
    day = await _a_claimed_ticket(client, token_for, clock)
    r = await client.get("/api/v1/reports/rankings", headers=token_for("admin"),
                         params={"from": day, "to": day, "format": "xlsx", "lang": "en"})
    sheet = _sheet(r)
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["rank", "code", "name", "score"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "CGZF")
    by_name = dict(zip(header, row, strict=False))
    assert by_name["on_time_response_rate"].number_format == "0.00%"
    assert by_name["score"].number_format == "0.00%"
    assert by_name["rank"].number_format == "General"
    r = await client.get("/api/v1/reports/rankings", headers=token_for("admin"),
                         params={"from": day, "to": day, "format": "xlsx"})
    assert [c.value for c in _sheet(r)[1]][:4] == ["排名", "编码", "名称", "综合得分"]
