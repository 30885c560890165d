"""gzip for big responses when the client asks (app.compression): the matrix goes
compressed to a browser and plain to a client that does not ask; a small body is never
compressed; a live stream is never held in a compressor's buffer."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from app.compression import MINIMUM_SIZE
from tests.live.sse import Stream
from tests.live.test_stream import STREAM, instance, item_of, post_ticket

pytestmark = pytest.mark.usefixtures("reference")

GZIP = {"Accept-Encoding": "gzip, deflate"}
PLAIN = {"Accept-Encoding": "identity"}


async def _raw(client, path: str, headers: dict) -> httpx.Response:
    """The response with its body as sent (httpx would decode a gzip body)."""
    async with client.stream("GET", path, headers=headers) as r:
        r.sent = b"".join([chunk async for chunk in r.aiter_raw()])
    return r


async def test_a_big_response_is_gzipped_when_asked_and_not_otherwise(client, token_for):
    me = token_for("gw01")
    plain = await _raw(client, "/api/v1/matrix", {**me, **PLAIN})
    packed = await _raw(client, "/api/v1/matrix", {**me, **GZIP})
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers and len(plain.sent) > MINIMUM_SIZE
    assert packed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert gzip.decompress(packed.sent) == plain.sent
    assert len(packed.sent) < len(plain.sent) / 4
    assert int(packed.headers["content-length"]) == len(packed.sent)


async def test_no_accept_encoding_means_no_compression(client, token_for):
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as bare:
        request = bare.build_request("GET", "/api/v1/matrix", headers=token_for("gw01"))
        del request.headers["accept-encoding"]  # as wrk and curl send it: no header at all
        r = await bare.send(request, stream=True)
        sent = b"".join([chunk async for chunk in r.aiter_raw()])
        await r.aclose()
    assert r.status_code == 200 and "content-encoding" not in r.headers
    assert sent.startswith(b"{")


async def test_a_small_response_is_not_compressed_even_when_asked(client, token_for):
    r = await _raw(client, "/api/v1/auth/me", {**token_for("gw01"), **GZIP})
    assert r.status_code == 200 and len(r.sent) < MINIMUM_SIZE
    assert "content-encoding" not in r.headers


async def test_a_live_stream_asked_for_gzip_is_sent_plain_and_unbuffered(
        settings, clock, client, token_for, matrix_items):
    async with instance(settings, clock) as base, \
            httpx.AsyncClient(base_url=base, timeout=10) as http, \
            http.stream("GET", STREAM.format(code="CGZF"),
                        headers={**token_for("cgzf_staff"), **GZIP}) as response:
        assert response.status_code == 200, await response.aread()
        assert "content-encoding" not in response.headers
        stream = Stream(response)
        try:
            # Each event arrives on its own while the stream stays open: nothing holds it.
            assert (await stream.next()).comments == ["connected"]
            posted = await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
            event = await stream.next_named()
            assert event.event == "new" and event.json["ticket_id"] == posted["id"]
        finally:
            await stream.close()


async def test_the_notifications_stream_asked_for_gzip_is_sent_plain(settings, clock, token_for):
    async with instance(settings, clock) as base, \
            httpx.AsyncClient(base_url=base, timeout=10) as http, \
            http.stream("GET", "/api/v1/notifications/live",
                        headers={**token_for("hw_lead"), **GZIP}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        # The greeting arrives while the stream stays open (for the token's lifetime).
        first = await asyncio.wait_for(anext(response.aiter_lines()), 5)
        assert first.startswith("retry:")
