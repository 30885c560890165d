"""The broker's fan-out: per department, bounded, closed on shutdown."""

from __future__ import annotations

import pytest

from app.live.broker import (
    Broker,
    InProcessBroker,
    QueueEvent,
    StreamClosed,
    decode_events,
    publish_committed,
)
from app.live.postgres import MAX_PAYLOAD_BYTES, batches


def event(department_id: int = 1, event_id: int = 1, **kw) -> QueueEvent:
    fields = dict(event_id=event_id, kind="created", ticket_id=10, department_id=department_id,
                  street_id=100, community_id=200, grid_id=300, status="dispatched")
    return QueueEvent(**(fields | kw))


def test_notify_payloads_carry_one_event_or_a_batch():
    e = event(kind="claim", status="claimed")
    assert decode_events(e.to_json()) == [e]
    assert decode_events(batches([e, event(event_id=2)])[0]) == [e, event(event_id=2)]


def test_batches_stay_under_the_notify_payload_limit():
    events = [event(event_id=10**12 + i) for i in range(500)]
    payloads = batches(events)
    assert len(payloads) > 1 and all(len(p) <= MAX_PAYLOAD_BYTES for p in payloads)
    assert [e for p in payloads for e in decode_events(p)] == events


async def test_subscribers_get_their_department_only():
    broker = Broker()
    mine, other = broker.subscribe(1), broker.subscribe(2)
    broker.dispatch(event(1, 7))
    assert (await mine.next(0.01)).event_id == 7
    assert await other.next(0.01) is None  # timed out: nothing for department 2


async def test_unsubscribed_streams_get_nothing_and_are_forgotten():
    broker = Broker()
    sub = broker.subscribe(1)
    broker.unsubscribe(sub)
    broker.dispatch(event(1))
    assert await sub.next(0.01) is None
    assert broker.subscriber_count == 0


async def test_a_stream_that_falls_too_far_behind_is_closed(monkeypatch):
    broker = Broker()
    sub = broker.subscribe(1)
    sub._max_backlog = 3
    for i in range(4):
        broker.dispatch(event(1, i))
    with pytest.raises(StreamClosed, match="behind"):
        await sub.next(0.01)
    assert broker.subscriber_count == 0


async def test_stopping_closes_open_streams():
    broker = Broker()
    sub = broker.subscribe(1)
    await broker.stop()
    with pytest.raises(StreamClosed, match="shutting down"):
        await sub.next(1)


async def test_in_process_brokers_of_one_database_all_receive_local_publishes():
    a, b, elsewhere = InProcessBroker("db-1"), InProcessBroker("db-1"), InProcessBroker("db-2")
    for broker in (a, b, elsewhere):
        await broker.start()
    subs = [broker.subscribe(1) for broker in (a, b, elsewhere)]
    publish_committed("db-1", [event(1, 5)])
    assert (await subs[0].next(0.01)).event_id == 5
    assert (await subs[1].next(0.01)).event_id == 5
    assert await subs[2].next(0.01) is None
    for broker in (a, b, elsewhere):
        await broker.stop()
    publish_committed("db-1", [event(1, 6)])  # stopped brokers are no longer reachable
