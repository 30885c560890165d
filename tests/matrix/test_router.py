"""The matrix over HTTP: anyone signed in reads the current version; admins import,
export and list versions. Imports here commit, so they only ever import the shipped file."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.matrix.categories import CATEGORIES
from app.matrix.service import MatrixCache
from tests.matrix.conftest import data_row, replace_cell, shipped_rows, shipped_text

pytestmark = pytest.mark.usefixtures("departments")

CSV = "text/csv"


async def upload(client, headers, text: str | bytes, **form):
    body = text.encode("utf-8") if isinstance(text, str) else text
    return await client.post("/api/v1/matrix/import", headers=headers, data=form,
                             files={"file": ("matrix.csv", body, CSV)})


@pytest.fixture
async def shipped_version(client, headers_for) -> dict:
    r = await upload(client, headers_for(Role.admin), shipped_text(), label="shipped again")
    assert r.status_code == 201, r.text
    return r.json()


async def test_reading_needs_a_token(client):
    for path in ("/api/v1/matrix", "/api/v1/matrix/items/0202"):
        r = await client.get(path)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


async def test_admin_import_makes_the_current_version(client, headers_for, clock):
    r = await upload(client, headers_for(Role.admin), shipped_text(), label="spring 2026")
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["label"] == "spring 2026" and version["source"] == "matrix.csv"
    assert version["item_count"] == len(shipped_rows())
    assert version["created_at"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M"))
    got = await client.get("/api/v1/matrix", headers=headers_for(Role.grid_worker))
    assert got.json()["version"] == {k: version[k] for k in ("id", "label", "created_at",
                                                              "item_count")}


async def test_the_label_defaults_to_the_file_name(client, headers_for):
    r = await upload(client, headers_for(Role.admin), shipped_text().removeprefix("\ufeff"))
    assert r.status_code == 201 and r.json()["label"] == "matrix.csv"


async def test_matrix_lists_every_category_with_its_items(client, headers_for, shipped_version):
    r = await client.get("/api/v1/matrix", headers=headers_for(Role.department_staff))
    assert r.status_code == 200
    body = r.json()
    assert body["version"]["id"] == shipped_version["id"]
    assert [(c["code"], c["name"], c["name_en"]) for c in body["categories"]] == \
        [(c.code, c.name, c.name_en) for c in CATEGORIES]
    assert sum(len(c["items"]) for c in body["categories"]) == len(shipped_rows())
    item = next(i for i in body["categories"][1]["items"] if i["code"] == "0202")
    assert item["category"] == "02" and item["name"] == "暴露垃圾"
    assert (item["handling_level"], item["primary_department"], item["self_handle_allowed"],
            item["negative_list"]) == ("street", "HW", False, False)
    assert (item["resolve_minutes"], item["resolve_limit"]) == (240, "4h")
    assert (item["urgent_response_minutes"], item["urgent_response_limit"]) == (30, "30m")
    assert (item["response_grace_minutes"], item["resolve_grace_minutes"],
            item["resolve_grace"], item["grace_is_default"]) == (0, 0, "0", True)
    assert isinstance(item["id"], int) and item["keywords"][0] == "垃圾"


async def test_category_filter(client, headers_for, shipped_version):
    r = await client.get("/api/v1/matrix", params={"category": "05"},
                         headers=headers_for(Role.grid_worker))
    categories = r.json()["categories"]
    assert [c["code"] for c in categories] == ["05"]
    assert categories[0]["resolve_grace_minutes"] == 0
    assert all(i["negative_list"] and i["handling_level"] == "street"
               for i in categories[0]["items"])
    gas = next(i for i in categories[0]["items"] if i["code"] == "0505")
    assert (gas["time_basis"], gas["response_limit"], gas["response_grace"]) == \
        ("calendar", "15m", "0")


async def test_unknown_category_is_a_422_naming_the_query_field(client, headers_for):
    r = await client.get("/api/v1/matrix", params={"category": "99"},
                         headers=headers_for(Role.grid_worker))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "category"]


async def test_one_item_by_code(client, headers_for, shipped_version):
    headers = headers_for(Role.community_dispatcher)
    r = await client.get("/api/v1/matrix/items/0505", headers=headers)
    assert r.status_code == 200 and r.json()["auto_whistle"] is True
    assert r.json()["co_departments"] == ["XF", "PCS"]
    missing = await client.get("/api/v1/matrix/items/0999", headers=headers)
    assert missing.status_code == 404 and "0999" in missing.json()["detail"]


@pytest.mark.parametrize("role", [Role.grid_worker, Role.street_dispatcher, Role.supervisor])
async def test_only_admins_import_export_and_list_versions(client, headers_for, role):
    headers = headers_for(role)
    assert (await upload(client, headers, shipped_text())).status_code == 403
    assert (await client.get("/api/v1/matrix/export", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/matrix/versions", headers=headers)).status_code == 403


async def test_versions_are_listed_newest_first(client, headers_for, shipped_version):
    again = (await upload(client, headers_for(Role.admin), shipped_text())).json()
    r = await client.get("/api/v1/matrix/versions", headers=headers_for(Role.admin))
    assert r.status_code == 200
    assert [v["id"] for v in r.json()[:2]] == [again["id"], shipped_version["id"]]
    assert r.json()[1]["label"] == "shipped again"


async def test_a_bad_file_is_a_422_listing_every_row_and_column(client, headers_for):
    text = replace_cell(shipped_text(), "0202", "handling_level", "district")
    text = replace_cell(text, "0413", "resolve_limit", "")
    before = (await client.get("/api/v1/matrix/versions", headers=headers_for(Role.admin))).json()
    r = await upload(client, headers_for(Role.admin), text)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert [e["loc"] for e in errors] == [["row", data_row("0202"), "handling_level"],
                                          ["row", data_row("0413"), "resolve_limit"]]
    assert "district" in errors[0]["msg"] and "not a time limit" in errors[1]["msg"]
    after = (await client.get("/api/v1/matrix/versions", headers=headers_for(Role.admin))).json()
    assert after == before


async def test_a_negative_list_item_at_community_level_is_refused(client, headers_for):
    text = replace_cell(shipped_text(), "0201", "handling_level", "community")
    r = await upload(client, headers_for(Role.admin), text)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["row", data_row("0201"), "handling_level"]


async def test_a_file_that_is_not_utf8_is_a_422(client, headers_for):
    r = await upload(client, headers_for(Role.admin), shipped_text().encode("gb18030"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "file"]


async def test_a_missing_file_is_a_422(client, headers_for):
    r = await client.post("/api/v1/matrix/import", headers=headers_for(Role.admin),
                          data={"label": "nothing"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "file"]


async def test_export_is_excel_csv_that_imports_back(client, headers_for, shipped_version):
    admin = headers_for(Role.admin)
    r = await client.get("/api/v1/matrix/export", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'matrix-v{shipped_version["id"]}.csv' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf") and r.content.decode("utf-8") == shipped_text()
    again = await upload(client, admin, r.content)
    assert again.status_code == 201
    older = await client.get("/api/v1/matrix/export", headers=admin,
                             params={"version": shipped_version["id"]})
    assert older.content == r.content
    missing = await client.get("/api/v1/matrix/export", headers=admin,
                               params={"version": 987654})
    assert missing.status_code == 404


async def test_export_with_chinese_headers_imports_back(client, headers_for, shipped_version):
    admin = headers_for(Role.admin)
    r = await client.get("/api/v1/matrix/export", headers=admin, params={"headers": "zh"})
    assert r.status_code == 200
    assert r.content.decode("utf-8-sig").startswith("事项编码,类别,事项名称,")
    again = await upload(client, admin, r.content)
    assert again.status_code == 201, again.text
    english = await client.get("/api/v1/matrix/export", headers=admin)
    assert english.content.decode("utf-8") == shipped_text()  # the same items


async def test_an_import_refreshes_this_processs_cache_at_once(app, client, headers_for,
                                                              shipped_version):
    reader = headers_for(Role.grid_worker)
    saved = app.state.matrix_cache
    app.state.matrix_cache = MatrixCache(check_seconds=3600)  # would trust itself for an hour
    try:
        before = (await client.get("/api/v1/matrix", headers=reader)).json()["version"]
        assert before["id"] == shipped_version["id"]
        new = (await upload(client, headers_for(Role.admin), shipped_text())).json()
        after = (await client.get("/api/v1/matrix", headers=reader)).json()["version"]
        assert after["id"] == new["id"] > before["id"]
        assert app.state.matrix_cache.loads == 2
    finally:
        app.state.matrix_cache = saved


async def test_the_matrix_you_have_answers_304_until_an_import_changes_it(client, headers_for,
                                                                          shipped_version):
    reader = headers_for(Role.grid_worker)
    first = await client.get("/api/v1/matrix", headers=reader)
    assert first.status_code == 200 and first.headers["cache-control"] == "private, no-cache"
    tag = first.headers["etag"]
    again = await client.get("/api/v1/matrix", headers={**reader, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    weak = await client.get("/api/v1/matrix", headers={**reader, "If-None-Match": f'"x", W/{tag}'})
    assert weak.status_code == 304
    # Another filter is another body, another tag; a stale tag gets the body.
    fives = await client.get("/api/v1/matrix", params={"category": "05"},
                             headers={**reader, "If-None-Match": tag})
    assert fives.status_code == 200 and fives.headers["etag"] != tag
    # The tag is no pass: without a token it is still a 401.
    assert (await client.get("/api/v1/matrix", headers={"If-None-Match": tag})).status_code == 401
    await upload(client, headers_for(Role.admin), shipped_text(), label="again")
    changed = await client.get("/api/v1/matrix", headers={**reader, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["version"]["label"] == "again"
    codes = [[i["code"] for i in c["items"]] for c in first.json()["categories"]]
    assert [[i["code"] for i in c["items"]] for c in changed.json()["categories"]] == codes
