"""The after-event pipeline: everything that follows a timeline event, in one fixed order,
inside the event's transaction.

    deadlines → report facts → outbox → notifications → live

1. ``deadlines`` (``app.sla.deadlines_step``): recompute the stored deadlines the event affects, and
   close an open whistle when the case ends;
2. ``report_facts`` (``app.reports.facts_step``): count a posted ticket, or mark a changed one in
   the report backlog;
3. ``outbox`` (``app.webhooks.outbox``): one message per matching webhook subscription —
   after the deadlines, so a message carries the deadlines the event left;
4. ``notifications`` (``app.notifications.pipeline``): inbox entries and robot/SMS outbox
   rows for the people the event concerns — after the deadlines, which its messages quote;
5. ``live`` (``app.live.publish``): the live-queue event, published when the transaction
   commits (last, so it announces what every step before it wrote).

What each step does for an event is the event catalogue's to say
(``app.tickets.catalogue``). Steps 1–2 keep derived *state*; steps 3–5 *deliver* the event.
A hot path whose one statement already did the state steps (posting and claim-next on
PostgreSQL) calls ``Pipeline.deliver`` for the rest.

``Pipeline.run_many`` runs the same steps over a set of events written together (the SLA
sweep's warnings and breaches): each step once for the whole set, in the same order, through
the step's set-based form where it has one (one statement for the set instead of one per
event) and event by event where it has not.

``build_pipeline`` is the one place the order is written; ``workflow_sessions`` is the one
function every process (``create_app``, the worker, the CLI and its seeders, the tests)
calls for its session factory, whose sessions carry the pipeline (``session.info``) so that
``record_event`` runs it — and the system's 上报 (``app.workflow.actions.system_escalate``),
so that the SLA sweep, which sits below the workflow, escalates through the same action as
a person does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import make_sessionmaker
from app.live.publish import publish_queue_event, publish_queue_events
from app.notifications.pipeline import notify_for_event, notify_for_events
from app.reports.facts_step import keep_report_facts, keep_report_facts_of
from app.sla.deadlines_step import deadlines_step
from app.sla.sweep import SYSTEM_ESCALATE_KEY
from app.tickets.events import PIPELINE_KEY, Event
from app.webhooks.outbox import enqueue_for_event, enqueue_for_events
from app.workflow.actions import system_escalate

StepRun = Callable[[AsyncSession, Event], Awaitable[None]]
StepRunMany = Callable[[AsyncSession, Sequence[Event]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: StepRun
    # The step over a set of events at once (same effect as ``run`` for each, in order);
    # None: ``run`` for each.
    run_many: StepRunMany | None = None

    async def over(self, session: AsyncSession, events: Sequence[Event]) -> None:
        if self.run_many is not None:
            await self.run_many(session, events)
            return
        for event in events:
            await self.run(session, event)


@dataclass(frozen=True, slots=True)
class Pipeline:
    state: tuple[Step, ...]  # keep derived state: deadlines, report facts
    delivery: tuple[Step, ...]  # tell others: outbox, notifications, live

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in (*self.state, *self.delivery))

    async def run(self, session: AsyncSession, event: Event) -> None:
        """Every step, in order, for an event just written."""
        for step in self.state:
            await step.run(session, event)
        await self.deliver(session, event)

    async def deliver(self, session: AsyncSession, event: Event) -> None:
        """The delivery steps only: for a statement that kept the state itself."""
        for step in self.delivery:
            await step.run(session, event)

    async def run_many(self, session: AsyncSession, events: Sequence[Event]) -> None:
        """Every step, in order, for a set of events just written: each step over the whole
        set before the next (the set's events are of different tickets, or independent)."""
        for step in (*self.state, *self.delivery):
            await step.over(session, events)


def notify_step(settings: Settings) -> StepRun:
    async def notify(session: AsyncSession, event: Event) -> None:
        await notify_for_event(session, event, settings=settings)
    return notify


def notify_many_step(settings: Settings) -> StepRunMany:
    async def notify_many(session: AsyncSession, events: Sequence[Event]) -> None:
        await notify_for_events(session, events, settings=settings)
    return notify_many


def build_pipeline(settings: Settings) -> Pipeline:
    """The pipeline, in its documented order; the settings are the process's own."""
    return Pipeline(
        state=(
            Step("deadlines", deadlines_step(settings)),
            Step("report_facts", keep_report_facts, keep_report_facts_of),
        ),
        delivery=(
            Step("outbox", enqueue_for_event, enqueue_for_events),
            Step("notifications", notify_step(settings), notify_many_step(settings)),
            Step("live", publish_queue_event, publish_queue_events),
        ),
    )


def workflow_sessions(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    """The session factory of a process: its sessions run ``build_pipeline(settings)``
    after every event they write, and carry the system's 上报 for the sweep."""
    return make_sessionmaker(engine, info={PIPELINE_KEY: build_pipeline(settings),
                                           SYSTEM_ESCALATE_KEY: system_escalate})
