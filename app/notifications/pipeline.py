"""The one entry point from the ticket timeline into notifications:

    async def notify_for_event(session, event, *, settings) -> None

Called after each timeline event, inside the transaction that wrote it, after the webhook
outbox step (and before the live queues). It looks the event up in ``rules.ON_EVENT``; for
a kind that notifies, it finds the recipients (``rules.SPECS``), keeps those who may read
the ticket, and writes in the same transaction:

- an inbox entry per recipient who has the inbox on for the kind (the default);
- an outbox row per configured group robot (企业微信 / 钉钉) of the departments or
  jurisdictions the kind goes to;
- an outbox row per recipient who has SMS on for the kind and a phone, through the SMS
  account of their department (or else of the ticket's street).

The worker sends the outbox (``app.notifications.delivery``). Writing is idempotent (unique
dedupe keys per event, kind, channel and user), so running this twice for one event
changes nothing. ``app.workflow.pipeline`` calls it as the ``notifications`` step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.scope import contact_visible_clause
from app.config import Settings
from app.notifications import repository as repo
from app.notifications.messages import Message, beijing, parse_instant, render
from app.notifications.quiet import release_at
from app.notifications.recipients import (
    Owners,
    Recipient,
    TicketContext,
    owners_for,
    queue_users,
    users_for,
    within_scope,
    within_scope_many,
)
from app.notifications.rules import (
    INBOX,
    ON_EVENT,
    SMS,
    SPECS,
    Kind,
    KindSpec,
    Robots,
    Who,
    default_enabled,
    sms_roles,
)
from app.sla.street_calendars import calendar_for
from app.tickets.events import Event

# What each kind does to say, after its headline.
_NOTES: dict[Kind, str] = {
    Kind.new_ticket: "有新案件待签收",
    Kind.sla_warning: "案件即将超时，请抓紧处置",
    Kind.sla_overdue: "案件已超时",
    Kind.escalated: "案件已上报至本级",
    Kind.whistle: "街道吹哨，请按时报到",
    Kind.report_in_due: "报到时限将至，部门尚未报到",
    Kind.report_in_missed: "部门未按时报到",
    Kind.returned: "案件被退回，请改派",
    Kind.awaiting_verification: "案件已处置，请现场核查",
    Kind.request: "有延期/挂起申请待审批",
    Kind.decision: "申请已审批",
    Kind.supervised: "超时案件已列入督办",
    Kind.resident_comment: "居民对案件有新留言，请查看",
}
_CLOCKS = {"response": "签收时限", "resolve": "办结时限"}


def _deadline(kind: Kind, t: TicketContext, data: dict[str, Any]) -> tuple[datetime | None, str]:
    if kind in (Kind.whistle, Kind.report_in_due, Kind.report_in_missed):
        return parse_instant(data.get("report_in_due_at")), "报到时限"
    if kind in (Kind.sla_warning, Kind.sla_overdue):
        return parse_instant(data.get("due_at")), _CLOCKS.get(data.get("clock", ""), "时限")
    if kind is Kind.new_ticket:
        return t.response_due_at, "签收时限"
    return t.resolve_due_at, "办结时限"


def _message(spec: KindSpec, t: TicketContext, data: dict[str, Any], *, public_url: str,
             link: str) -> Message:
    due, label = _deadline(spec.kind, t, data)
    note = _NOTES[spec.kind]
    if spec.kind is Kind.decision:
        note = "申请已批准" if data.get("_event_kind", "").startswith("approve") else "申请被驳回"
    return Message(title=spec.title, number=t.number, item=f"{t.item_name}（{t.item_code}）",
                   place=t.place, deadline=beijing(due), deadline_label=label,
                   link=public_url.rstrip("/") + link, note=note, reporter=t.reporter_name)


def _window(at: datetime, seconds: int) -> tuple[int, datetime]:
    start = int(at.timestamp()) // seconds * seconds
    return start, datetime.fromtimestamp(start + seconds, at.tzinfo)


async def notify_for_event(session: AsyncSession, event: Event, *, settings: Settings) -> None:
    """Write the inbox entries and outbox rows ``event`` causes (see the module's doc)."""
    kind = ON_EVENT.get(event.kind)
    if kind is None:
        return
    await notify(session, kind, ticket_id=event.ticket_id, at=event.at,
                 data={**event.data, "_event_kind": event.kind}, event_id=event.id,
                 key=f"e{event.id}", settings=settings)


async def notify(session: AsyncSession, kind: Kind, *, ticket_id: int, at: datetime,
                 data: dict[str, Any], event_id: int | None, key: str,
                 settings: Settings) -> None:
    """Notify of ``kind`` about a ticket; ``key`` names what caused it (an event, a
    summons), so that notifying twice of the same cause writes nothing new."""
    t = await repo.ticket_context(session, ticket_id)
    if t is None:
        return
    spec = SPECS[kind]
    plan = _Plan.of(spec, t, at=at, data=data, event_id=event_id, key=key, settings=settings)
    if _set_based(spec):
        await _notify_queue(session, plan, key=key, settings=settings)
        return
    user_ids: set[int] = set()
    for who in spec.who:
        user_ids |= await users_for(session, who, t, data)
    recipients = await within_scope(session, user_ids, t)
    chosen = await repo.choices(session, [r.user_id for r in recipients], kind)
    await repo.add_inbox(session, plan.inbox(recipients, chosen), aggregated=plan.aggregated)

    calendar = await calendar_for(session, t.street_id, settings=settings)
    send_at = release_at(plan.not_before, calendar, urgent=plan.urgent)
    owners = await owners_for(session, spec.robots, t, data)
    robots = await repo.robot_channels(session, owners, kind)
    texting = plan.texting(recipients, chosen)
    phones: dict[int, str] = {}
    accounts: dict[int | None, Any] = {}
    if texting:
        phones = await repo.phones(session, [r.user_id for r in texting])
        accounts = await repo.sms_channels(
            session, department_ids=[r.department_id for r in texting if r.department_id],
            street_id=t.street_id)
    await repo.add_outbox(session, plan.outbox(robots, texting, phones, accounts, send_at),
                          aggregated=plan.aggregated, late_suffix=f":late-{key}")


def _set_based(spec: KindSpec) -> bool:
    """Whether ``notify`` writes the kind's rows set-based (``_notify_queue``): the kinds
    told to the ticket's queue only, the new-ticket reminder of every post."""
    return spec.who == (Who.queue,)


async def _notify_queue(session: AsyncSession, plan: _Plan, *, key: str,
                        settings: Settings) -> None:
    """``notify`` for a kind told to the ticket's queue (the new-ticket reminder, on every
    post): the same rows in two or three statements instead of seven or eight.

    The inbox entries are one ``INSERT … SELECT`` over the queue's users, with each one's
    choice and masking decided in SQL (``contact_visible_clause``); the scope check
    ``within_scope`` makes is implied here, as every queue member may read the ticket by
    the rule that makes them one (a department's staff see its tickets, a community's
    dispatcher the community's, a grid's workers the grid's). The SMS opt-ins with a phone
    and the queue's robots are read first, and their outbox rows written when there are
    any, before it."""
    spec, t = plan.spec, plan.t
    users = queue_users(t)
    queue = (t.level, t.street_id, t.community_id, t.grid_id, t.department_id)
    # The reads first, the writes last: an aggregated reminder's rows are shared by every
    # post to the queue in the window, and their row locks last until the commit.
    found = await repo.texters(session, users, kind=spec.kind.value,
                               sms_by_default=sms_roles(spec.kind), queue=queue)
    texting = [Recipient(user_id, Role(role), department_id, False)
               for user_id, role, department_id, _ in found]
    robots = await repo.robot_channels(session, await owners_for(session, spec.robots, t, {}),
                                       spec.kind)
    if robots or texting:
        calendar = await calendar_for(session, t.street_id, settings=settings)
        send_at = release_at(plan.not_before, calendar, urgent=plan.urgent)
        accounts: dict[int | None, Any] = {}
        if texting:
            accounts = await repo.sms_channels(
                session, department_ids=[r.department_id for r in texting if r.department_id],
                street_id=t.street_id)
        phones = {user_id: phone for user_id, _, _, phone in found}
        await repo.add_outbox(session, plan.outbox(robots, texting, phones, accounts, send_at),
                              aggregated=plan.aggregated, late_suffix=f":late-{key}")
    await repo.add_queue_inbox(
        session, users, scope=plan.scope, aggregated=plan.aggregated,
        queue=queue,
        entry={"kind": spec.kind.value, "ticket_id": t.id, "event_id": plan.event_id,
               "title": spec.title, "link": plan.message.link, "urgent": plan.urgent,
               "count": 1, "created_at": plan.at, "updated_at": plan.at},
        sees_contact=contact_visible_clause(User, street_id=t.street_id,
                                            community_id=t.community_id,
                                            department_id=t.department_id),
        bodies=(render(plan.message), render(plan.message.masked())))


@dataclass(slots=True)
class _Plan:
    """One notification of one ticket: its message, its dedupe scope, and the rows it
    writes once the recipients and channels are known (the same for one event and for a
    set)."""

    spec: KindSpec
    t: TicketContext
    at: datetime
    event_id: int | None
    urgent: bool
    aggregated: bool
    message: Message
    scope: str
    not_before: datetime

    @classmethod
    def of(cls, spec: KindSpec, t: TicketContext, *, at: datetime, data: dict[str, Any],
           event_id: int | None, key: str, settings: Settings) -> _Plan:
        kind = spec.kind
        urgent = spec.urgent or t.urgency == "urgent"
        aggregated = spec.aggregated and not urgent
        link = f"/app/tickets/{t.id}"
        if aggregated and t.department_code:
            link = f"/app/queues/{t.department_code}"
        message = _message(spec, t, data, public_url=settings.public_url, link=link)
        # Aggregated kinds share one key per queue and window; the rest one per event.
        if aggregated:
            window, window_end = _window(at, settings.notification_aggregate_seconds)
            queue = f"d{t.department_id}" if t.department_id else f"{t.level}{t.community_id}"
            scope, not_before = f"{kind}:{queue}:w{window}", window_end
        else:
            scope, not_before = f"{key}:{kind}", at
        return cls(spec, t, at, event_id, urgent, aggregated, message, scope, not_before)

    def _wants(self, chosen: dict[tuple[int, str], bool], r: Recipient, channel: str) -> bool:
        return chosen.get((r.user_id, channel), default_enabled(r.role, self.spec.kind, channel))

    def inbox(self, recipients: list[Recipient],
              chosen: dict[tuple[int, str], bool]) -> list[dict[str, Any]]:
        t, message = self.t, self.message
        # One text per masking, not per recipient: a queue of thirty reads two texts.
        bodies: dict[bool, str] = {}

        def body(sees_contact: bool) -> str:
            text = bodies.get(sees_contact)
            if text is None:
                text = bodies[sees_contact] = render(message if sees_contact
                                                     else message.masked())
            return text

        return [
            {"user_id": r.user_id, "kind": self.spec.kind.value, "ticket_id": t.id,
             "event_id": self.event_id, "title": self.spec.title, "link": message.link,
             "urgent": self.urgent, "count": 1, "body": body(r.sees_contact),
             "dedupe_key": f"{self.scope}:u{r.user_id}", "created_at": self.at,
             "updated_at": self.at}
            for r in recipients if self._wants(chosen, r, INBOX)]

    def texting(self, recipients: list[Recipient],
                chosen: dict[tuple[int, str], bool]) -> list[Recipient]:
        return [r for r in recipients if self._wants(chosen, r, SMS)]

    def outbox(self, robots: list[Any], texting: list[Recipient], phones: dict[int, str],
               accounts: dict[int | None, Any], send_at: datetime) -> list[dict[str, Any]]:
        kind, t = self.spec.kind, self.t
        if not robots and not texting:
            return []
        payload = self.message.masked().to_payload()

        def row(channel_id: int, user_id: int | None) -> dict[str, Any]:
            return {"channel_id": channel_id, "user_id": user_id, "kind": kind.value,
                    "ticket_id": t.id, "event_id": self.event_id, "payload": payload,
                    "count": 1, "urgent": self.urgent,
                    "dedupe_key": f"{self.scope}:c{channel_id}"
                    + (f":u{user_id}" if user_id else ""),
                    "status": "pending", "attempts": 0, "next_attempt_at": send_at,
                    "created_at": self.at}

        rows = [row(c.id, None) for c in robots]
        for r in texting:
            account = accounts.get(r.department_id) or accounts.get(None)
            if r.user_id in phones and account is not None and (
                    not account.kinds or kind in account.kinds):
                rows.append(row(account.id, r.user_id))
        return rows


# Recipients and robots that depend on the event's data (which departments a whistle
# summons, who asked): such kinds, and the aggregated ones, are notified event by event.
_DATA_WHO = frozenset({Who.summoned, Who.concerned_department_lead, Who.requester})
_DATA_ROBOTS = frozenset({Robots.summoned, Robots.concerned_department})


def _by_itself(spec: KindSpec) -> bool:
    return spec.aggregated or bool(_DATA_WHO.intersection(spec.who)) or bool(
        _DATA_ROBOTS.intersection(spec.robots))


async def notify_for_events(session: AsyncSession, events: Sequence[Event], *,
                            settings: Settings) -> None:
    """``notify_for_event`` for a set of events, with the same rows: the tickets read in one
    query, each distinct recipient group, scope check, preference and channel looked up once
    for the set, and the inbox entries and outbox rows written in a few statements. Kinds
    whose recipients come from the event's data, and aggregated kinds, go event by event."""
    together: list[tuple[Event, KindSpec]] = []
    for event in events:
        kind = ON_EVENT.get(event.kind)
        if kind is None:
            continue
        if _by_itself(SPECS[kind]):
            await notify_for_event(session, event, settings=settings)
        else:
            together.append((event, SPECS[kind]))
    if not together:
        return
    contexts = await repo.ticket_contexts(session, sorted({e.ticket_id for e, _ in together}))
    plans: list[tuple[_Plan, set[int]]] = []
    groups: dict[tuple, set[int]] = {}
    for event, spec in together:
        t = contexts.get(event.ticket_id)
        if t is None:
            continue
        data = {**event.data, "_event_kind": event.kind}
        plan = _Plan.of(spec, t, at=event.at, data=data, event_id=event.id,
                        key=f"e{event.id}", settings=settings)
        user_ids: set[int] = set()
        for who in spec.who:  # these depend on the ticket's place and assignee only
            group = (who, t.level, t.department_id, t.street_id, t.community_id, t.grid_id,
                     t.assignee_id)
            if group not in groups:
                groups[group] = await users_for(session, who, t, data)
            user_ids |= groups[group]
        plans.append((plan, user_ids))
    recipients = await within_scope_many(session, [(p.t, ids) for p, ids in plans])
    chosen: dict[Kind, dict[tuple[int, str], bool]] = {}
    for kind in {p.spec.kind for p, _ in plans}:
        chosen[kind] = await repo.choices(session, {
            r.user_id for (p, _), rs in zip(plans, recipients, strict=True)
            if p.spec.kind is kind for r in rs}, kind)
    texting = [p.texting(rs, chosen[p.spec.kind])
               for (p, _), rs in zip(plans, recipients, strict=True)]
    texters = {r.user_id for rs in texting for r in rs}
    phones = await repo.phones(session, texters) if texters else {}
    inbox: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    robots: dict[tuple, list[Any]] = {}
    accounts: dict[tuple, dict[int | None, Any]] = {}
    releases: dict[tuple, datetime] = {}
    owners_of: dict[tuple, Owners] = {}
    for (plan, _), rs, texts in zip(plans, recipients, texting, strict=True):
        t, kind = plan.t, plan.spec.kind
        inbox += plan.inbox(rs, chosen[kind])
        release = (t.street_id, plan.not_before, plan.urgent)  # the set shares its instant
        if release not in releases:
            calendar = await calendar_for(session, t.street_id, settings=settings)
            releases[release] = release_at(plan.not_before, calendar, urgent=plan.urgent)
        send_at = releases[release]
        # The set's robots depend on the ticket's place only (``_by_itself``): looked up
        # once per place, not awaited per event.
        place = (plan.spec.robots, t.level, t.department_id, t.community_id, t.street_id)
        owners = owners_of.get(place)
        if owners is None:
            owners = owners_of[place] = await owners_for(session, plan.spec.robots, t, {})
        if (owners, kind) not in robots:
            robots[owners, kind] = await repo.robot_channels(session, owners, kind)
        texts = [r for r in texts if r.user_id in phones]
        sms: dict[int | None, Any] = {}
        if texts:
            departments = tuple(sorted({r.department_id for r in texts if r.department_id}))
            if (departments, t.street_id) not in accounts:
                accounts[departments, t.street_id] = await repo.sms_channels(
                    session, department_ids=departments, street_id=t.street_id)
            sms = accounts[departments, t.street_id]
        outbox += plan.outbox(robots[owners, kind], texts, phones, sms, send_at)
    await repo.add_inbox(session, inbox, aggregated=False)
    await repo.add_outbox(session, outbox, aggregated=False)
