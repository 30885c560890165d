"""Brokers carry queue events from the transaction that made them to the open streams.

    Broker                  the fan-out to this process's subscribers (one per open stream)
    ├── InProcessBroker     SQLite: events committed by this process, handed over in-process
    └── PostgresBroker      (app.live.postgres) one LISTEN connection per process; events
                            committed anywhere arrive as NOTIFY payloads

Either way a subscriber sees only committed changes. Events are hints to refresh, not a
log: a stream that falls behind, or a LISTEN connection that drops, closes its streams
so that clients reconnect and reload the queue instead of missing changes silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

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
        # Field by field: ``asdict`` deep-copies, and this runs for every queue event.
        return json.dumps({f: getattr(self, f) for f in self.__slots__}, separators=(",", ":"))


def decode_events(raw: str) -> list[QueueEvent]:
    """A NOTIFY payload: one event (sent inside a transaction) or a list (sent in batches)."""
    decoded = json.loads(raw)
    return [QueueEvent(**e) for e in (decoded if isinstance(decoded, list) else [decoded])]


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
        self._shut_reason: str | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.close_all("the server is shutting down")

    def subscribe(self, department_id: int) -> Subscription:
        subscription = Subscription(department_id)
        if self._shut_reason is not None:
            subscription.close(self._shut_reason)
            return subscription
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

    def shut(self, reason: str) -> None:
        """Close every stream, and every one subscribed from now on."""
        self._shut_reason = reason
        self.close_all(reason)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())


# The running brokers of this process, by database URL. A commit in this process reaches
# every in-process broker of its database (several app instances in one process, as in
# tests), or is handed to one PostgreSQL broker to NOTIFY every process.
_in_process: dict[str, set[InProcessBroker]] = {}
_notifiers: dict[str, list[Notifier]] = {}


class Notifier(Protocol):
    def send(self, events: list[QueueEvent]) -> None: ...


def database_key_of(engine: Any) -> str:
    """Which database an engine talks to: its URL."""
    return _rendered(engine.url)


@lru_cache(maxsize=64)
def _rendered(url: Any) -> str:  # asked for every queue event: render each URL once
    return url.render_as_string(hide_password=False)


def has_notifier(database_key: str) -> bool:
    return bool(_notifiers.get(database_key))


def register_notifier(database_key: str, notifier: Notifier) -> None:
    _notifiers.setdefault(database_key, []).append(notifier)


def unregister_notifier(database_key: str, notifier: Notifier) -> None:
    if notifier in _notifiers.get(database_key, []):
        _notifiers[database_key].remove(notifier)


def publish_committed(database_key: str, events: list[QueueEvent]) -> None:
    """Hand events whose transaction has committed to this process's brokers."""
    for broker in tuple(_in_process.get(database_key, ())):
        for event in events:
            broker.dispatch(event)
    notifiers = _notifiers.get(database_key)
    if notifiers:
        notifiers[0].send(events)  # one NOTIFY reaches every listening process, this one too


class InProcessBroker(Broker):
    def __init__(self, database_key: str) -> None:
        super().__init__()
        self.database_key = database_key

    async def start(self) -> None:
        _in_process.setdefault(self.database_key, set()).add(self)

    async def stop(self) -> None:
        _in_process.get(self.database_key, set()).discard(self)
        await super().stop()
