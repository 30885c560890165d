"""problem+json in the language the client prefers (Accept-Language), English otherwise."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("reference")

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


def _with(headers, extra):
    return {**headers, **extra}


async def test_not_found_in_chinese_and_english(client, token_for):
    url = "/api/v1/tickets/99999999"
    r = await client.get(url, headers=_with(token_for("admin"), ZH))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["Content-Language"] == "zh"
    assert "Accept-Language" in r.headers["Vary"]
    assert r.json()["title"] == "未找到"
    assert r.json()["detail"] == "工单 99999999 不存在或无权查看"
    r = await client.get(url, headers=token_for("admin"))
    assert (r.json()["title"], r.json()["detail"]) == ("Not found", "no ticket 99999999")
    assert r.headers["Content-Language"] == "en"
    r = await client.get(url, headers=_with(token_for("admin"),
                                            {"Accept-Language": "zh;q=0.3, en;q=0.9"}))
    assert r.json()["title"] == "Not found"


async def test_not_authenticated_in_chinese(client):
    r = await client.get("/api/v1/tickets", headers=ZH)
    assert r.status_code == 401
    assert r.json()["title"] == "未登录或凭据无效"
    assert r.json()["detail"] == "请提供 Bearer 访问令牌或 X-API-Key 请求头"


async def test_bad_login_in_chinese(client):
    r = await client.post("/api/v1/auth/token", data={"username": "nobody-zh",
                                                      "password": "wrong-password"}, headers=ZH)
    assert r.status_code == 401
    assert r.json()["detail"] == "用户名或密码错误"


async def test_forbidden_role_in_chinese(client, token_for):
    r = await client.get("/api/v1/admin/users", headers=_with(token_for("gw01"), ZH))
    assert r.status_code == 403
    assert r.json()["title"] == "无权操作"
    assert r.json()["detail"].startswith("角色 grid_worker 无权执行此操作")


async def test_validation_wrapper_in_chinese_keeps_field_locations(client, token_for):
    r = await client.post("/api/v1/tickets", json={"grid": "BH01-01"},
                          headers=_with(token_for("gw01"), ZH))
    assert r.status_code == 422
    body = r.json()
    assert body["title"] == "输入无效"
    assert "body.description: 缺少必填项" in body["detail"]
    assert {"loc": ["body", "description"], "msg": "缺少必填项", "type": "missing"} in body["errors"]
    r = await client.post("/api/v1/tickets", json={"grid": "BH01-01"},
                          headers=token_for("gw01"))
    assert r.json()["title"] == "Invalid input"
    assert "body.description: Field required" in r.json()["detail"]


async def test_a_field_error_from_the_service_in_chinese(client, token_for):
    r = await client.get("/api/v1/tickets", params={"jurisdiction": "NOPE"},
                         headers=_with(token_for("sd"), ZH))
    assert r.status_code == 422
    assert r.json()["errors"][0]["msg"] == "辖区 NOPE 不存在或不在您的范围内"
    assert r.json()["errors"][0]["loc"] == ["query", "jurisdiction"]


async def test_invalid_transition_and_if_match_in_chinese(client, token_for):
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "井盖缺失"})
    ticket = r.json()
    r = await client.post(f"/api/v1/tickets/{ticket['id']}/verify",
                          headers=_with(token_for("cd01"), ZH), json={"passed": True})
    assert r.status_code == 409
    assert r.json()["title"] == "当前状态不允许此操作"
    assert "工单当前状态为「" in r.json()["detail"]
    r = await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"description": "新描述"},
                           headers=_with(token_for("cd01"), ZH))
    assert r.status_code == 428
    assert r.json()["title"] == "缺少前提条件（If-Match）"
    assert r.json()["detail"].startswith("请在 If-Match 中提供")


async def test_unknown_route_and_method_in_chinese(client):
    r = await client.get("/api/v1/no-such-thing", headers=ZH)
    assert r.status_code == 404
    assert (r.json()["title"], r.json()["detail"]) == ("未找到", "没有这个地址")
    r = await client.delete("/api/v1/tickets", headers=ZH)
    assert r.status_code == 405
    assert r.json()["title"] == "不支持该请求方法"


async def test_routing_reason_in_chinese(client, token_for):
    r = await client.post("/api/v1/tickets", headers=_with(token_for("gw01"), ZH), json={
        "grid": "BH01-01", "item": "0202", "description": "井盖缺失"})
    assert r.status_code == 201
    zh_reason = r.json()["routing_reason"]
    assert "事项 0202" in zh_reason and "item" not in zh_reason
    r = await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=token_for("gw01"))
    assert r.json()["routing_reason"].startswith("item 0202 is handled")
    r = await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=_with(token_for("gw01"), ZH))
    assert r.json()["routing_reason"] == zh_reason


async def test_an_action_answers_the_routing_reason_in_chinese(client, token_for):
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "BH01-01", "item": "0202", "description": "井盖缺失"})
    r = await client.post(f"/api/v1/tickets/{r.json()['id']}/note", json={"result": "已联系"},
                          headers=_with(token_for("cd01"), ZH))
    assert r.status_code == 200, r.text
    assert r.json()["routing_reason"].startswith("事项 0202")


async def test_posting_errors_in_chinese_and_english(client, token_for):
    r = await client.post("/api/v1/tickets", headers=_with(token_for("gw01"), ZH), json={
        "grid": "NOPE-99", "item": "0202", "description": "井盖缺失"})
    assert r.status_code == 422
    assert r.json()["detail"] == "网格 NOPE-99 不在您的辖区内"
    assert r.json()["errors"][0] == {"loc": ["body", "grid"], "msg": "网格 NOPE-99 不在您的辖区内",
                                     "type": "value_error"}
    r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
        "grid": "NOPE-99", "item": "0202", "description": "井盖缺失"})
    assert r.json()["detail"] == "no grid 'NOPE-99' in your scope"
    r = await client.post("/api/v1/tickets", headers=_with(token_for("gw01"), ZH), json={
        "grid": "BH01-01", "item": "9999", "description": "井盖缺失"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["msg"] == "当前事项清单中没有事项 9999"


async def test_a_bad_cursor_in_chinese(client, token_for):
    r = await client.get("/api/v1/tickets", params={"cursor": "garbage"},
                         headers=_with(token_for("sd"), ZH))
    assert r.status_code == 422
    assert r.json()["errors"][0]["msg"] == "不是本接口返回的游标"
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]
