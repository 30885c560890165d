"""Bulk user import (CSV/XLSX, API and CLI) and initial passwords changed at first login."""

from __future__ import annotations

import io

import pytest
import typer
import xlsxwriter
from sqlalchemy import select
from typer.testing import CliRunner

from app.auth.commands import users_app
from app.auth.models import User
from tests.auth.conftest import unique


def _csv(lines: list[str], bom: bool = True) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join(lines) + "\n").encode("utf-8")


def _xlsx(rows: list[list]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


async def _upload(client, headers, content: bytes, name="users.csv"):
    return await client.post("/api/v1/admin/users/import", headers=headers,
                             files={"file": (name, content)})


async def _exists(sessions, *usernames) -> set[str]:
    async with sessions() as session:
        rows = await session.execute(select(User.username).where(User.username.in_(usernames)))
        return set(rows.scalars())


async def test_csv_import_creates_every_user_with_an_initial_password(
        client, admin_headers, tree, sessions):
    a, b, c = unique("imp"), unique("imp"), unique("imp")
    content = _csv([
        "用户名,姓名,角色,范围,手机号",
        f"{a},张三,网格员,{tree.grid_a1.code}；{tree.grid_a2.code},13812345678",
        f"{b},李四,community_dispatcher,{tree.comm_a.code},",
        f"{c},王五,部门工作人员,{tree.dept.code},010-12345678",
    ])
    r = await _upload(client, admin_headers, content)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["count"] == 3
    assert [u["username"] for u in body["users"]] == [a, b, c]
    assert all(len(u["initial_password"]) >= 12 for u in body["users"])
    users = {u["username"]: u for u in body["users"]}
    r = await client.get(f"/api/v1/admin/users/{users[a]['id']}", headers=admin_headers)
    got = r.json()
    assert got["role"] == "grid_worker" and got["display_name"] == "张三"
    assert sorted(got["grid_codes"]) == sorted([tree.grid_a1.code, tree.grid_a2.code])
    assert got["phone"] == "13812345678" and got["must_change_password"] is True


async def test_every_bad_row_is_reported_and_nothing_is_imported(
        client, admin_headers, tree, sessions, make_user):
    taken = (await make_user("admin")).username
    good, dup = unique("imp"), unique("imp")
    content = _csv([
        "username,name,role,scope,phone",
        f"{good},好人,grid_worker,{tree.grid_a1.code},",          # row 2: fine
        f"{taken},重名,admin,,",                                  # row 3: username taken
        f"{dup},甲,grid_worker,NO-SUCH-GRID,",                    # row 4: bad scope
        f"{dup},乙,nobody,,",                                     # row 5: dup + bad role
        f"Bad Name!,,street_dispatcher,{tree.comm_a.code},12345",  # row 6: 4 problems
    ])
    r = await _upload(client, admin_headers, content)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"] == "4 row(s) are wrong; nothing was imported"
    where = {(e["loc"][1], e["loc"][2]) for e in body["errors"]}
    assert {(3, "username"), (4, "scope"), (5, "username"), (5, "role"), (6, "username"),
            (6, "name"), (6, "scope"), (6, "phone")} <= where
    assert not any(row == 2 for row, _ in where)
    assert all(e["loc"][0] == "file" for e in body["errors"])
    assert await _exists(sessions, good, dup) == set()  # not half-imported
    # in Chinese too
    r = await client.post("/api/v1/admin/users/import",
                          headers={**admin_headers, "Accept-Language": "zh-CN"},
                          files={"file": ("u.csv", content)})
    assert r.json()["detail"] == "4 行有误，未导入任何内容"
    zh = {(e["loc"][1], e["loc"][2]): e["msg"] for e in r.json()["errors"]}
    assert zh[(3, "username")] == f"用户名 {taken} 已被占用"
    assert zh[(4, "scope")] == "网格 NO-SUCH-GRID 不存在"
    assert zh[(5, "username")] == f"用户名 {dup} 与第 4 行重复"
    assert zh[(6, "scope")].endswith("是社区；角色 street_dispatcher 需要一个街道")


async def test_xlsx_import_with_a_phone_stored_as_a_number(client, admin_headers, tree):
    name = unique("imp")
    content = _xlsx([["username", "name", "role", "scope", "phone"],
                     [name, "赵六", "网格员", tree.grid_b1.code, 13900001111]])
    r = await _upload(client, admin_headers, content, name="users.xlsx")
    assert r.status_code == 201, r.text
    user_id = r.json()["users"][0]["id"]
    got = (await client.get(f"/api/v1/admin/users/{user_id}", headers=admin_headers)).json()
    assert got["phone"] == "13900001111"


async def test_unreadable_files_and_headers_are_422s(client, admin_headers):
    r = await _upload(client, admin_headers, b"PK\x03\x04not a zip", name="x.xlsx")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["file"]
    r = await _upload(client, admin_headers, _csv(["username,name,rank", "a1,b,c"]))
    assert r.status_code == 422 and "rank" in r.json()["detail"]
    r = await _upload(client, admin_headers, _csv(["username,name"]))
    assert r.status_code == 422 and "role" in r.json()["detail"]
    r = await _upload(client, admin_headers, "用户名,姓名,角色\n".encode("gbk") + b"\xd5\xc5")
    assert r.status_code == 422


async def test_only_admins_import(client, make_user, headers_for, tree):
    user = await make_user("community_dispatcher", scope_code=tree.comm_a.code)
    r = await _upload(client, await headers_for(user), _csv(["username,name,role"]))
    assert r.status_code == 403


async def test_initial_password_allows_only_changing_it(client, admin_headers, tree):
    name = unique("imp")
    r = await _upload(client, admin_headers, _csv(["username,name,role,scope",
                                                   f"{name},钱七,网格员,{tree.grid_a1.code}"]))
    initial = r.json()["users"][0]["initial_password"]
    r = await client.post("/api/v1/auth/token", data={"username": name, "password": initial})
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is True
    pending = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # everything else is refused, saying why
    r = await client.get("/api/v1/tickets", headers=pending)
    assert r.status_code == 403
    assert r.json()["type"].endswith("/password-change-required")
    r = await client.get("/api/v1/tickets", headers={**pending, "Accept-Language": "zh"})
    assert r.json()["title"] == "需要先修改密码"
    # who am I still answers, with the state
    r = await client.get("/api/v1/auth/me", headers=pending)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    # a wrong current password, or the same one, is refused
    r = await client.post("/api/v1/auth/password", headers=pending, json={
        "current_password": "wrong-password", "new_password": "a new long password"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "current_password"]
    r = await client.post("/api/v1/auth/password", headers=pending, json={
        "current_password": initial, "new_password": initial})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "new_password"]
    r = await client.post("/api/v1/auth/password", headers=pending, json={
        "current_password": initial, "new_password": "a new long password"})
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is False
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/tickets", headers=fresh)).status_code == 200
    # the initial password no longer works; the new one does, without the flag
    r = await client.post("/api/v1/auth/token", data={"username": name, "password": initial})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/token",
                          data={"username": name, "password": "a new long password"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False


async def test_a_normal_login_has_no_flag(client, make_user):
    user = await make_user("admin")
    r = await client.post("/api/v1/auth/token",
                          data={"username": user.username, "password": "correct horse battery"})
    assert r.json()["must_change_password"] is False


@pytest.fixture
def cli(settings, monkeypatch, tree):
    monkeypatch.setattr("app.cli.get_settings", lambda: settings)
    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.add_typer(typer.Typer(), name="other")  # keeps "users" a sub-command
    return lambda *args: CliRunner().invoke(app, list(args))


def test_cli_import_prints_initial_passwords_or_every_bad_row(cli, tree, tmp_path):
    name = unique("cli")
    good = tmp_path / "good.csv"
    good.write_bytes(_csv(["username,name,role,scope", f"{name},孙八,网格员,{tree.grid_a1.code}"]))
    r = cli("users", "import", str(good))
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith(name))
    assert line.split("\t")[:3] == [name, "孙八", "grid_worker"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(["username,name,role,scope", f"{unique('cli')},周九,网格员,NOPE",
                          f"{name},重复,admin,"]))
    r = cli("users", "import", str(bad))
    assert r.exit_code == 1
    assert "row 2, scope" in r.output and "row 3, username" in r.output


async def test_an_admin_can_give_an_initial_password_and_a_phone(client, admin_headers, tree):
    name = unique("adm")
    r = await client.post("/api/v1/admin/users", headers=admin_headers, json={
        "username": name, "password": "first password", "role": "grid_worker",
        "grid_codes": [tree.grid_a1.code], "phone": "13700001234",
        "must_change_password": True})
    assert r.status_code == 201, r.text
    assert r.json()["must_change_password"] is True and r.json()["phone"] == "13700001234"
    login = await client.post("/api/v1/auth/token",
                              data={"username": name, "password": "first password"})
    assert login.json()["must_change_password"] is True
    user_id = r.json()["id"]
    r = await client.patch(f"/api/v1/admin/users/{user_id}", headers=admin_headers,
                           json={"phone": "12345"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "phone"]
    r = await client.patch(f"/api/v1/admin/users/{user_id}", headers=admin_headers,
                           json={"must_change_password": False, "phone": None})
    assert r.json()["must_change_password"] is False and r.json()["phone"] is None
    # a password reset with the flag makes the next login an initial one again
    r = await client.patch(f"/api/v1/admin/users/{user_id}", headers=admin_headers,
                           json={"password": "reset password", "must_change_password": True})
    assert r.status_code == 200
    login = await client.post("/api/v1/auth/token",
                              data={"username": name, "password": "reset password"})
    assert login.json()["must_change_password"] is True


async def test_an_xlsx_with_broken_contents_is_a_422(client, admin_headers, tree):
    import zipfile

    good = _xlsx([["username", "name", "role"], ["x1", "y", "admin"]])
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]  # cut off mid-XML
            dst.writestr(info, data)
    r = await _upload(client, admin_headers, broken.getvalue(), name="broken.xlsx")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["file"]
