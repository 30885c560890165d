"""Local fake providers speaking each channel's published wire format, with its checks:
the 企业微信 robot's key, the 钉钉 robot's signed timestamp, Alibaba Cloud SMS's signature
V1. They verify independently of the app's code (their own canonicalisation), answer
with the providers' error codes, and keep what they accepted.

They listen on loopback in this engineer's port range (18700-18799)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PORTS = range(18700, 18800)


@contextlib.asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    """Run ``app`` on the first free port of ``PORTS``; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for port in PORTS:
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            continue
    else:
        raise RuntimeError("no free port in 18700-18799")
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


class FakeWeComRobot:
    """企业微信群机器人: ``POST /cgi-bin/webhook/send?key=…`` with a text message; one
    server stands for the robots of every key in ``keys``."""

    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)
        self.messages: list[tuple[str, str]] = []  # (key, content)
        self.app = Starlette(routes=[Route("/cgi-bin/webhook/send", self.send,
                                           methods=["POST"])])

    async def send(self, request: Request) -> JSONResponse:
        key = request.query_params.get("key", "")
        if key not in self.keys:
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = json.loads(await request.body())
        if body.get("msgtype") != "text" or not body.get("text", {}).get("content"):
            return JSONResponse({"errcode": 40008, "errmsg": "invalid message type"})
        self.messages.append((key, body["text"]["content"]))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    def to(self, key: str) -> list[str]:
        return [content for k, content in self.messages if k == key]


class FakeDingTalkRobot:
    """钉钉自定义机器人 in signed mode: ``timestamp`` within an hour of its clock, ``sign`` =
    base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""

    def __init__(self, token: str, secret: str, now: Callable[[], datetime]) -> None:
        self.token, self.secret, self.now = token, secret, now
        self.messages: list[str] = []
        self.refused: list[str] = []
        self.app = Starlette(routes=[Route("/robot/send", self.send, methods=["POST"])])

    async def send(self, request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("access_token") != self.token:
            return JSONResponse({"errcode": 300001, "errmsg": "token is not exist"})
        timestamp = q.get("timestamp", "")
        expected = base64.b64encode(hmac.new(
            self.secret.encode(), f"{timestamp}\n{self.secret}".encode(),
            hashlib.sha256).digest()).decode()
        fresh = timestamp.isdigit() and abs(
            int(timestamp) / 1000 - self.now().timestamp()) < 3600
        if not fresh or not hmac.compare_digest(q.get("sign", ""), expected):
            self.refused.append(timestamp)
            return JSONResponse({"errcode": 310000, "errmsg": "sign not match"})
        body = json.loads(await request.body())
        self.messages.append(body["text"]["content"])
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


def _enc(value: str) -> str:
    return quote(value, safe="~")


class FakeAliyunSms:
    """dysmsapi SendSms, RPC style: checks the signature V1 (HMAC-SHA1 with
    "<AccessKeySecret>&" over "POST&%2F&<encoded sorted query>"), refuses replayed nonces,
    and answers 500 for the first ``failures`` well-signed requests."""

    REQUIRED = ("AccessKeyId", "Action", "Format", "PhoneNumbers", "SignName",
                "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode",
                "TemplateParam", "Timestamp", "Version")

    def __init__(self, access_key_id: str, access_key_secret: str, *, failures: int = 0) -> None:
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self.failures = failures
        self.nonces: set[str] = set()
        self.sent: list[dict[str, str]] = []  # accepted requests' parameters
        self.refused: list[str] = []
        self.app = Starlette(routes=[Route("/", self.send, methods=["POST"])])

    def _signature(self, params: dict[str, str]) -> str:
        canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
        to_sign = f"POST&{_enc('/')}&{_enc(canonical)}"
        return base64.b64encode(hmac.new(f"{self.access_key_secret}&".encode(),
                                         to_sign.encode(), hashlib.sha1).digest()).decode()

    async def send(self, request: Request) -> JSONResponse:
        params = dict(await request.form())
        signature = params.pop("Signature", "")
        missing = [p for p in self.REQUIRED if p not in params]
        if missing:
            return JSONResponse({"Code": "MissingParameter", "Message": str(missing)}, 400)
        if params["AccessKeyId"] != self.access_key_id:
            return JSONResponse({"Code": "InvalidAccessKeyId.NotFound"}, 404)
        if not hmac.compare_digest(signature, self._signature(params)):
            self.refused.append(params["SignatureNonce"])
            return JSONResponse({"Code": "SignatureDoesNotMatch",
                                 "Message": "Specified signature is not matched"}, 400)
        if params["SignatureNonce"] in self.nonces:
            return JSONResponse({"Code": "SignatureNonceUsed"}, 400)
        self.nonces.add(params["SignatureNonce"])
        if self.failures > 0:
            self.failures -= 1
            return JSONResponse({"Code": "InternalError"}, 500)
        self.sent.append(params)
        return JSONResponse({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0",
                             "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"})
