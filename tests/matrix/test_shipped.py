"""The shipped matrix (app/matrix/data/matrix.csv) is valid and follows the domain's rules."""

from __future__ import annotations

from collections import Counter

from app.matrix.categories import CATEGORIES, CATEGORY_BY_CODE, resolve_grace, response_grace
from app.matrix.csvio import export_matrix_csv
from tests.matrix.conftest import DEPARTMENT_CODES, shipped_rows, shipped_text


def test_seven_categories_with_their_names_and_no_grace():
    assert [(c.code, c.name) for c in CATEGORIES] == [
        ("01", "党群建设"), ("02", "市容环境"), ("03", "市场监管"), ("04", "群防群控"),
        ("05", "安全生产"), ("06", "为民服务"), ("07", "为企服务")]
    # The ladder moves the moment a level fails its limit.
    assert all(c.response_grace_minutes == c.resolve_grace_minutes == 0 for c in CATEGORIES)


def test_shipped_file_is_excel_utf8_with_bom_and_loads():
    text = shipped_text()
    assert text.startswith("\ufeff")
    rows = shipped_rows()
    assert len(rows) >= 120
    per_category = Counter(r.category_code for r in rows)
    assert set(per_category) == set(CATEGORY_BY_CODE)
    assert all(count >= 10 for count in per_category.values())


def test_shipped_file_is_in_canonical_export_form():
    assert export_matrix_csv(shipped_rows()) == shipped_text()


def test_communities_are_never_responsible_for_negative_list_items():
    for row in shipped_rows():
        if row.negative_list:
            assert row.handling_level == "street" and not row.self_handle_allowed, row.code
        if row.category_code == "05":
            assert row.negative_list, row.code
        if row.self_handle_allowed:
            assert row.handling_level == "grid", row.code


def test_enforcement_items_outside_05_are_on_the_negative_list():
    negative = {r.code for r in shipped_rows() if r.negative_list}
    # illegal building, illegal parking, unlicensed business, vice leads, noise
    assert {"0201", "0217", "0301", "0407", "0617"} <= negative


def test_every_item_names_known_departments_and_ordered_limits():
    for row in shipped_rows():
        assert row.primary_department in DEPARTMENT_CODES, row.code
        assert set(row.co_departments) <= DEPARTMENT_CODES, row.code
        assert row.urgent_response_minutes <= row.response_minutes <= row.resolve_minutes
        assert row.urgent_resolve_minutes <= row.resolve_minutes
        assert response_grace(row) >= 0 and resolve_grace(row) >= 0


def test_emergencies_run_on_calendar_time():
    rows = {r.code: r for r in shipped_rows()}
    for code in ("0505", "0509", "0309"):  # gas leak, road collapse, lift trapping
        assert rows[code].time_basis == "calendar", code
        assert rows[code].response_minutes <= 30
    assert rows["0219"].resolve_minutes == 6 * 60  # manhole cover: repair within 6 h [S]


def test_every_level_is_represented():
    rows = shipped_rows()
    levels = Counter((r.handling_level, r.self_handle_allowed) for r in rows)
    assert levels[("grid", True)] and levels[("grid", False)]
    assert levels[("community", False)] and levels[("street", False)]
    assert any(r.handling_level == "street" and r.primary_department == "CGZF"
               and not r.photo_required for r in rows)
