"""The wire formats of the channels, each as its provider publishes it.

    Provider                 what it sends
    ├── WeComRobot           企业微信群机器人: POST {"msgtype": "text", ...} to the webhook URL
    │                        (its ``key`` is the secret); answers {"errcode": 0, ...}
    ├── DingTalkRobot        钉钉自定义机器人, signed-timestamp mode: ``timestamp`` (ms) and
    │                        ``sign`` = urlencode(base64(HMAC-SHA256(secret,
    │                        "<timestamp>\\n<secret>"))) added to the URL; errcode as WeCom
    └── AliyunSms            阿里云短信 SendSms, RPC style with signature V1: every parameter
                             percent-encoded (RFC 3986), sorted, joined, and signed with
                             HMAC-SHA1 under "<AccessKeySecret>&" over
                             "POST&%2F&<percent-encoded query>"; answers {"Code": "OK", ...}

A provider gets the channel's opened secrets and options and the message, and returns an
``Outcome``; it never raises for a provider's refusal. Robots and the SMS API answer HTTP
200 with an error code in the body, which counts as a failure (and is retried).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

import httpx

from app.notifications.messages import Message, render, template_params
from app.webhooks.targets import IPNetwork, resolve

MAX_ERROR_CHARS = 500
ALIYUN_SMS_ENDPOINT = "https://dysmsapi.aliyuncs.com/"


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: what, to whom (a phone for SMS) and its notification id."""

    kind: str
    message: Message
    count: int
    notification_id: int
    phone: str | None = None


class Provider(Protocol):
    async def send(self, http: httpx.AsyncClient, *, secrets: dict[str, str],
                   options: dict[str, Any], outgoing: Outgoing, now: datetime,
                   blocked: Sequence[IPNetwork]) -> Outcome: ...


async def _post(http: httpx.AsyncClient, url: str, blocked: Sequence[IPNetwork],
                **kwargs: Any) -> tuple[int, Any]:
    target = await resolve(url, blocked)  # never the service's own machine (as webhooks)
    response = await target.post(http, follow_redirects=False, **kwargs)
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


async def _attempt(call) -> Outcome:
    started = time.perf_counter()
    try:
        status_code, error = await call()
    except Exception as exc:  # refused, timed out, blocked, unsealable: all count as failed
        status_code, error = None, f"{type(exc).__name__}: {exc}"
    return Outcome(status_code, error[:MAX_ERROR_CHARS] if error else None,
                   int((time.perf_counter() - started) * 1000))


def _robot_error(status_code: int, body: Any) -> str | None:
    if not 200 <= status_code < 300:
        return f"HTTP {status_code}"
    if not isinstance(body, dict) or body.get("errcode") != 0:
        code = body.get("errcode") if isinstance(body, dict) else None
        message = body.get("errmsg") if isinstance(body, dict) else None
        return f"errcode {code}: {message}"
    return None


def _text_body(outgoing: Outgoing) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": render(outgoing.message,
                                                         count=outgoing.count)}}


class WeComRobot:
    async def send(self, http, *, secrets, options, outgoing, now, blocked) -> Outcome:
        body = _text_body(outgoing)
        if options.get("mentioned_mobile_list"):
            body["text"]["mentioned_mobile_list"] = list(options["mentioned_mobile_list"])

        async def call():
            status_code, answer = await _post(http, secrets["url"], blocked, json=body)
            return status_code, _robot_error(status_code, answer)
        return await _attempt(call)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉加签: the ``sign`` query value (already URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkRobot:
    async def send(self, http, *, secrets, options, outgoing, now, blocked) -> Outcome:
        body = _text_body(outgoing)
        if options.get("at_mobiles"):
            body["at"] = {"atMobiles": list(options["at_mobiles"])}
        timestamp = int(now.timestamp() * 1000)
        separator = "&" if "?" in secrets["url"] else "?"
        url = (f"{secrets['url']}{separator}timestamp={timestamp}"
               f"&sign={dingtalk_sign(secrets['secret'], timestamp)}")

        async def call():
            status_code, answer = await _post(http, url, blocked, json=body)
            return status_code, _robot_error(status_code, answer)
        return await _attempt(call)


def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba Cloud's signature wants it: only A-Z a-z 0-9 - _ . ~ stay."""
    return quote(value, safe="~")


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def aliyun_signature(method: str, params: dict[str, str], access_key_secret: str) -> str:
    """Signature V1: base64(HMAC-SHA1("<secret>&", StringToSign))."""
    digest = hmac.new(f"{access_key_secret}&".encode(),
                      aliyun_string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def aliyun_sms_params(*, access_key_id: str, phone: str, sign_name: str, template_code: str,
                      template_param: dict[str, str], out_id: str, now: datetime,
                      nonce: str, region: str = "cn-hangzhou") -> dict[str, str]:
    return {
        "AccessKeyId": access_key_id, "Action": "SendSms", "Format": "JSON",
        "OutId": out_id,  # the notification id: what the provider's records dedupe on
        "PhoneNumbers": phone, "RegionId": region, "SignName": sign_name,
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce, "SignatureVersion": "1.0",
        "TemplateCode": template_code,
        "TemplateParam": json.dumps(template_param, ensure_ascii=False,
                                    separators=(",", ":")),
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
    }


class AliyunSms:
    """Alibaba Cloud SMS (dysmsapi 2017-05-25 SendSms). Options: ``sign_name`` and
    ``templates`` (notification kind → template code, ``default`` for the others)."""

    async def send(self, http, *, secrets, options, outgoing, now, blocked) -> Outcome:
        templates = options.get("templates") or {}
        params = aliyun_sms_params(
            access_key_id=secrets["access_key_id"], phone=outgoing.phone or "",
            sign_name=options.get("sign_name", ""),
            template_code=templates.get(outgoing.kind) or templates.get("default", ""),
            template_param=template_params(outgoing.message, count=outgoing.count),
            out_id=str(outgoing.notification_id), now=now, nonce=str(uuid.uuid4()),
            region=options.get("region", "cn-hangzhou"))
        params["Signature"] = aliyun_signature("POST", params, secrets["access_key_secret"])

        async def call():
            status_code, answer = await _post(http, secrets.get("url") or ALIYUN_SMS_ENDPOINT,
                                              blocked, data=params)
            if isinstance(answer, dict) and answer.get("Code") == "OK":
                return status_code, None
            if isinstance(answer, dict) and answer.get("Code"):
                return status_code, f"{answer.get('Code')}: {answer.get('Message')}"
            return status_code, f"HTTP {status_code}"
        return await _attempt(call)


PROVIDERS: dict[str, Provider] = {"wecom": WeComRobot(), "dingtalk": DingTalkRobot(),
                                  "sms": AliyunSms()}
