"""A database "restart" under load (PostgreSQL): a proxy between the API and the database
cuts every connection and refuses new ones for half a second while clients post and claim
over a real HTTP server. Every failed request is a 503 (never a 500); clients retry; no
ticket is lost, none is posted twice, none is claimed twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, make_url, select

from app.main import create_app
from app.tickets.models import Ticket, TicketEvent
from tests.live.serving import serve

POSTERS, CLAIMERS, POSTS_EACH = 12, 6, 8


class CuttableProxy:
    """TCP between the app and PostgreSQL; ``cut()`` drops every connection and refuses new
    ones (as a restarting server does) until ``restore()``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.down = False
        self.cuts: list[int] = []  # connections dropped by each cut
        self.links: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc) -> None:
        self.cut()
        self.server.close()

    def cut(self) -> None:
        self.down = True
        self.cuts.append(len(self.links))
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    def restore(self) -> None:
        self.down = False

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self.links.discard(writer)


async def _until_answered(send, statuses: Counter) -> httpx.Response:
    for _ in range(200):
        r = await send()
        statuses[r.status_code] += 1
        if r.status_code != 503:
            return r
        assert r.headers["Retry-After"] == "1"
        await asyncio.sleep(0.05)
    raise AssertionError("the database never came back")


@pytest.mark.postgres_only
async def test_posts_and_claims_across_a_database_restart(settings, clock, is_postgres, token_for,
                                                          sessions, matrix_items, clear_queues):
    if not is_postgres:
        pytest.skip("a restart of PostgreSQL's connections")
    await clear_queues()
    item = next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.self_handle_allowed)
    marker = f"restart-{uuid.uuid4().hex[:8]}"
    database = urlsplit(settings.database_url.replace("+asyncpg", ""))
    statuses: Counter = Counter()
    posted: list[int] = []
    claimed: list[int] = []
    proxy = CuttableProxy(database.hostname, database.port or 5432)
    async with proxy as port:
        proxied = make_url(settings.database_url).set(host="127.0.0.1", port=port)
        proxied = proxied.render_as_string(hide_password=False)
        app = create_app(settings.model_copy(update={"database_url": proxied,
                                                     "database_connect_timeout": 2}), clock=clock)
        posting_done = asyncio.Event()
        try:
            async with serve(app, lifespan="off") as base_url, \
                    httpx.AsyncClient(base_url=base_url, timeout=30) as c:
                async def poster(n: int) -> None:
                    for k in range(POSTS_EACH):
                        key = f"{marker}-{n}-{k}"
                        r = await _until_answered(lambda key=key: c.post(
                            "/api/v1/tickets", headers={**token_for("gw01"), "Idempotency-Key": key},
                            json={"grid": "BH01-01", "item": item, "description": key}), statuses)
                        assert r.status_code in (200, 201), r.text
                        posted.append(r.json()["id"])

                async def claimer() -> None:
                    headers = token_for("cgzf_staff")
                    while True:
                        r = await _until_answered(lambda: c.post(
                            "/api/v1/departments/CGZF/queue/claim-next", headers=headers), statuses)
                        if r.status_code == 200:
                            claimed.append(r.json()["id"])
                        elif posting_done.is_set():
                            return
                        else:
                            await asyncio.sleep(0.02)

                async def restart() -> None:
                    await asyncio.sleep(0.3)
                    proxy.cut()
                    await asyncio.sleep(0.5)
                    proxy.restore()

                posters = asyncio.gather(*(poster(n) for n in range(POSTERS)))
                claimers = asyncio.gather(*(claimer() for _ in range(CLAIMERS)))
                await asyncio.gather(restart(), posters)
                posting_done.set()
                await claimers
        finally:
            await app.state.engine.dispose()

    assert statuses[500] == 0 and set(statuses) <= {200, 201, 204, 503}, statuses
    assert statuses[503] > 0, f"the cut failed no request, it tested nothing: {statuses} {proxy.cuts}"
    async with sessions() as session:
        rows = (await session.execute(select(Ticket.id, Ticket.description).where(
            Ticket.description.like(f"{marker}-%")))).all()
        claims = Counter(dict((await session.execute(
            select(TicketEvent.ticket_id, func.count()).where(
                TicketEvent.kind == "claim", TicketEvent.ticket_id.in_([r.id for r in rows]))
            .group_by(TicketEvent.ticket_id))).all()))
    assert len(rows) == POSTERS * POSTS_EACH == len({r.description for r in rows})  # none twice
    assert sorted(r.id for r in rows) == sorted(set(posted))  # none lost
    assert len(claimed) == len(set(claimed)) and max(claims.values(), default=1) == 1
    assert set(claimed) == {r.id for r in rows}  # every posted ticket claimed, once
