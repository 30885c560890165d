"""Ticket-level export for Excel (工单导出): one row per ticket, as the API shows it to the
caller (the same scope, the same masking: rows are ``TicketOut``s built by the router), as
CSV (UTF-8 with a BOM, so that Excel reads the Chinese) or ``.xlsx`` (XlsxWriter).

Memory stays bounded however many tickets match: rows are written as they come, a page at
a time, to a spooled temporary file (in memory up to ``SPOOL_BYTES``, then on disk); the
xlsx writer runs in ``constant_memory`` mode (each row is flushed to its temporary file as
soon as the next begins). The finished file is then streamed to the client in chunks.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal, Protocol

import xlsxwriter

from app.clock import SHANGHAI
from app.tickets.schemas import TicketOut

ExportFormat = Literal["csv", "xlsx"]
HeaderLang = Literal["zh", "en"]
BOM = "\ufeff"
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
# Both files are opened in Excel, whose sheet holds 1,048,576 rows with the header: beyond
# that the .xlsx writer drops rows without a word and Excel cuts a CSV short. A larger
# export is refused before it is written, and the caller narrows the filters.
MAX_ROWS = 1_048_575

STATUS_ZH = {"self_handling": "网格自处", "dispatched": "待签收", "claimed": "已签收",
             "in_progress": "处置中", "suspended": "挂起", "resolved": "已处置待核查",
             "rework": "返工", "returned": "已退单", "closed": "已结案", "cancelled": "已作废"}
LEVEL_ZH = {"grid": "网格", "community": "社区", "street": "街道"}
URGENCY_ZH = {"normal": "一般", "urgent": "紧急"}
SOURCE_ZH = {"grid_worker": "网格员上报", "resident": "居民上报", "hotline": "热线",
             "open311": "Open311"}


def _local(value: datetime | None) -> datetime | None:
    """Times in Asia/Shanghai, without a zone (Excel has none): what the offices read."""
    return value.astimezone(SHANGHAI).replace(tzinfo=None) if value else None


def _zh(names: dict[str, str]) -> Callable[[str, HeaderLang], str]:
    return lambda value, lang: names.get(value, value) if lang == "zh" else value


# (English header, Chinese header, the cell from a ticket, is it a time)
Column = tuple[str, str, Callable[[TicketOut, HeaderLang], Any], bool]
COLUMNS: tuple[Column, ...] = (
    ("number", "案件编号", lambda t, _: t.number, False),
    ("id", "工单ID", lambda t, _: t.id, False),
    ("status", "状态", lambda t, lang: _zh(STATUS_ZH)(t.status.value, lang), False),
    ("level", "办理层级", lambda t, lang: _zh(LEVEL_ZH)(t.level, lang), False),
    ("street", "街道", lambda t, _: t.street, False),
    ("community", "社区", lambda t, _: t.community, False),
    ("grid", "网格", lambda t, _: t.grid, False),
    ("category", "类别", lambda t, _: t.category, False),
    ("item", "事项编码", lambda t, _: t.item, False),
    ("item_name", "事项名称", lambda t, _: t.item_name, False),
    ("department", "承办部门", lambda t, _: t.department, False),
    ("urgency", "紧急程度", lambda t, lang: _zh(URGENCY_ZH)(t.urgency.value, lang), False),
    ("source", "来源", lambda t, lang: _zh(SOURCE_ZH)(t.source.value, lang), False),
    ("description", "问题描述", lambda t, _: t.description, False),
    ("address", "地址", lambda t, _: t.address, False),
    ("lat", "纬度", lambda t, _: t.location.lat if t.location else None, False),
    ("lon", "经度", lambda t, _: t.location.lon if t.location else None, False),
    ("reporter_name", "反映人", lambda t, _: t.reporter.name if t.reporter else None, False),
    ("reporter_phone", "联系电话", lambda t, _: t.reporter.phone if t.reporter else None, False),
    ("routing_reason", "分拨依据", lambda t, _: t.routing_reason, False),
    ("sla_state", "时限状态", lambda t, _: t.sla_state, False),
    ("rework_count", "返工次数", lambda t, _: t.rework_count, False),
    ("return_count", "退单次数", lambda t, _: t.return_count, False),
    ("rating", "评价", lambda t, _: t.rating, False),
    ("created_at", "上报时间", lambda t, _: _local(t.created_at), True),
    ("response_due_at", "响应时限", lambda t, _: _local(t.response_due_at), True),
    ("resolve_due_at", "办结时限", lambda t, _: _local(t.resolve_due_at), True),
    ("claimed_at", "签收时间", lambda t, _: _local(t.claimed_at), True),
    ("resolved_at", "处置完毕时间", lambda t, _: _local(t.resolved_at), True),
    ("closed_at", "结案时间", lambda t, _: _local(t.closed_at), True),
)


def headers(lang: HeaderLang) -> list[str]:
    return [zh if lang == "zh" else en for en, zh, _cell, _time in COLUMNS]


def cells(ticket: TicketOut, lang: HeaderLang) -> list[Any]:
    return [cell(ticket, lang) for _en, _zh, cell, _time in COLUMNS]


class TicketSink(Protocol):
    def add(self, tickets: list[TicketOut]) -> None: ...
    def finish(self) -> Iterator[bytes]: ...


def _chunks(file: Any) -> Iterator[bytes]:
    file.seek(0)
    try:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


# A cell Excel would read as a formula (CSV injection: a resident's description starting
# with "=" or "@" must not run in the office's spreadsheet) is written with a leading "'",
# which Excel shows as text (OWASP's advice). The .xlsx writer stores strings as strings.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvSink:
    """CSV for Excel: UTF-8 with a BOM, times as ``YYYY-MM-DD HH:MM`` (Asia/Shanghai)."""

    def __init__(self, lang: HeaderLang) -> None:
        self.lang = lang
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (finish closes)
        self.file.write((BOM + self._line(headers(lang))).encode("utf-8"))

    @staticmethod
    def _line(row: list[Any]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer).writerow([_text_cell(v) for v in row])
        return buffer.getvalue()

    def add(self, tickets: list[TicketOut]) -> None:
        self.file.write("".join(self._line(cells(t, self.lang)) for t in tickets).encode("utf-8"))

    def finish(self) -> Iterator[bytes]:
        return _chunks(self.file)


class XlsxSink:
    """One sheet (工单), a bold frozen header row, times as Excel dates, filters on."""

    def __init__(self, lang: HeaderLang) -> None:
        self.lang = lang
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (finish closes)
        self.book = xlsxwriter.Workbook(self.file, {"constant_memory": True,
                                                    "strings_to_numbers": False,
                                                    "strings_to_formulas": False,
                                                    "strings_to_urls": False})
        self.sheet = self.book.add_worksheet("工单" if lang == "zh" else "tickets")
        self.time_format = self.book.add_format({"num_format": TIME_FORMAT})
        bold = self.book.add_format({"bold": True})
        for col, title in enumerate(headers(lang)):
            self.sheet.write_string(0, col, title, bold)
        self.sheet.freeze_panes(1, 0)
        self.row = 1

    def add(self, tickets: list[TicketOut]) -> None:
        for ticket in tickets:
            for col, ((_en, _zh, _cell, is_time), value) in enumerate(
                    zip(COLUMNS, cells(ticket, self.lang), strict=True)):
                if value is None:
                    continue
                if is_time:
                    self.sheet.write_datetime(self.row, col, value, self.time_format)
                elif isinstance(value, str):
                    self.sheet.write_string(self.row, col, value)
                else:
                    self.sheet.write_number(self.row, col, value)
            self.row += 1

    def finish(self) -> Iterator[bytes]:
        self.sheet.autofilter(0, 0, max(self.row - 1, 0), len(COLUMNS) - 1)
        self.book.close()
        return _chunks(self.file)


def sink(fmt: ExportFormat, lang: HeaderLang) -> TicketSink:
    return XlsxSink(lang) if fmt == "xlsx" else CsvSink(lang)


def media_type(fmt: ExportFormat) -> str:
    return XLSX_MEDIA_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
