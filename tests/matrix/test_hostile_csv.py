"""CSV files the csv module cannot read, or whose cells the database cannot store, are
reported per row — in the API (422), the parser and the import commands alike."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.errors import InvalidInput
from app.jurisdiction.service import load_departments_csv
from tests.matrix.conftest import shipped_text
from tests.matrix.test_csv import errors_of
from tests.matrix.test_router import upload

HUGE = "x" * 200_000  # over the csv module's 131,072-character field limit


def _with_second_row(cell: str) -> str:
    lines = shipped_text().split("\n")
    cells = lines[2].split(",")
    cells[2] = cell  # the name
    lines[2] = ",".join(cells)
    return "\n".join(lines)


@pytest.mark.parametrize("cell", [HUGE, "燃气\x00泄漏"])
def test_an_unreadable_or_unstorable_cell_is_reported_on_its_row(cell):
    errors = errors_of(_with_second_row(cell))
    assert [e["loc"] for e in errors] == [["row", 2]], errors


def test_cr_only_line_endings_read_like_newlines():
    text = _with_second_row("").replace("\n", "\r")
    assert [e["loc"] for e in errors_of(text)] == [["row", 2, "name"]]


@pytest.mark.usefixtures("departments")
@pytest.mark.parametrize("text", [
    _with_second_row(HUGE), shipped_text().replace("\n", "\r"), _with_second_row("a\x00b")])
async def test_the_api_answers_422_per_row(client, headers_for, text):
    r = await upload(client, headers_for(Role.admin), text)
    if "\r" in text:
        assert r.status_code == 201, r.text  # a valid file with old-Mac line endings
        return
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["row", 2]]


@pytest.mark.parametrize(("text", "loc"), [
    ("code,name,streets\nA1,a\x00b,BH\n", ["rows", 2]),
    ("code,name,streets\rA1,ok,BH\rA2," + HUGE + ",BH\r", ["rows", 3]),
])
def test_departments_csv_problems_are_per_row(text, loc):
    with pytest.raises(InvalidInput) as caught:
        load_departments_csv(text)
    assert [e["loc"] for e in caught.value.errors] == [loc]


def test_a_grid_name_with_nul_is_reported_on_its_feature():
    from app.jurisdiction.importer import parse_feature_collection
    from tests.jurisdiction.conftest import demo_collection

    data = demo_collection()
    data["features"][2]["properties"]["name"] = "网格\x00"
    with pytest.raises(InvalidInput) as caught:
        parse_feature_collection(data)
    assert ["features", 2, "name"] in [e["loc"] for e in caught.value.errors]
