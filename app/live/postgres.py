"""The PostgreSQL broker: LISTEN/NOTIFY across every API process on one database.

Each process keeps one asyncpg connection of its own (outside the pool, which hands its
connections to requests) that LISTENs on ``CHANNEL``. Events committed in this process
are NOTIFYed on it after the commit, in batches: a NOTIFY inside the change's own
transaction would take PostgreSQL's global notify lock at every commit and serialise all
writers (measured: claims at ~40% of their speed without it). Processes that run no
broker (the worker, commands) NOTIFY inside their transactions instead; see ``publish``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.live.broker import (
    CHANNEL,
    Broker,
    QueueEvent,
    decode_events,
    register_notifier,
    unregister_notifier,
)

log = logging.getLogger(__name__)

# NOTIFY payloads must stay under 8000 bytes; an event is ~170 bytes of JSON.
MAX_PAYLOAD_BYTES = 7000


def batches(events: list[QueueEvent]) -> list[str]:
    """JSON arrays of events, each small enough for one NOTIFY."""
    payloads: list[str] = []
    current: list[str] = []
    size = 2
    for encoded in (e.to_json() for e in events):
        if current and size + len(encoded) + 1 > MAX_PAYLOAD_BYTES:
            payloads.append("[" + ",".join(current) + "]")
            current, size = [], 2
        current.append(encoded)
        size += len(encoded) + 1
    if current:
        payloads.append("[" + ",".join(current) + "]")
    return payloads


class PostgresBroker(Broker):
    def __init__(self, dsn: str, *, database_key: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self._dsn = dsn
        self._database_key = database_key
        self._channel = channel
        self._connection: Any = None
        self._outgoing: list[QueueEvent] = []
        self._outgoing_ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._connect()
        self._sender = asyncio.get_running_loop().create_task(self._send_forever())
        register_notifier(self._database_key, self)

    async def stop(self) -> None:
        unregister_notifier(self._database_key, self)
        self._stopping = True
        for task in (self._sender, self._reconnecting):
            if task is not None:
                task.cancel()
        await self._send_outgoing()  # what was committed before the shutdown still goes out
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()
        await super().stop()

    # --- sending: events committed in this process ---------------------------------------

    def send(self, events: list[QueueEvent]) -> None:
        """Queue committed events for NOTIFY (called from the session's after-commit)."""
        self._outgoing.extend(events)
        self._outgoing_ready.set()

    async def _send_forever(self) -> None:
        while True:
            await self._outgoing_ready.wait()
            self._outgoing_ready.clear()
            await self._send_outgoing()

    async def _send_outgoing(self) -> None:
        events, self._outgoing = self._outgoing, []
        for payload in batches(events):
            try:
                await self._connection.execute("SELECT pg_notify($1, $2)", self._channel,
                                               payload)
            except Exception as exc:  # a lost connection closes every stream: clients reload
                log.warning("could not NOTIFY %d bytes of queue events: %s", len(payload), exc)

    # --- listening: events committed anywhere --------------------------------------------

    async def _connect(self) -> None:
        import asyncpg  # only PostgreSQL deployments need the driver loaded here

        connection = await asyncpg.connect(self._dsn)
        await connection.add_listener(self._channel, self._on_notify)
        connection.add_termination_listener(self._on_lost)
        self._connection = connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        text = str(payload)  # a NOTIFY payload is text; asyncpg's listener type says object
        try:
            events = decode_events(text)
        except (ValueError, TypeError):
            log.warning("ignoring a malformed %s payload: %r", self._channel, text[:200])
            return
        for event in events:
            self.dispatch(event)

    def _on_lost(self, _connection: Any) -> None:
        if self._stopping:
            return
        # What was NOTIFYed while nobody listened is gone: make every client reload.
        self.close_all("the live connection was lost; reconnect and reload the queue")
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.5
        while not self._stopping:
            try:
                await self._connect()
                log.info("live queue listener reconnected")
                return
            except Exception as exc:  # asyncpg raises many kinds while PostgreSQL restarts
                log.warning("live queue listener reconnect failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
