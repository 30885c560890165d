"""Ticket-level export: the list's filters, scope and masking; CSV with BOM and .xlsx."""

from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest

from app.tickets import export

pytestmark = pytest.mark.usefixtures("reference")
RUN = uuid.uuid4().hex[:8]  # the test database may be reused: addresses unique to this run


async def post(client, token_for, user="gw01", **overrides):
    data = {"grid": "BH01-01", "item": "0202", "description": "导出测试：井盖缺失",
            "reporter": {"name": "王小明", "phone": "13812341234"}}
    data.update(overrides)
    r = await client.post("/api/v1/tickets", json=data, headers=token_for(user))
    assert r.status_code == 201, r.text
    return r.json()


def _csv_rows(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_csv_has_chinese_headers_bom_filters_and_masking(client, token_for):
    marker = f"导出-甲-{RUN}"
    mine = [await post(client, token_for, grid="BH01-02", urgency="urgent", address=marker)
            for _ in range(3)]
    await post(client, token_for, grid="BH01-02", urgency="normal", address=marker)
    params = {"jurisdiction": "BH01-02", "urgency": "urgent"}
    r = await client.get("/api/v1/tickets/export", params=params, headers=token_for("sup_bh01"))
    rows = _csv_rows(r)
    assert rows[0] == export.headers("zh")
    assert rows[0][:3] == ["案件编号", "工单ID", "状态"]
    assert 'attachment; filename="tickets-' in r.headers["content-disposition"]
    col = {h: i for i, h in enumerate(rows[0])}
    ours = [row for row in rows[1:] if row[col["地址"]] == marker]
    assert sorted(int(row[col["工单ID"]]) for row in ours) == sorted(t["id"] for t in mine)
    assert {row[col["紧急程度"]] for row in ours} == {"紧急"}
    assert {row[col["状态"]] for row in ours} == {"待签收"}
    # a supervisor sees contacts masked, as in the API
    assert {row[col["联系电话"]] for row in ours} == {"138****1234"}
    assert {row[col["反映人"]] for row in ours} == {"王**"}
    # the community's dispatcher sees them in full, as in the API
    r = await client.get("/api/v1/tickets/export", params=params, headers=token_for("cd01"))
    rows = _csv_rows(r)
    assert {row[col["联系电话"]] for row in rows[1:] if row[col["地址"]] == marker} \
        == {"13812341234"}


async def test_export_is_scoped_as_the_api(client, token_for):
    marker = f"导出-乙-{RUN}"
    t = await post(client, token_for, address=marker)
    for user, sees in (("cd01", True), ("cd02", False), ("gw02", False), ("admin", True)):
        rows = _csv_rows(await client.get("/api/v1/tickets/export", headers=token_for(user)))
        ids = {int(row[1]) for row in rows[1:]}
        assert (t["id"] in ids) is sees, user
    # a jurisdiction outside the scope is answered as the list answers it
    r = await client.get("/api/v1/tickets/export", params={"jurisdiction": "BH01"},
                         headers=token_for("cd02"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "jurisdiction"]


async def test_english_headers_and_values(client, token_for):
    marker = f"导出-丙-{RUN}"
    t = await post(client, token_for, address=marker)
    rows = _csv_rows(await client.get("/api/v1/tickets/export", params={"headers": "en"},
                                      headers=token_for("cd01")))
    assert rows[0][:3] == ["number", "id", "status"]
    row = next(r for r in rows[1:] if r[1] == str(t["id"]))
    assert row[2] == "dispatched"


async def test_more_than_a_page_is_exported(client, token_for, monkeypatch):
    from app.tickets import service

    monkeypatch.setattr(service, "MAX_PAGE", 2)
    marker = f"导出-丁-{RUN}"
    made = {(await post(client, token_for, address=marker))["id"] for _ in range(5)}
    rows = _csv_rows(await client.get("/api/v1/tickets/export", headers=token_for("cd01")))
    address = rows[0].index("地址")
    assert {int(r[1]) for r in rows[1:] if r[address] == marker} == made


async def test_xlsx_opens_with_chinese_headers_numbers_and_dates(client, token_for):
    marker = f"导出-戊-{RUN}"
    t = await post(client, token_for, address=marker)
    r = await client.get("/api/v1/tickets/export", params={"format": "xlsx"},
                         headers=token_for("cd01"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == export.XLSX_MEDIA_TYPE
    assert r.headers["content-disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book["工单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == export.headers("zh")
    row = next(r for r in rows[1:] if r[1] == t["id"])  # the id is a number, not text
    header = list(rows[0])
    assert row[header.index("地址")] == marker
    created = row[header.index("上报时间")]
    assert created.strftime("%Y-%m-%d %H:%M") == "2026-11-23 10:00"  # Asia/Shanghai
    assert sheet.freeze_panes == "A2"


async def test_bad_format_is_a_422(client, token_for):
    r = await client.get("/api/v1/tickets/export", params={"format": "pdf"},
                         headers=token_for("cd01"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "format"]


async def test_a_description_that_looks_like_a_formula_stays_text(client, token_for):
    formula = '=HYPERLINK("http://evil.example","点我")'
    t = await post(client, token_for, description=formula, address=f"导出-己-{RUN}")
    rows = _csv_rows(await client.get("/api/v1/tickets/export", headers=token_for("cd01")))
    column = rows[0].index("问题描述")
    row = next(r for r in rows[1:] if r[1] == str(t["id"]))
    assert row[column] == "'" + formula
    r = await client.get("/api/v1/tickets/export", params={"format": "xlsx"},
                         headers=token_for("cd01"))
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["工单"]
    cell = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == t["id"])[column]
    assert cell.value == formula and cell.data_type == "s"  # a string, not a formula


def _fake_tickets(count: int, start: int = 0):
    from datetime import UTC, datetime

    from app.tickets.models import Source, Status, Urgency
    from app.tickets.schemas import ReporterOut, TicketOut

    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    return [TicketOut.model_construct(
        id=i, number=f"BH2026{i:08d}", status=Status("dispatched"), level="street",
        grid="BH01-01", community="BH01", street="BH", item="0202", item_name="井盖缺失",
        category="02", department="CGZF", routing_reason="r", urgency=Urgency("normal"),
        source=Source("grid_worker"), description="描述" * 40, address="地址" * 10,
        location=None, reporter=ReporterOut(name="王**", phone="138****1234", masked=True),
        sla_state="on_track", rework_count=0, return_count=0, rating=None, created_at=now,
        response_due_at=now, resolve_due_at=now, claimed_at=None, resolved_at=None,
        closed_at=None) for i in range(start, start + count)]


@pytest.mark.parametrize(("fmt", "pages"), [("csv", 100), ("xlsx", 40)])
def test_memory_stays_bounded_however_many_rows(fmt, pages, monkeypatch):
    """Fed a page at a time, as the endpoint does, the writers hold a few rows, not the file:
    8,000 rows of .xlsx peak near 1 MB (without constant-memory mode, 24 MB, growing with
    the rows), and the file itself goes to disk past SPOOL_BYTES."""
    import tracemalloc

    monkeypatch.setattr(export, "SPOOL_BYTES", 64 * 1024)
    page = _fake_tickets(200)
    tracemalloc.start()
    try:
        out = export.sink(fmt, "zh")
        for _ in range(pages):
            out.add(page)
        size = sum(len(chunk) for chunk in out.finish())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 600 * 1024
    assert peak < 3 * 1024 * 1024


async def test_more_than_a_sheet_holds_is_a_422_before_anything_is_written(
        client, token_for, monkeypatch):
    from app.tickets import service

    monkeypatch.setattr(service, "MAX_PAGE", 2)
    monkeypatch.setattr(export, "MAX_ROWS", 3)
    marker = f"导出-己-{RUN}"
    for _ in range(4):
        await post(client, token_for, address=marker)
    for fmt in ("csv", "xlsx"):
        r = await client.get("/api/v1/tickets/export", headers=token_for("cd01"),
                             params={"format": fmt, "headers": "en"})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        error = r.json()["errors"][0]
        assert (error["loc"], error["type"]) == (["query"], "export_too_large")
        assert "more than 3 tickets match" in error["msg"]
    zh = await client.get("/api/v1/tickets/export", headers={**token_for("cd01"),
                                                              "Accept-Language": "zh-CN"})
    assert "缩小筛选范围" in zh.json()["errors"][0]["msg"]
    monkeypatch.setattr(export, "MAX_ROWS", 10_000)  # within the limit, the file as before
    ok = await client.get("/api/v1/tickets/export", headers=token_for("cd01"))
    assert ok.status_code == 200
