"""Reading and writing the matrix CSV: every kind of bad cell is reported with its row and
column, all at once; export → import round-trips exactly."""

from __future__ import annotations

import dataclasses

import pytest

from app.errors import InvalidInput
from app.matrix.commands import format_invalid_input
from app.matrix.csvio import COLUMNS, export_matrix_csv, format_limit, parse_matrix_csv
from tests.matrix.conftest import (
    DEPARTMENT_CODES,
    data_row,
    replace_cell,
    shipped_rows,
    shipped_text,
)

HEADER = ",".join((*COLUMNS, "response_grace", "resolve_grace"))
# A grid-level, self-handled, working-time row (小广告) and a safety row (燃气泄漏).
GRID_ROW = ("0210,02,非法小广告,,小广告|牛皮癣,grid,true,false,HW,CGZF,working,2h,1d,1h,4h,"
            "true,false,,")
SAFETY_ROW = ("0505,05,燃气泄漏,,燃气|漏气,street,false,true,RQ,XF|PCS,calendar,15m,2h,10m,1h,"
              "false,true,30m,0")


def parse(text: str):
    return parse_matrix_csv(text, department_codes=DEPARTMENT_CODES)


def errors_of(text: str, lang: str = "en") -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    return caught.value.errors_in(lang)


@pytest.mark.parametrize(("code", "column", "value", "needle"), [
    ("0202", "category", "09", "unknown category"),
    ("0202", "code", "0302", "starting with its category 02"),
    ("0202", "code", "", "required"),
    ("0202", "name", "", "required"),
    ("0202", "handling_level", "district", "not one of grid, community, street"),
    ("0202", "photo_required", "maybe", "not a yes/no value"),
    ("0202", "primary_department", "NOPE", "unknown department"),
    ("0202", "primary_department", "", "required"),
    ("0202", "co_departments", "SW|NOPE", "unknown department"),
    ("0203", "co_departments", "HW", "already the primary department"),
    ("0202", "time_basis", "lunar", "not one of working, calendar"),
    ("0202", "resolve_limit", "4x", "not a time limit"),
    ("0202", "response_limit", "0m", "not a time limit"),
    ("0202", "response_grace", "soon", "not a time limit"),
    ("0202", "resolve_grace", "-1h", "not a time limit"),
    ("0202", "urgent_resolve_limit", "1d", "may not be longer than resolve_limit"),
    ("0202", "response_limit", "1d", "may not be longer than resolve_limit"),
    ("0201", "handling_level", "community", "never its responsible subject"),
    ("0201", "self_handle", "true", "may not be self-handled"),
    ("0202", "self_handle", "true", "only grid-level items"),
    ("0505", "negative_list", "false", "every work-safety (05) item"),
])
def test_each_problem_names_the_row_and_the_column(code, column, value, needle):
    errors = errors_of(replace_cell(shipped_text(), code, column, value))
    assert [e["loc"] for e in errors] == [["row", data_row(code), column]], errors
    assert needle in errors[0]["msg"]


def test_duplicate_codes_name_the_later_row_and_the_first():
    errors = errors_of(f"{HEADER}\n{GRID_ROW}\n{SAFETY_ROW}\n{GRID_ROW}\n")
    assert errors == [{"loc": ["row", 3, "code"], "type": "value_error",
                       "msg": "duplicate code 0210 (first on row 1)"}]


def test_every_problem_of_the_file_is_reported_at_once():
    text = replace_cell(shipped_text(), "0101", "category", "99")
    text = replace_cell(text, "0713", "resolve_limit", "forever")
    text = replace_cell(text, "0713", "auto_whistle", "perhaps")
    locs = [e["loc"] for e in errors_of(text)]
    assert locs == [["row", 1, "category"], ["row", data_row("0713"), "resolve_limit"],
                    ["row", data_row("0713"), "auto_whistle"]]


def test_missing_unknown_and_repeated_columns_are_header_problems():
    header = HEADER.replace(",auto_whistle", "").replace("keywords", "keyword")
    errors = errors_of(f"{header},code\n")
    assert {tuple(e["loc"]) for e in errors} == {
        ("header", "keywords"), ("header", "auto_whistle"), ("header", "keyword"),
        ("header", "code")}


@pytest.mark.parametrize(("text", "loc"), [("", ["header"]), (f"{HEADER}\n", ["header"]),
                                           (f"{HEADER}\n0210,02,x\n", ["row", 1])])
def test_empty_files_and_short_rows_are_refused(text, loc):
    assert [e["loc"] for e in errors_of(text)] == [loc]


def test_blank_lines_are_skipped_but_counted():
    errors = errors_of(f"{HEADER}\n{GRID_ROW}\n\n{SAFETY_ROW.replace('RQ', 'NOPE')}\n")
    assert errors[0]["loc"] == ["row", 3, "primary_department"]


def test_bom_is_optional_and_booleans_accept_chinese_and_digits():
    plain = parse(f"{HEADER}\n{GRID_ROW}\n")
    with_bom = parse(f"\ufeff{HEADER}\r\n{GRID_ROW}\r\n")
    assert plain == with_bom
    chinese = parse(f"{HEADER}\n" + GRID_ROW.replace("true,false,HW", "是,否,HW")
                    .replace("true,false,,", "1,0,,"))
    assert chinese == plain
    assert plain[0].self_handle_allowed and not plain[0].negative_list


def test_limits_convert_to_minutes_by_time_basis():
    grid, safety = parse(f"{HEADER}\n{GRID_ROW}\n{SAFETY_ROW}\n")
    assert (grid.response_minutes, grid.resolve_minutes, grid.response_grace_minutes,
            grid.resolve_grace_minutes) == (120, 420, None, None)  # 1d = one 7-hour working day
    assert (safety.response_minutes, safety.urgent_response_minutes,
            safety.response_grace_minutes, safety.resolve_grace_minutes) == (15, 10, 30, 0)
    assert parse(f"{HEADER}\n" + SAFETY_ROW.replace("2h,10m,1h", "2d,10m,1h"))[0] \
        .resolve_minutes == 2 * 24 * 60
    assert grid.keywords == ("小广告", "牛皮癣") and safety.co_departments == ("XF", "PCS")


@pytest.mark.parametrize(("minutes", "basis", "text"), [
    (420, "working", "1d"), (840, "working", "2d"), (1440, "calendar", "1d"),
    (1440, "working", "24h"), (90, "working", "90m"), (120, "calendar", "2h")])
def test_limits_are_written_in_the_shortest_exact_unit(minutes, basis, text):
    assert format_limit(minutes, basis) == text


def test_export_then_import_round_trips_exactly():
    rows = shipped_rows()
    assert parse(export_matrix_csv(rows)) == rows
    changed = [dataclasses.replace(r, description="说明，含逗号,\"引号\"\n和换行") for r in rows]
    assert parse(export_matrix_csv(changed)) == changed


def test_validation_errors_format_for_the_terminal():
    text = replace_cell(shipped_text(), "0202", "resolve_limit", "4x")
    with pytest.raises(InvalidInput) as caught:
        parse(text.replace("auto_whistle", "whistle"))
    lines = format_invalid_input(caught.value).splitlines()
    assert lines[0] == "the matrix file has 2 problems:"
    assert lines[1:] == ["  header, column auto_whistle: missing column auto_whistle",
                         "  header, column whistle: unknown column 'whistle'"]
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert format_invalid_input(caught.value).splitlines()[1].startswith(
        f"  row {data_row('0202')}, column resolve_limit: '4x' is not a time limit")


def test_a_single_problem_formats_on_one_line():
    exc = InvalidInput.at(["file"], "no such file: x.csv")
    assert format_invalid_input(exc) == "file: no such file: x.csv"


def test_files_without_grace_columns_import_with_the_categorys_grace():
    """A file written before the graces existed: no grace columns (blank means the
    category's grace, 0), and its ``escalation_limit`` column read and ignored."""
    header = ",".join(COLUMNS).replace(",auto_whistle", ",escalation_limit,auto_whistle")
    old_grid = GRID_ROW.removesuffix(",false,,") + ",1d,false"
    old_safety = SAFETY_ROW.removesuffix(",true,30m,0") + ",30m,true"
    grid, safety = parse(f"{header}\n{old_grid}\n{old_safety}\n")
    assert (grid.response_grace_minutes, grid.resolve_grace_minutes) == (None, None)
    assert (safety.response_grace_minutes, safety.auto_whistle) == (None, True)
    assert "escalation_limit" not in export_matrix_csv([grid]).splitlines()[0]


@pytest.mark.parametrize(("cell", "minutes"), [("", None), ("0", 0), ("0m", 0), ("2h", 120),
                                               ("1d", 420)])
def test_a_grace_cell_is_blank_zero_or_a_limit_and_round_trips(cell, minutes):
    row = parse(f"{HEADER}\n{GRID_ROW}{cell}\n")[0]  # the row's last cell: resolve_grace
    assert row.resolve_grace_minutes == minutes
    assert parse(export_matrix_csv([row])) == [row]
def test_chinese_headers_export_and_import_back():
    from app.matrix.csvio import HEADERS_ZH, OPTIONAL_COLUMNS

    rows = shipped_rows()
    text = export_matrix_csv(rows, headers="zh")
    header = text.removeprefix("\ufeff").splitlines()[0].split(",")
    assert header[:3] == ["事项编码", "类别", "事项名称"]
    assert header == [HEADERS_ZH[c] for c in (*COLUMNS, *OPTIONAL_COLUMNS)]
    assert parse(text) == rows


def test_a_header_may_mix_chinese_and_english_and_errors_name_english_columns():
    zh_header = HEADER.replace("code,", "事项编码,", 1).replace("handling_level", "办理层级")
    assert parse(f"{zh_header}\n{GRID_ROW}\n") == parse(f"{HEADER}\n{GRID_ROW}\n")
    bad = GRID_ROW.replace(",grid,", ",nowhere,")
    errors = errors_of(f"{zh_header}\n{bad}\n")
    assert errors[0]["loc"] == ["row", 1, "handling_level"]
    errors = errors_of(zh_header.replace("办理层级", "办理级别") + f"\n{GRID_ROW}\n")
    assert {"loc": ["header", "handling_level"], "msg": "missing column handling_level",
            "type": "missing"} in errors


@pytest.mark.parametrize(("code", "column", "value", "zh"), [
    ("0202", "handling_level", "district", "“district”不是可选值：grid, community, street"),
    ("0202", "photo_required", "maybe", "“maybe”不是是/否值"),
    ("0202", "name", "", "事项名称为必填项"),
    ("0202", "response_limit", "1d", "响应时限不得长于办结时限"),
    ("0201", "handling_level", "community", "社区、网格不作为责任主体"),
])
def test_row_problems_are_told_in_chinese_with_the_columns_excel_shows(code, column, value,
                                                                        zh):
    text = replace_cell(shipped_text(), code, column, value)
    (error,) = errors_of(text, "zh")
    assert error["loc"] == ["row", data_row(code), column] and zh in error["msg"]
    (english,) = errors_of(text, "en")
    assert english["loc"] == error["loc"] and english["msg"] != error["msg"]


def test_header_problems_are_told_in_chinese():
    errors = errors_of(HEADER.replace("handling_level", "办理级别") + f"\n{GRID_ROW}\n", "zh")
    assert {"loc": ["header", "handling_level"], "msg": "缺少列 办理层级",
            "type": "missing"} in errors
    assert {"loc": ["header", "办理级别"], "msg": "未知列“办理级别”",
            "type": "value_error"} in errors


def test_levels_and_time_bases_may_be_written_in_chinese():
    zh_row = GRID_ROW.replace(",grid,", ",网格,").replace(",working,", ",工作日,")
    assert parse(f"{HEADER}\n{zh_row}\n") == parse(f"{HEADER}\n{GRID_ROW}\n")
    safety = SAFETY_ROW.replace(",street,", ",街道,").replace(",calendar,", ",自然日,")
    assert parse(f"{HEADER}\n{safety}\n") == parse(f"{HEADER}\n{SAFETY_ROW}\n")
