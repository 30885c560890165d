"""Brokers carry queue events from the transaction that made them to the open streams.

    Broker                  the fan-out to this process's subscribers (one per open stream)
    ├── InProcessBroker     events published by this process after commit (SQLite: one process)
    └── PostgresBroker      events NOTIFYed by any process inside its transaction, received
                            here on one dedicated LISTEN connection per process

Either way a subscriber sees only committed changes. Events are hints to refresh, not a
log: a stream that falls behind, or a LISTEN connection that drops, closes its streams
so that clients reconnect and reload the queue instead of missing changes silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "whistle_queue"
MAX_BACKLOG = 1000  # events a slow stream may fall behind before it is closed


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A change to a department's queue: small enough for a NOTIFY payload."""

    event_id: int
    kind: str
    ticket_id: int
    department_id: int
    street_id: int
    community_id: int
    grid_id: int
    status: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> QueueEvent:
        return cls(**json.loads(raw))


class StreamClosed(Exception):
    """The broker closed the subscription (shutdown, overflow, lost connection)."""


class Subscription:
    """One stream's inbox of one department's events."""

    def __init__(self, department_id: int, *, max_backlog: int = MAX_BACKLOG) -> None:
        self.department_id = department_id
        self._items: deque[QueueEvent] = deque()
        self._wakeup = asyncio.Event()
        self._max_backlog = max_backlog
        self.closed_reason: str | None = None

    def push(self, event: QueueEvent) -> None:
        if self.closed_reason is not None:
            return
        if len(self._items) >= self._max_backlog:
            self.close("the stream fell too far behind; reload the queue")
            return
        self._items.append(event)
        self._wakeup.set()

    def close(self, reason: str) -> None:
        if self.closed_reason is None:
            self.closed_reason = reason
            self._items.clear()
        self._wakeup.set()

    async def next(self, wait_seconds: float) -> QueueEvent | None:
        """The next event, or None after ``wait_seconds`` without one."""
        if not self._items and self.closed_reason is None:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait_seconds)
            except TimeoutError:
                return None
        if self.closed_reason is not None:
            raise StreamClosed(self.closed_reason)
        return self._items.popleft() if self._items else None


class Broker:
    """The subscribers of this process, by department; subclasses feed ``dispatch``."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscription]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.close_all("the server is shutting down")

    def subscribe(self, department_id: int) -> Subscription:
        subscription = Subscription(department_id)
        self._subscribers.setdefault(department_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.department_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.department_id]

    def dispatch(self, event: QueueEvent) -> None:
        for subscription in tuple(self._subscribers.get(event.department_id, ())):
            subscription.push(event)
            if subscription.closed_reason is not None:
                self.unsubscribe(subscription)

    def close_all(self, reason: str) -> None:
        for subscribers in tuple(self._subscribers.values()):
            for subscription in tuple(subscribers):
                subscription.close(reason)
        self._subscribers.clear()

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())


# In-process brokers by database URL: a commit in this process reaches every in-process
# broker of the same database (several app instances in one process, as in tests).
_local_brokers: dict[str, set[InProcessBroker]] = {}


class InProcessBroker(Broker):
    def __init__(self, database_key: str) -> None:
        super().__init__()
        self.database_key = database_key

    async def start(self) -> None:
        _local_brokers.setdefault(self.database_key, set()).add(self)

    async def stop(self) -> None:
        _local_brokers.get(self.database_key, set()).discard(self)
        await super().stop()


def database_key_of(engine: Any) -> str:
    """Which database an engine talks to (the URL; also what the LISTEN connection uses)."""
    return engine.url.render_as_string(hide_password=False)


def publish_locally(database_key: str, events: list[QueueEvent]) -> None:
    """Hand committed events to this process's in-process brokers of that database."""
    for broker in tuple(_local_brokers.get(database_key, ())):
        for event in events:
            broker.dispatch(event)


class PostgresBroker(Broker):
    """LISTENs on ``CHANNEL`` over one asyncpg connection of its own (outside the pool: a
    pooled connection would be handed to requests). Reconnects with backoff if it drops."""

    def __init__(self, dsn: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self._dsn = dsn
        self._channel = channel
        self._connection: Any = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        import asyncpg  # only PostgreSQL deployments need the driver loaded here

        connection = await asyncpg.connect(self._dsn)
        await connection.add_listener(self._channel, self._on_notify)
        connection.add_termination_listener(self._on_lost)
        self._connection = connection

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = QueueEvent.from_json(payload)
        except (ValueError, TypeError):
            log.warning("ignoring a malformed %s payload: %r", self._channel, payload[:200])
            return
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

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()
        await super().stop()
