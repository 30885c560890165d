"""The SQL behind the operator's view: the worker heartbeat and the service figures read
at scrape time. Every figure is one aggregate over an indexed, bounded set (open tickets,
pending outbox rows, the report backlog), cheap enough to run every scrape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.jurisdiction.models import Department
from app.observability.models import WorkerHeartbeat
from app.reports.models import ReportBacklog
from app.tickets.models import OPEN_STATUSES, Status, Ticket
from app.webhooks.models import OutboxMessage, OutboxStatus

# Queue depth is reported for the deepest departments only, the rest summed as "other":
# a street's departments are a few dozen, but a label set must stay bounded regardless.
QUEUE_DEPARTMENTS_SHOWN = 50
# A worker's row is kept this long after its last pass (then it is a process long gone).
HEARTBEAT_KEPT = timedelta(days=1)

async def record_heartbeat(session: AsyncSession, *, worker: str, started_at: datetime,
                           now: datetime, pass_seconds: float, figures: dict[str, Any]) -> None:
    """This worker's pass has ended: its row now says so (and long-gone workers' rows go)."""
    insert = insert_for(session)(WorkerHeartbeat)
    values = {"worker": worker, "started_at": started_at, "beat_at": now,
              "pass_seconds": pass_seconds, "figures": figures}
    await session.execute(insert.values(**values).on_conflict_do_update(
        index_elements=[WorkerHeartbeat.worker],
        set_={k: v for k, v in values.items() if k != "worker"}))
    await session.execute(delete(WorkerHeartbeat).where(
        WorkerHeartbeat.beat_at < now - HEARTBEAT_KEPT))


async def latest_heartbeat(session: AsyncSession) -> WorkerHeartbeat | None:
    """The most recent pass of any worker."""
    return (await session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()).limit(1))).first()


@dataclass
class ServiceFigures:
    # (level, status, sla_state) -> open tickets
    open_tickets: dict[tuple[str, str, str], int] = field(default_factory=dict)
    queue_depth: dict[str, int] = field(default_factory=dict)  # department code -> dispatched
    report_backlog: int = 0
    outbox_pending: int = 0
    outbox_oldest_at: datetime | None = None
    outbox_dead: int = 0
    heartbeat: WorkerHeartbeat | None = None


async def service_figures(session: AsyncSession) -> ServiceFigures:
    figures = ServiceFigures()
    open_rows = await session.execute(
        select(Ticket.level, Ticket.status, Ticket.sla_state, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.level, Ticket.status, Ticket.sla_state))
    figures.open_tickets = {(level, status, state): n for level, status, state, n in open_rows}

    depth = func.count().label("depth")
    rows = (await session.execute(
        select(Department.code, depth).join(Ticket, Ticket.department_id == Department.id)
        .where(Ticket.status == Status.dispatched.value)
        .group_by(Department.code).order_by(depth.desc(), Department.code))).all()
    figures.queue_depth = dict(rows[:QUEUE_DEPARTMENTS_SHOWN])
    if rest := rows[QUEUE_DEPARTMENTS_SHOWN:]:
        figures.queue_depth["other"] = sum(n for _, n in rest)

    figures.report_backlog = (await session.execute(
        select(func.count()).select_from(ReportBacklog))).scalar_one()
    pending, oldest = (await session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status == OutboxStatus.pending.value))).one()
    figures.outbox_pending = pending
    figures.outbox_oldest_at = oldest  # min() keeps the column's type: aware UTC
    figures.outbox_dead = (await session.execute(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.dead.value))).scalar_one()
    figures.heartbeat = await latest_heartbeat(session)
    return figures

