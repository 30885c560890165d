"""Configuring channels: admins only; bad configuration is refused with 422 and nothing is
saved; secrets are stored only sealed and never shown; a test-send goes out at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.config import DEFAULT_BLOCKED_NETWORKS
from app.main import create_app
from app.notifications.models import NotificationChannel
from tests.notifications.fakes import FakeAliyunSms, FakeWeComRobot, serve

pytestmark = pytest.mark.usefixtures("reference")

ROBOT = {"kind": "wecom", "name": "城管群", "department": "CGZF",
         "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret-key-123"}


async def _count(sessions) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(NotificationChannel))
                ).scalar_one()


@pytest.mark.parametrize(("change", "where"), [
    ({"kind": "email"}, ["body", "kind"]),
    ({"url": "ftp://robot.example/send"}, ["body", "url"]),
    ({"url": "not a url"}, ["body", "url"]),
    ({"kinds": ["whistle", "gossip"]}, ["body", "kinds"]),
    ({"department": "NOPE"}, ["body", "department"]),
    ({"kind": "dingtalk"}, ["body", "secret"]),  # signed mode needs its secret
    ({"kind": "sms", "access_key_id": "LTAI", "access_key_secret": "x"}, ["body", "sign_name"]),
    ({"jurisdiction": "BH"}, ["body"]),  # both owners
])
async def test_bad_configuration_is_refused_and_nothing_saved(client, token_for, sessions,
                                                              change, where):
    before = await _count(sessions)
    r = await client.post("/api/v1/notification-channels", headers=token_for("admin"),
                          json=ROBOT | change)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == where
    assert await _count(sessions) == before


async def test_a_blocked_network_is_refused_as_for_webhooks(settings, engine, clock, sessions,
                                                           token_for):
    import httpx

    from app.config import Settings

    blocking = Settings(**(settings.model_dump() | {
        "webhook_blocked_networks": list(DEFAULT_BLOCKED_NETWORKS)}))
    app = create_app(blocking, clock=clock)
    before = await _count(sessions)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as c:
            r = await c.post("/api/v1/notification-channels", headers=token_for("admin"),
                             json=ROBOT | {"url": "http://169.254.169.254/latest/meta-data"})
            channel = (await c.get("/api/v1/notification-channels",
                                   headers=token_for("admin"))).json()[0]
            put = await c.put(f"/api/v1/notification-channels/{channel['id']}",
                              headers=token_for("admin"), json={"url": "http://127.0.0.1:6379/"})
    finally:
        await app.state.engine.dispose()
    assert r.status_code == 422 and "169.254.0.0/16" in r.json()["errors"][0]["msg"]
    assert put.status_code == 422 and put.json()["errors"][0]["loc"] == ["body", "url"]
    assert await _count(sessions) == before


async def test_only_admins_manage_channels(client, token_for):
    for user in ("cgzf_lead", "sd", "gw01"):
        assert (await client.get("/api/v1/notification-channels",
                                 headers=token_for(user))).status_code == 403
        assert (await client.post("/api/v1/notification-channels", headers=token_for(user),
                                  json=ROBOT)).status_code == 403


async def test_secrets_are_sealed_at_rest_and_never_shown(client, token_for, sessions):
    r = await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
        "kind": "dingtalk", "name": "钉钉群", "jurisdiction": "BH01",
        "url": "https://oapi.dingtalk.com/robot/send?access_token=tok-abc",
        "secret": "SECsigning"})
    assert r.status_code == 201, r.text
    shown = r.json()
    assert shown["endpoint"] == "https://oapi.dingtalk.com/robot/send"
    assert shown["configured"] is True and shown["jurisdiction"] == "BH01"
    listed = (await client.get("/api/v1/notification-channels", headers=token_for("admin"))).text
    for secret in ("tok-abc", "SECsigning"):
        assert secret not in listed
    async with sessions() as session:
        stored = await session.get_one(NotificationChannel, shown["id"])
    assert stored.sealed.startswith("fernet:")
    assert "tok-abc" not in stored.sealed and "SECsigning" not in stored.sealed


async def test_the_demo_ships_an_unconfigured_robot_per_department(client, token_for):
    channels = (await client.get("/api/v1/notification-channels",
                                 headers=token_for("admin"))).json()
    demo = {c["department"]: c for c in channels if c["department"] and c["kind"] == "wecom"}
    assert {"CGZF", "HW", "SZ", "JJ"} <= set(demo)
    assert all(not c["configured"] and c["endpoint"] is None for c in demo.values())


async def test_a_test_send_goes_out_now(client, token_for, configure):
    robot = FakeWeComRobot("cgzf-key")
    sms = FakeAliyunSms("LTAI-t", "t-secret")
    async with serve(robot.app) as base, serve(sms.app) as sms_base:
        channel = await configure("CGZF", url=f"{base}/cgi-bin/webhook/send?key=cgzf-key")
        r = await client.post(f"/api/v1/notification-channels/{channel['id']}/test",
                              headers=token_for("admin"), json={})
        account = (await client.post("/api/v1/notification-channels", headers=token_for("admin"),
                                     json={"kind": "sms", "name": "短信", "jurisdiction": "BH",
                                           "url": f"{sms_base}/", "access_key_id": "LTAI-t",
                                           "access_key_secret": "t-secret", "sign_name": "滨海",
                                           "templates": {"default": "SMS_9"}})).json()
        texted = await client.post(f"/api/v1/notification-channels/{account['id']}/test",
                                   headers=token_for("admin"), json={"phone": "13600004444"})
    assert r.json()["ok"] is True and robot.to("cgzf-key")[0].startswith("【测试消息】")
    assert texted.json()["ok"] is True and sms.sent[0]["PhoneNumbers"] == "13600004444"
