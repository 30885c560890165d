"""Who is told of what: one declarative table from timeline events to notification kinds,
and for each kind its recipients, the group robots it goes to, whether it is urgent and
whether it is aggregated. The pipeline, the preferences API, the README and the tests
all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.auth.models import Role


class Kind(StrEnum):
    """What a notification is about (its ``kind``)."""

    new_ticket = "new_ticket"  # 待签收提醒: new tickets in a queue, aggregated per window
    sla_warning = "sla_warning"  # 即将超时预警 (签收 / 办结时限)
    sla_overdue = "sla_overdue"  # 超时
    escalated = "escalated"  # 上报: the ticket reached a level
    whistle = "whistle"  # 吹哨: a department is summoned to report in
    report_in_due = "report_in_due"  # 报到即将超时 (raised by the worker, not by an event)
    report_in_missed = "report_in_missed"  # 报到超时
    returned = "returned"  # 退单: to be rerouted
    awaiting_verification = "awaiting_verification"  # 待核查: resolved, to verify on site
    request = "request"  # 延期 / 挂起申请: to approve
    decision = "decision"  # 申请审批结果: to the requester
    supervised = "supervised"  # 督办
    resident_comment = "resident_comment"  # 居民留言: a resident's comment through Open311


# Every timeline event that notifies anyone, and what it becomes. Events not here (notes,
# claims, ratings …) notify nobody.
ON_EVENT: dict[str, Kind] = {
    "created": Kind.new_ticket,
    "reroute": Kind.new_ticket,
    "reopen": Kind.new_ticket,
    "sla_warning": Kind.sla_warning,
    "sla_overdue": Kind.sla_overdue,
    "escalate": Kind.escalated,
    "escalated": Kind.escalated,
    "whistle_blown": Kind.whistle,
    "report_in_missed": Kind.report_in_missed,
    "return": Kind.returned,
    "resolve": Kind.awaiting_verification,
    "request_extension": Kind.request,
    "request_suspension": Kind.request,
    "approve_extension": Kind.decision,
    "reject_extension": Kind.decision,
    "approve_suspension": Kind.decision,
    "reject_suspension": Kind.decision,
    "supervised": Kind.supervised,
    "open311_update": Kind.resident_comment,
}


class Who(StrEnum):
    """A group of recipients, relative to the ticket and the event."""

    queue = "queue"  # whoever works the queue the ticket is in (dept staff, community, grid)
    assignee_or_queue = "assignee_or_queue"  # the assignee; the queue while unclaimed
    department_lead = "department_lead"  # leads of the ticket's department
    level_dispatchers = "level_dispatchers"  # dispatchers of the level the ticket is held at
    summoned = "summoned"  # lead and staff of every department a whistle summons
    concerned_department_lead = "concerned_department_lead"  # lead of the department that is
    # due to report in, or missed it (the event's ``department_id``)
    street_dispatchers = "street_dispatchers"  # dispatchers of the ticket's street
    rerouter = "rerouter"  # the dispatcher who must reroute a returned ticket
    grid_workers = "grid_workers"  # grid workers of the ticket's grid
    approver = "approver"  # the dispatcher of the level above the ticket's
    requester = "requester"  # who asked for the extension or suspension


class Robots(StrEnum):
    """Whose group robots a kind goes to."""

    queue = "queue"  # the ticket's department, or its community for a community ticket
    summoned = "summoned"  # every summoned department
    concerned_department = "concerned_department"  # the department due to report in, or late
    level = "level"  # the community or street the ticket is held at
    street = "street"  # the ticket's street


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: Kind
    title: str  # the message's headline, in Chinese
    who: tuple[Who, ...]
    robots: tuple[Robots, ...] = ()
    # Always urgent (sent at once, whatever the hour); otherwise urgent when the ticket is.
    urgent: bool = False
    # One message per queue per window instead of one per ticket (urgent tickets: at once).
    aggregated: bool = False
    doc: str = ""


W, B = Who, Robots
SPECS: dict[Kind, KindSpec] = {s.kind: s for s in (
    KindSpec(Kind.new_ticket, "待签收提醒", (W.queue,), (B.queue,), aggregated=True,
             doc="new, rerouted or reopened tickets in a queue, one reminder per window"),
    KindSpec(Kind.sla_warning, "即将超时预警", (W.assignee_or_queue, W.department_lead),
             (B.queue,), doc="a response or resolution deadline at the warning share"),
    KindSpec(Kind.sla_overdue, "超时提醒", (W.assignee_or_queue, W.department_lead),
             (B.queue,), doc="a response or resolution deadline passed"),
    KindSpec(Kind.escalated, "案件上报", (W.level_dispatchers,), (B.level,),
             doc="the ticket reached a level (by hand or by its budget)"),
    KindSpec(Kind.whistle, "吹哨报到", (W.summoned,), (B.summoned,), urgent=True,
             doc="the street summons departments, with the report-in deadline"),
    KindSpec(Kind.report_in_due, "报到即将超时",
             (W.concerned_department_lead, W.street_dispatchers), (B.concerned_department,),
             urgent=True, doc="a summoned department has not reported in, the deadline near"),
    KindSpec(Kind.report_in_missed, "报到超时",
             (W.concerned_department_lead, W.street_dispatchers),
             (B.concerned_department, B.street), doc="a summoned department did not report in"),
    KindSpec(Kind.returned, "退单待改派", (W.rerouter,), doc="a ticket returned, to reroute"),
    KindSpec(Kind.awaiting_verification, "待核查", (W.grid_workers,),
             doc="resolved; the grid's workers verify on site"),
    KindSpec(Kind.request, "申请待审批", (W.approver,),
             doc="an extension or suspension request, to the approver"),
    KindSpec(Kind.decision, "申请审批结果", (W.requester,),
             doc="an extension or suspension decided, to the requester"),
    KindSpec(Kind.supervised, "督办", (W.department_lead, W.street_dispatchers), (B.queue,),
             doc="an overdue street-level ticket is flagged for supervision"),
    # The comment itself is not in the message (a resident may write a name or a phone
    # number into it): the link leads to the timeline, where the API masks as it should.
    KindSpec(Kind.resident_comment, "居民留言", (W.assignee_or_queue,),
             doc="a resident commented on the case (Open311), to whoever holds it"),
)}
assert set(SPECS) == set(Kind), "every kind has its spec"
assert set(ON_EVENT.values()) <= set(SPECS)
# Raised by the notification worker from the whistle's summons, not by a timeline event.
SCHEDULED: frozenset[Kind] = frozenset({Kind.report_in_due})
assert set(SPECS) == set(ON_EVENT.values()) | SCHEDULED, "every kind is raised somehow"

# The personal channels a user chooses per kind (robots belong to groups, not to users).
INBOX, SMS = "inbox", "sms"
PERSONAL_CHANNELS = (INBOX, SMS)

# Defaults when a user has chosen nothing: the inbox gets every kind; SMS is for what must
# not wait — the whistle and breaches, to those who answer for them.
_LEADS_SMS = frozenset({Kind.whistle, Kind.sla_overdue, Kind.report_in_missed,
                        Kind.supervised})
ROLE_SMS_DEFAULTS: dict[Role, frozenset[Kind]] = {
    Role.department_lead: _LEADS_SMS,
    Role.department_staff: frozenset({Kind.whistle}),
    Role.street_dispatcher: frozenset({Kind.report_in_missed}),
}


def default_enabled(role: Role, kind: Kind, channel: str) -> bool:
    if channel == INBOX:
        return True
    return kind in ROLE_SMS_DEFAULTS.get(role, frozenset())


def sms_roles(kind: Kind) -> frozenset[str]:
    """The roles that get ``kind`` by SMS when they have chosen nothing."""
    return frozenset(role.value for role, kinds in ROLE_SMS_DEFAULTS.items() if kind in kinds)
