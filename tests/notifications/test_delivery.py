"""Sending: retried with backoff until the provider takes it, once; a wrong signature is
refused by the provider (so the signing is really checked); every attempt is in the log
admins read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.notifications.delivery import backoff
from app.notifications.providers import aliyun_signature, aliyun_string_to_sign, dingtalk_sign
from tests.notifications.fakes import FakeAliyunSms, FakeDingTalkRobot, serve
from tests.sla.support import act, post, street_item_of

pytestmark = pytest.mark.usefixtures("reference")


def test_the_rpc_signature_matches_alibaba_clouds_documented_example():
    # The signature mechanism's published example (DescribeRegions, testid / testsecret).
    params = {"TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
              "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "Version": "2014-05-26", "SignatureVersion": "1.0"}
    assert aliyun_string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z"
        "%26Version%3D2014-05-26")
    assert aliyun_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_the_dingtalk_sign_is_the_url_encoded_hmac_of_timestamp_and_secret():
    import base64
    import hashlib
    import hmac
    from urllib.parse import unquote_plus

    digest = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    assert unquote_plus(dingtalk_sign("SECabc", 1700000000000)) == \
        base64.b64encode(digest).decode()
    assert not set("+/=") & set(dingtalk_sign("SECabc", 1700000000000))  # URL-encoded


async def _whistle_hw(client, token_for, matrix_items) -> dict:
    ticket = await post(client, token_for, street_item_of(matrix_items, "CGZF"))
    await act(client, token_for, "sd", ticket["id"], "whistle", {"departments": ["HW"]})
    return ticket


async def _sms_channel(client, token_for, base: str, secret: str) -> dict:
    await client.put("/api/v1/notifications/preferences", headers=token_for("hw_lead"),
                     json={"phone": "13700003333"})
    r = await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
        "kind": "sms", "name": "环卫所短信", "department": "HW", "url": f"{base}/",
        "access_key_id": "LTAI-hw", "access_key_secret": secret, "sign_name": "环卫所",
        "templates": {"default": "SMS_1"}})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_provider_failing_twice_gets_the_message_once(client, token_for, matrix_items,
                                                              clock, deliver):
    fake = FakeAliyunSms("LTAI-hw", "hw-secret", failures=2)
    async with serve(fake.app) as base:
        channel = await _sms_channel(client, token_for, base, "hw-secret")
        await _whistle_hw(client, token_for, matrix_items)
        assert await deliver() == 1  # 500
        clock.advance(backoff(1))
        assert await deliver() == 1  # 500
        clock.advance(backoff(2) - timedelta(seconds=1))
        assert await deliver() == 0  # not due yet
        clock.advance(timedelta(seconds=1))
        assert await deliver() == 1  # accepted
        clock.advance(timedelta(hours=3))
        assert await deliver() == 0
    assert len(fake.sent) == 1 and len(fake.nonces) == 3
    log = (await client.get("/api/v1/notification-deliveries",
                            params={"channel_id": channel["id"]},
                            headers=token_for("admin"))).json()
    assert [(a["attempt"], a["status_code"], a["status"]) for a in log] == [
        (3, 200, "delivered"), (2, 500, "delivered"), (1, 500, "delivered")]
    assert log[1]["error"] == "InternalError: None"
    assert len({a["notification_id"] for a in log}) == 1
    assert (await client.get("/api/v1/notification-deliveries",
                             headers=token_for("hw_lead"))).status_code == 403


async def test_a_wrong_sms_signature_is_refused_by_the_provider(client, token_for, matrix_items,
                                                                deliver):
    fake = FakeAliyunSms("LTAI-hw", "hw-secret")
    async with serve(fake.app) as base:
        channel = await _sms_channel(client, token_for, base, "not-the-secret")
        await _whistle_hw(client, token_for, matrix_items)
        assert await deliver() == 1
    assert fake.sent == [] and len(fake.refused) == 1
    (attempt,) = (await client.get("/api/v1/notification-deliveries",
                                   params={"channel_id": channel["id"]},
                                   headers=token_for("admin"))).json()
    assert attempt["status_code"] == 400 and attempt["status"] == "pending"
    assert attempt["error"].startswith("SignatureDoesNotMatch")


async def test_a_wrong_dingtalk_secret_is_refused_by_the_robot(client, token_for, matrix_items,
                                                               clock, deliver):
    robot = FakeDingTalkRobot("hw-token", "SECright", clock.now)
    async with serve(robot.app) as base:
        r = await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
            "kind": "dingtalk", "name": "环卫所钉钉群", "department": "HW",
            "url": f"{base}/robot/send?access_token=hw-token", "secret": "SECwrong"})
        await _whistle_hw(client, token_for, matrix_items)
        assert await deliver() == 1
    assert robot.messages == [] and len(robot.refused) == 1
    (attempt,) = (await client.get("/api/v1/notification-deliveries",
                                   params={"channel_id": r.json()["id"]},
                                   headers=token_for("admin"))).json()
    assert attempt["error"] == "errcode 310000: sign not match"


async def test_a_channel_takes_no_more_than_its_rate_per_minute(client, token_for,
                                                                matrix_items, clock, deliver):
    from tests.notifications.fakes import FakeWeComRobot

    robot = FakeWeComRobot("hw-key")
    async with serve(robot.app) as base:
        await client.post("/api/v1/notification-channels", headers=token_for("admin"), json={
            "kind": "wecom", "name": "环卫所群", "department": "HW", "rate_per_minute": 2,
            "url": f"{base}/cgi-bin/webhook/send?key=hw-key", "kinds": ["whistle"]})
        for _ in range(3):
            await _whistle_hw(client, token_for, matrix_items)
        assert await deliver() == 2
        clock.advance(timedelta(seconds=30))
        assert await deliver() == 0  # the third waits for the minute to pass
        clock.advance(timedelta(seconds=31))
        assert await deliver() == 1
    assert len(robot.to("hw-key")) == 3
