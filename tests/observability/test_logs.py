"""Log lines: JSON or console, with the request's id; credentials never in any line,
uvicorn's access log included."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from app.observability.logs import make_formatter, redact
from app.observability.requests import RequestObserver


@pytest.mark.parametrize("line", [
    "GET /api/v1/departments/CGZF/queue/stream?ticket=eyJhbGciOi.x.y HTTP/1.1",
    "GET /open311/v2/requests.json?api_key=k-123&x=1",
    "GET /p?access_token=abc&refresh_token=def",
    "headers: {'Authorization': 'Bearer eyJhbGciOi.x.y'}",
    "headers: {'x-api-key': 'whk_live_0123'}",
])
def test_credentials_are_redacted(line):
    cleaned = redact(line)
    for secret in ("eyJhbGciOi", "k-123", "abc", "def", "whk_live_0123"):
        assert secret not in cleaned
    assert "***" in cleaned


def _capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(fmt))
    logger = logging.getLogger(f"test.whistle.{fmt}")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    return logger, stream


def test_uvicorn_access_lines_lose_their_query_secrets():
    logger, stream = _capture("json")
    # uvicorn's access logger formats its line from these arguments.
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                "/api/v1/departments/CGZF/queue/stream?ticket=SECRET-TICKET", "1.1", 200)
    line = json.loads(stream.getvalue())
    assert "SECRET-TICKET" not in stream.getvalue()
    assert "ticket=***" in line["event"] and line["level"] == "info"


def test_console_lines_are_plain_text():
    logger, stream = _capture("console")
    logger.info("worker pass", extra={"webhook_attempts": 3})
    text = stream.getvalue()
    assert "worker pass" in text and "webhook_attempts=3" in text and not text.startswith("{")


async def test_the_request_id_is_taken_or_made_and_returned_and_logged():
    seen = {}

    async def endpoint(scope, receive, send):
        logging.getLogger("whistle.test").warning("inside")
        seen["ok"] = True
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestObserver(endpoint)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    watched = [logging.getLogger("whistle.test"), logging.getLogger("whistle.request")]
    for logger in watched:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            given = await client.get("/x", headers={"X-Request-ID": "req-42"})
            made = await client.get("/x", headers={"X-Request-ID": "bad id\twith spaces"})
    finally:
        for logger in watched:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
    assert given.headers["x-request-id"] == "req-42"
    assert made.headers["x-request-id"] != "bad id\twith spaces"
    assert len(made.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    inside = [line for line in lines if line["event"] == "inside"]
    assert [line["request_id"] for line in inside] == ["req-42", made.headers["x-request-id"]]
    requests = [line for line in lines if line["event"] == "request"]
    assert requests[0]["status"] == 204 and requests[0]["route"] == "unmatched"
