"""Every way of not reaching the database answers 503 problem+json with Retry-After, keeps
the client's connection open and logs one line: never a 500."""

from __future__ import annotations

import logging

import httpx
import pytest

from app.main import create_app
from tests.fake_postgres import KINDS, failing_postgres
from tests.live.serving import serve


def _client_port(response: httpx.Response) -> int:
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


async def _assert_outage_answers(base_url: str, headers: dict[str, str], caplog) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as c:
        caplog.clear()
        first = await c.get("/api/v1/tickets", headers=headers)
        assert first.status_code == 503, first.text
        assert first.headers["content-type"].startswith("application/problem+json")
        assert first.headers["Retry-After"] == "1"
        body = first.json()
        assert body["status"] == 503 and body["type"].endswith("/database-unavailable")
        assert "retry" in body["detail"]
        lines = [r for r in caplog.records if r.name == "whistle.errors"]
        assert len(lines) == 1 and lines[0].levelno == logging.WARNING and not lines[0].exc_info
        second = await c.get("/api/v1/tickets", headers=headers)
        assert second.status_code == 503
        assert _client_port(second) == _client_port(first), "the server dropped the connection"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_database_that_cannot_be_reached_answers_503(kind, settings, clock, token_for,
                                                             caplog):
    async with failing_postgres(kind) as url:
        outage = settings.model_copy(update={"database_url": url, "database_connect_timeout": 0.5})
        app = create_app(outage, clock=clock)
        try:
            async with serve(app, lifespan="off") as base_url:
                await _assert_outage_answers(base_url, token_for("admin"), caplog)
        finally:
            await app.state.engine.dispose()


async def test_a_connection_lost_mid_request_answers_503_on_the_same_connection(
        settings, clock, is_postgres, token_for, kill_pooled_connection, caplog):
    if not is_postgres:
        pytest.skip("needs a server whose connection can be killed: PostgreSQL")
    app = create_app(settings.model_copy(update={"database_pool_size": 1,
                                                 "database_max_overflow": 0}), clock=clock)
    headers = token_for("admin")
    try:
        async with serve(app, lifespan="off") as base_url, \
                httpx.AsyncClient(base_url=base_url) as c:
            ok = await c.get("/api/v1/tickets", headers=headers)
            assert ok.status_code == 200
            await kill_pooled_connection(app)
            caplog.clear()
            lost = await c.get("/api/v1/tickets", headers=headers)
            assert lost.status_code == 503 and lost.headers["Retry-After"] == "1", lost.text
            assert len([r for r in caplog.records if r.name == "whistle.errors"]) == 1
            again = await c.get("/api/v1/tickets", headers=headers)
            assert again.status_code == 200
            assert _client_port(again) == _client_port(ok)
    finally:
        await app.state.engine.dispose()


async def test_a_connection_closed_while_it_is_set_up_answers_503_and_misuse_does_not(
        settings, clock):
    # SQLAlchemy's on-connect step (asyncpg's JSON codec) meets a connection cut under it
    # and raises asyncpg's own InterfaceError, unwrapped: an outage, as a refused socket is.
    from asyncpg.exceptions import InterfaceError

    from app.errors import database_outage

    closed = InterfaceError("connection is closed")
    misuse = InterfaceError("cannot perform operation: another operation is in progress")
    assert database_outage(closed) is closed and database_outage(misuse) is None
    app = create_app(settings, clock=clock)

    @app.get("/test-only/{what}")
    async def fail(what: str):
        raise closed if what == "closed" else misuse

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        outage = await c.get("/test-only/closed")
        assert outage.status_code == 503 and outage.headers["Retry-After"] == "1"
        assert (await c.get("/test-only/misuse")).status_code == 500
    await app.state.engine.dispose()
