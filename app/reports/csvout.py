"""Reports for Excel, headers in Chinese (``lang=zh``, the default) or English, the same
values as the JSON: as CSV (UTF-8 with a BOM, so that Excel reads the Chinese) or as .xlsx,
where rates are numbers formatted as percentages (0.8571 shows as 85.71 %, and sums and
charts work on it) and the header row is bold and frozen. Each report is one ``Table``
(header, rows, which columns are rates) that both renderers write."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import xlsxwriter

from app.reports.metrics import ALL_METRICS, RATE_METRICS
from app.reports.rankings import SCORED, Ranking
from app.reports.service import Report

Lang = Literal["zh", "en"]
BOM = "\ufeff"
DIMENSION_ZH = {"street": "街道", "community": "社区", "grid": "网格", "department": "部门",
                "category": "类别", "item": "事项", "source": "来源"}
RANKING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rank", "排名"), ("code", "编码"), ("name", "名称"), ("score", "综合得分"),
    ("on_time_response_rate", "按时响应率"), ("resolution_rate", "结案率"),
    ("satisfaction_rate", "满意率"), ("valid", "有效数"), ("previous_rank", "上期排名"),
    ("previous_score", "上期得分"), ("movement", "名次变化"),
)


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT_FORMAT = "0.00%"
RATE_NAMES = frozenset(m.name for m in RATE_METRICS) | {"score", "previous_score"}


@dataclass(frozen=True, slots=True)
class Table:
    sheet: str
    header: list[str]
    rows: list[list[Any]]
    rate_columns: frozenset[int]  # whose values are fractions, shown as percentages

    def csv(self) -> bytes:
        return _render(self.header, self.rows)

    def xlsx(self) -> bytes:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False,
                                            "strings_to_urls": False})
        sheet = book.add_worksheet(self.sheet)
        bold, percent = book.add_format({"bold": True}), book.add_format(
            {"num_format": PERCENT_FORMAT})
        for col, title in enumerate(self.header):
            sheet.write_string(0, col, title, bold)
            sheet.set_column(col, col, max(8, len(title.encode("gbk", "replace")) + 2))
        for r, row in enumerate(self.rows, start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, col, value)
                else:
                    sheet.write_number(r, col, value,
                                       percent if col in self.rate_columns else None)
        sheet.freeze_panes(1, 0)
        book.close()
        return buffer.getvalue()


def _rate_columns(names: Sequence[str | None]) -> frozenset[int]:
    return frozenset(i for i, n in enumerate(names) if n in RATE_NAMES)


def _render(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return (BOM + buffer.getvalue()).encode("utf-8")


def report_header(report: Report, lang: Lang) -> list[str]:
    header = []
    for dim in report.request.group_by:
        header += ([f"{dim}_code", f"{dim}_name"] if lang == "en"
                   else [f"{DIMENSION_ZH[dim]}编码", f"{DIMENSION_ZH[dim]}名称"])
    if report.request.series:
        header.append("period" if lang == "en" else "周期")
    return header + [m.name if lang == "en" else m.zh for m in ALL_METRICS]


def report_table(report: Report, lang: Lang) -> Table:
    """One line per row, then the total (its first cell says so)."""
    lines = []
    for row in report.rows:
        cells: list[Any] = []
        for label in row.group.values():
            cells += [label.code, label.name]
        if report.request.series:
            cells.append(row.period)
        lines.append(cells + [row.metrics[m.name] for m in ALL_METRICS])
    width = 2 * len(report.request.group_by) + int(bool(report.request.series))
    total_cells = (["Total" if lang == "en" else "合计"] + [None] * (width - 1)) if width else []
    lines.append(total_cells + [report.total[m.name] for m in ALL_METRICS])
    names = [None] * width + [m.name for m in ALL_METRICS]
    return Table("SLA报表" if lang == "zh" else "SLA report", report_header(report, lang), lines,
                 _rate_columns(names))


def report_csv(report: Report, lang: Lang) -> bytes:
    return report_table(report, lang).csv()


def ranking_table(ranking: Ranking, lang: Lang) -> Table:
    header = [en if lang == "en" else zh for en, zh in RANKING_COLUMNS]
    lines = [[e.rank, e.code, e.name, e.score, *(e.rates[n] for n in SCORED.values()),
              e.valid, e.previous_rank, e.previous_score, e.movement] for e in ranking.entries]
    return Table("排名" if lang == "zh" else "rankings", header, lines,
                 _rate_columns([en for en, _zh in RANKING_COLUMNS]))


def ranking_csv(ranking: Ranking, lang: Lang) -> bytes:
    return ranking_table(ranking, lang).csv()
