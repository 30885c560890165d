"""Reports as CSV for Excel: UTF-8 with a BOM (so that Excel reads the Chinese), headers in
Chinese (``lang=zh``, the default) or English, the same values as the JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from app.reports.metrics import ALL_METRICS
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


def report_csv(report: Report, lang: Lang) -> bytes:
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
    return _render(report_header(report, lang), lines)


def ranking_csv(ranking: Ranking, lang: Lang) -> bytes:
    header = [en if lang == "en" else zh for en, zh in RANKING_COLUMNS]
    lines = [[e.rank, e.code, e.name, e.score, *(e.rates[n] for n in SCORED.values()),
              e.valid, e.previous_rank, e.previous_score, e.movement] for e in ranking.entries]
    return _render(header, lines)
