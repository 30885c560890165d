"""The matrix as a CSV file that people edit in Excel (UTF-8 with BOM), and its validation.

``parse_matrix_csv`` checks every cell of every row and reports all problems at once, each
as ``{"loc": ["row", <data row, 1-based>, <column>], "msg": ...}`` (header problems as
``["header", <column>]``), so an editor can fix a whole file in one pass.
``export_matrix_csv`` writes the same format back; export → import round-trips exactly.

The header may name the columns in English (``code``, ``handling_level`` …) or in Chinese
(``事项编码``, ``办理层级`` …, ``HEADERS_ZH``), or mix them; the export writes either
(``headers="zh"``). Error locations always use the English column names; the messages
are catalogue messages, told in the request's language with the column as Excel shows it. The handling
level and the time basis may be written in Chinese too (网格/社区/街道, 工作日/自然日).

Limits are written ``30m``, ``4h`` or ``2d``; a day is one 7-hour working day when the
item's time basis is ``working`` and 24 hours when it is ``calendar``.

When the escalation ladder moves (see ``app.sla.service``): a grid- or community-level
ticket climbs one level when its level fails a limit — nobody has signed for it
``response_limit`` + ``response_grace`` after it entered the queue, or it is unresolved
``resolve_limit`` + ``resolve_grace`` after it reached the level — and by hand (上报).
The grace columns are optional: a blank cell, or a file without them, means the
category's grace (0 for every category). ``escalation_limit`` (the per-level budget of
files written before December 2026) is read and ignored: the ladder no longer moves on time
at a level alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from app.csvrows import csv_records
from app.errors import InvalidInput
from app.matrix.categories import CATEGORY_BY_CODE, WORKING_DAY_MINUTES
from app.messages import M, Message, Words

COLUMNS: tuple[str, ...] = (
    "code", "category", "name", "description", "keywords", "handling_level", "self_handle",
    "negative_list", "primary_department", "co_departments", "time_basis", "response_limit",
    "resolve_limit", "urgent_response_limit", "urgent_resolve_limit", "photo_required",
    "auto_whistle",
)
# Columns a file may leave out (files written before they existed still import).
OPTIONAL_COLUMNS: tuple[str, ...] = ("response_grace", "resolve_grace", "synonyms")
# Columns of older files that are read and ignored (see the module's docstring).
LEGACY_COLUMNS: tuple[str, ...] = ("escalation_limit",)
_ALL_COLUMNS = COLUMNS + OPTIONAL_COLUMNS + LEGACY_COLUMNS
HEADERS_ZH: dict[str, str] = {
    "code": "事项编码", "category": "类别", "name": "事项名称", "description": "说明",
    "keywords": "关键词", "handling_level": "办理层级", "self_handle": "网格自处",
    "negative_list": "负面清单", "primary_department": "主责部门",
    "co_departments": "协办部门", "time_basis": "计时方式", "response_limit": "响应时限",
    "resolve_limit": "办结时限", "urgent_response_limit": "紧急响应时限",
    "urgent_resolve_limit": "紧急办结时限", "photo_required": "须附照片",
    "escalation_limit": "升级时限", "auto_whistle": "自动吹哨", "synonyms": "同义词",
    "response_grace": "响应宽限", "resolve_grace": "办结宽限",
}
COLUMN_OF_HEADER: dict[str, str] = {zh: en for en, zh in HEADERS_ZH.items()}
# Chinese values the import reads too (yes/no cells already take 是/否).
VALUES_ZH: dict[str, dict[str, str]] = {
    "handling_level": {"网格": "grid", "社区": "community", "街道": "street"},
    "time_basis": {"工作日": "working", "工作时间": "working", "自然日": "calendar"},
}
HANDLING_LEVELS = ("grid", "community", "street")
TIME_BASES = ("working", "calendar")
SAFETY_CATEGORY = "05"  # 安全生产: every item is on the negative list
BOM = "\ufeff"
LIST_SEPARATOR = "|"

_TRUE = {"true", "yes", "y", "1", "是"}
_FALSE = {"false", "no", "n", "0", "否"}
_LIMIT = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_NO_GRACE = re.compile(r"^\s*0\s*[mhd]?\s*$", re.IGNORECASE)
_CODE = re.compile(r"^\d{4}$")
_DAY_MINUTES = {"working": WORKING_DAY_MINUTES, "calendar": 24 * 60}


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One validated matrix row; fields map 1:1 onto ``MatrixItem`` columns."""

    code: str
    category_code: str
    name: str
    description: str
    keywords: tuple[str, ...]
    handling_level: str
    self_handle_allowed: bool
    negative_list: bool
    primary_department: str
    co_departments: tuple[str, ...]
    time_basis: str
    response_minutes: int
    resolve_minutes: int
    urgent_response_minutes: int
    urgent_resolve_minutes: int
    photo_required: bool
    auto_whistle: bool
    response_grace_minutes: int | None = None  # None: the category's grace
    resolve_grace_minutes: int | None = None
    synonyms: tuple[str, ...] = ()  # how people say it: the suggestion model's first words

    def columns(self) -> dict[str, Any]:
        """The values for a ``MatrixItem`` insert (lists where the model stores JSON lists)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["keywords"] = list(self.keywords)
        values["co_departments"] = list(self.co_departments)
        values["synonyms"] = list(self.synonyms)
        return values


def _named(column: str) -> Words:
    """A column as a message names it: as the location says it, and as Excel shows it."""
    return Words(column, HEADERS_ZH.get(column, column))


class _RowErrors:
    """Collects the problems of one file; each names the data row and the column."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, loc: list[str | int], msg: Message, kind: str = "value_error") -> None:
        self.errors.append({"loc": loc, "msg": msg, "type": kind})


# --- reading ------------------------------------------------------------------------------


def parse_matrix_csv(text: str, *, department_codes: set[str]) -> list[ItemRow]:
    """Validate a whole matrix file; raise ``InvalidInput`` listing every problem."""
    problems = _RowErrors()
    records = list(csv_records(text))
    if records and isinstance(records[0][1], str):
        problems.add(["header"], M("matrix.header_unreadable", reason=records[0][1]))
        raise _invalid(problems)
    header = ([COLUMN_OF_HEADER.get(h.strip(), h.strip()) for h in records[0][1]]
              if records else [])
    if not _header_ok(header, problems):
        raise _invalid(problems)
    rows: list[ItemRow] = []
    first_row_of: dict[str, int] = {}
    for number, (_, record) in enumerate(records[1:], start=1):
        if isinstance(record, str):
            problems.add(["row", number], M("csv.row_unreadable", reason=record))
            continue
        if not any(cell.strip() for cell in record):
            continue  # a blank line (Excel leaves them); counted so row numbers match
        if len(record) != len(header):
            problems.add(["row", number],
                         M("matrix.cell_count", cells=len(record), header=len(header)))
            continue
        cells = {name: cell.strip() for name, cell in zip(header, record, strict=True)}
        for column, names in VALUES_ZH.items():
            cells[column] = names.get(cells.get(column, ""), cells.get(column, ""))
        row = _parse_row(number, cells, department_codes, problems)
        if row is None:
            continue
        if row.code in first_row_of:
            problems.add(["row", number, "code"], M(
                "matrix.duplicate_code", code=row.code, first=first_row_of[row.code]))
            continue
        first_row_of[row.code] = number
        rows.append(row)
    if not rows and not problems.errors:
        problems.add(["header"], M("matrix.no_items"))
    if problems.errors:
        raise _invalid(problems)
    return rows


def _invalid(problems: _RowErrors) -> InvalidInput:
    count = len(problems.errors)
    return InvalidInput(M("matrix.problem" if count == 1 else "matrix.problems", count=count),
                        errors=problems.errors)


def _header_ok(header: list[str], problems: _RowErrors) -> bool:
    if not header:
        problems.add(["header"], M("matrix.empty", columns=Words(
            ",".join(COLUMNS), "，".join(HEADERS_ZH[c] for c in COLUMNS))))
        return False
    for name in COLUMNS:
        if name not in header:
            problems.add(["header", name], M("matrix.missing_column", column=_named(name)),
                         "missing")
    for name in header:
        if name not in _ALL_COLUMNS:
            problems.add(["header", name], M("matrix.unknown_column", column=name))
    for name in {h for h in header if header.count(h) > 1}:
        problems.add(["header", name], M("matrix.repeated_column", column=_named(name)))
    return not problems.errors


def _parse_row(number: int, cells: dict[str, str], department_codes: set[str],
               problems: _RowErrors) -> ItemRow | None:
    before = len(problems.errors)

    def fail(column: str, msg: Message, kind: str = "value_error") -> None:
        problems.add(["row", number, column], msg, kind)

    def required(column: str, max_length: int) -> str:
        value = cells[column]
        if not value:
            fail(column, M("matrix.required", column=_named(column)), "missing")
        elif len(value) > max_length:
            fail(column, M("matrix.too_long", limit=max_length, column=_named(column)))
        return value

    def flag(column: str) -> bool | None:
        value = cells[column].lower()
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        fail(column, M("matrix.not_yes_no", value=cells[column]))
        return None

    def one_of(column: str, allowed: Iterable[str]) -> str:
        value = cells[column]
        if value not in allowed:
            fail(column, M("matrix.not_one_of", value=value, allowed=", ".join(allowed)))
        return value

    code = required("code", 32)
    category = cells["category"]
    if category not in CATEGORY_BY_CODE:
        fail("category", M("matrix.unknown_category", category=category,
                           known=", ".join(CATEGORY_BY_CODE)))
    elif code and not (_CODE.match(code) and code.startswith(category)):
        fail("code", M("matrix.code_of_category", code=code, category=category))
    name = required("name", 200)
    level = one_of("handling_level", HANDLING_LEVELS)
    self_handle, negative = flag("self_handle"), flag("negative_list")
    photo, whistle = flag("photo_required"), flag("auto_whistle")
    primary = required("primary_department", 64)
    if primary and primary not in department_codes:
        fail("primary_department", M("matrix.unknown_department", department=primary))
    co = _split(cells["co_departments"])
    for dept in co:
        if dept not in department_codes:
            fail("co_departments", M("matrix.unknown_department", department=dept))
    if primary in co:
        fail("co_departments", M("matrix.primary_also_co", department=primary))
    if len(set(co)) != len(co):
        fail("co_departments", M("matrix.department_twice"))
    basis = one_of("time_basis", TIME_BASES)
    limits = {c: _limit(cells[c], basis, fail, c) for c in
              ("response_limit", "resolve_limit", "urgent_response_limit", "urgent_resolve_limit")}
    graces = {c: _grace(cells.get(c, ""), basis, fail, c)
              for c in ("response_grace", "resolve_grace")}
    _check_limit_order(limits, fail)
    if self_handle is not None and negative is not None:
        _check_negative_list(category, level, self_handle, negative, fail)
    if len(problems.errors) > before:
        # Report a row's problems left to right, as the editor reads the row.
        problems.errors[before:] = sorted(problems.errors[before:],
                                          key=lambda e: _ALL_COLUMNS.index(e["loc"][2]))
        return None
    assert self_handle is not None and negative is not None  # a bad flag was reported above
    return ItemRow(
        code=code, category_code=category, name=name, description=cells["description"],
        keywords=_split(cells["keywords"]), handling_level=level, self_handle_allowed=self_handle,
        negative_list=negative, primary_department=primary, co_departments=co, time_basis=basis,
        response_minutes=limits["response_limit"], resolve_minutes=limits["resolve_limit"],
        urgent_response_minutes=limits["urgent_response_limit"],
        urgent_resolve_minutes=limits["urgent_resolve_limit"], photo_required=bool(photo),
        auto_whistle=bool(whistle), response_grace_minutes=graces["response_grace"],
        resolve_grace_minutes=graces["resolve_grace"],
        synonyms=_split(cells.get("synonyms", "")),
    )


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())


def _limit(value: str, basis: str, fail, column: str) -> int:
    """``30m`` / ``4h`` / ``2d`` → minutes (0 marks a value already reported as wrong)."""
    match = _LIMIT.match(value)
    if not match or int(match.group(1)) == 0:
        fail(column, M("matrix.not_a_limit", value=value))
        return 0
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit == "d":
        return amount * _DAY_MINUTES.get(basis, WORKING_DAY_MINUTES)
    return amount * (60 if unit == "h" else 1)


def _grace(value: str, basis: str, fail, column: str) -> int | None:
    """A grace cell: blank → None (the category's), ``0`` → 0, else a limit like ``2h``."""
    if not value:
        return None
    if _NO_GRACE.match(value):
        return 0
    return _limit(value, basis, fail, column)


def _check_limit_order(limits: dict[str, int], fail) -> None:
    if 0 in limits.values():
        return  # a bad limit is already reported; comparing it would only add noise
    pairs = (("urgent_response_limit", "response_limit"),
             ("urgent_resolve_limit", "resolve_limit"),
             ("response_limit", "resolve_limit"),
             ("urgent_response_limit", "urgent_resolve_limit"))
    for shorter, longer in pairs:
        if limits[shorter] > limits[longer]:
            fail(shorter, M("matrix.limit_order", shorter=_named(shorter),
                            longer=_named(longer)))


def _check_negative_list(category: str, level: str, self_handle: bool, negative: bool,
                         fail) -> None:
    # 社区一律不作为责任主体: enforcement, work safety and fire always go to a department.
    if category == SAFETY_CATEGORY and not negative:
        fail("negative_list", M("matrix.safety_negative"))
    if negative and level != "street":
        fail("handling_level", M("matrix.negative_at_street"))
    if negative and self_handle:
        fail("self_handle", M("matrix.negative_self_handle"))
    if self_handle and not negative and level != "grid":
        fail("self_handle", M("matrix.self_handle_grid_only"))


# --- writing ------------------------------------------------------------------------------


def format_limit(minutes: int, basis: str) -> str:
    """Minutes → the shortest exact ``Nd`` / ``Nh`` / ``Nm`` text for ``basis``."""
    day = _DAY_MINUTES[basis]
    if minutes % day == 0:
        return f"{minutes // day}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def format_grace(minutes: int | None, basis: str) -> str:
    """A grace → its cell: blank for the category's (None), ``0``, or a limit like ``2h``."""
    if minutes is None:
        return ""
    return format_limit(minutes, basis) if minutes else "0"


def export_matrix_csv(items: Iterable[Any], *, headers: str = "en") -> str:
    """Items (``ItemRow`` or ``MatrixItem``) → the CSV text, with a BOM for Excel; the
    header in English or (``headers="zh"``) Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = COLUMNS + OPTIONAL_COLUMNS
    writer.writerow([HEADERS_ZH.get(n, n) for n in names] if headers == "zh" else names)
    for item in items:
        writer.writerow(_cells(item))
    return BOM + out.getvalue()


def _cells(item: Any) -> list[str]:
    basis = item.time_basis

    def flag(value: bool) -> str:
        return "true" if value else "false"

    return [
        item.code, item.category_code, item.name, item.description or "",
        LIST_SEPARATOR.join(item.keywords or ()), item.handling_level,
        flag(item.self_handle_allowed), flag(item.negative_list), item.primary_department or "",
        LIST_SEPARATOR.join(item.co_departments or ()), basis,
        format_limit(item.response_minutes, basis), format_limit(item.resolve_minutes, basis),
        format_limit(item.urgent_response_minutes, basis),
        format_limit(item.urgent_resolve_minutes, basis), flag(item.photo_required),
        flag(item.auto_whistle), format_grace(item.response_grace_minutes, basis),
        format_grace(item.resolve_grace_minutes, basis),
        LIST_SEPARATOR.join(getattr(item, "synonyms", None) or ()),
    ]
