"""Live queues (实时队列): department queue changes pushed to open streams.

The after-event pipeline's ``live`` step publishes (``app.live.publish``);
``start_broker`` / ``stop_broker`` run the process's broker from the app's lifespan.
"""

from __future__ import annotations

from typing import Any

from app.live.broker import Broker, InProcessBroker, database_key_of
from app.live.postgres import PostgresBroker


def make_broker(engine: Any) -> Broker:
    """LISTEN/NOTIFY on PostgreSQL (several processes); in-process on SQLite."""
    if engine.dialect.name == "postgresql":
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresBroker(dsn, database_key=database_key_of(engine))
    return InProcessBroker(database_key_of(engine))


async def start_broker(app: Any) -> None:
    """Start the broker for ``app.state.engine`` and put it on ``app.state.broker``
    (a no-op if one is already running)."""
    if getattr(app.state, "broker", None) is not None:
        return
    broker = make_broker(app.state.engine)
    await broker.start()
    app.state.broker = broker


def close_streams(app: Any, reason: str) -> None:
    """End every open stream of ``app`` with ``event: closed``, and any opened later (the
    process is going away: see ``app.observability.shutdown``)."""
    broker = getattr(app.state, "broker", None)
    if broker is not None:
        broker.shut(reason)


async def stop_broker(app: Any) -> None:
    """Close every open stream and the LISTEN connection."""
    broker = getattr(app.state, "broker", None)
    if broker is not None:
        app.state.broker = None
        await broker.stop()
