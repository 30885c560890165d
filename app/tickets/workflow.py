"""The ticket state machine: one declarative table that the service, the tests, the README
diagram and ``GET /api/v1/workflow`` all read.

Each ``Transition`` says from which states an action may be taken, the state it leads to
(None: the state does not change), who may take it (a role *and* its relation to the
ticket, see ``Relation``), what the request must carry, the effect it has beyond the state
change (a name that ``app.workflow.actions.EFFECTS`` maps to a function; a name without one
fails at startup) and the event it records (declared in ``app.tickets.catalogue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.auth.models import Role
from app.tickets.models import Status

S = Status


class Relation(StrEnum):
    """How an actor must stand to the ticket, beyond being able to see it."""

    queue_holder = "queue_holder"  # works the queue the ticket is in (dept / community / grid)
    assignee = "assignee"  # the staff member who claimed it
    department_lead = "department_lead"  # lead of the department holding it
    grid_worker_of_grid = "grid_worker_of_grid"  # a grid worker of the ticket's grid
    reporter = "reporter"  # the grid worker who posted it
    dispatcher = "dispatcher"  # dispatcher of the ticket's community or street
    street_dispatcher = "street_dispatcher"  # dispatcher of the ticket's street
    rerouter = "rerouter"  # the dispatcher of the level that routed a returned ticket
    poster = "poster"  # the integration client that filed it (rating on a resident's behalf)
    summoned = "summoned"  # a department summoned by the ticket's open whistle
    approver = "approver"  # the dispatcher of the level above the ticket's level
    admin = "admin"


class Need(StrEnum):
    """What a request must carry."""

    reason = "reason"
    result = "result"
    photos_if_item_requires = "photos_if_item_requires"
    photos = "photos"
    target_ticket = "target_ticket"
    assignee = "assignee"
    rating = "rating"
    new_routing = "new_routing"
    minutes = "minutes"
    decision = "decision"


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status | None
    who: frozenset[Relation]
    needs: frozenset[Need]
    event: str
    doc: str
    effect: str | None  # None: the state change and the event are all it does


def t(action: str, sources: set[Status], target: Status | None, who: set[Relation],
      needs: set[Need], doc: str, event: str | None = None, *,
      effect: str | None) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(who), frozenset(needs),
                      event or action, doc, effect)


R = Relation
N = Need
OPEN = {S.self_handling, S.dispatched, S.claimed, S.in_progress, S.suspended, S.resolved,
        S.rework, S.returned}
WORKING = {S.claimed, S.in_progress, S.rework}

TRANSITIONS: tuple[Transition, ...] = (
    t("claim", {S.dispatched}, S.claimed, {R.queue_holder}, set(),
      "签收: take a ticket from your queue; one conditional update, the loser gets 409",
      effect="claim"),
    t("release", {S.claimed}, S.dispatched, {R.assignee, R.department_lead}, set(),
      "put a claimed ticket back in the queue", effect="unassign"),
    t("start", {S.claimed, S.rework}, S.in_progress, {R.assignee}, set(),
      "begin handling (again, after rework)", effect=None),
    t("note", OPEN - {S.returned}, None,
      {R.assignee, R.department_lead, R.dispatcher, R.grid_worker_of_grid, R.summoned},
      {N.result}, "add progress (处置进展) with optional photos; the state does not change",
      effect=None),
    t("resolve", {S.in_progress}, S.resolved, {R.assignee},
      {N.result, N.photos_if_item_requires},
      "report the result (处置完毕); awaits on-site verification", effect="resolve"),
    t("self_close", {S.self_handling}, S.closed, {R.reporter}, {N.result, N.photos},
      "网格自处: the grid worker closes what they handled on the spot, with result and photo",
      effect="close"),
    t("return", {S.dispatched, S.claimed, S.in_progress}, S.returned,
      {R.queue_holder, R.assignee, R.department_lead}, {N.reason},
      "退单: not ours; back to the dispatcher of the level that routed it", effect="return"),
    t("reroute", {S.returned, S.dispatched}, S.dispatched, {R.rerouter}, {N.new_routing},
      "改派: the dispatcher routes it again by another item, department or level", effect="reroute"),
    t("transfer", {S.claimed, S.in_progress}, None, {R.department_lead}, {N.assignee},
      "the department lead hands the ticket to another staff member", effect="transfer"),
    t("verify_pass", {S.resolved}, S.closed, {R.grid_worker_of_grid, R.dispatcher}, set(),
      "核查通过 → 结案: verified on site, the case closes", effect="close"),
    t("verify_fail", {S.resolved}, S.rework, {R.grid_worker_of_grid, R.dispatcher}, {N.reason},
      "核查不通过 → 返工: not fixed; back to the handler; the deadline is not reset",
      effect="verify_fail"),
    t("edit", OPEN - {S.returned}, None, {R.dispatcher, R.reporter}, set(),
      "correct the description, address or urgency; needs If-Match", effect=None),
    t("cancel", OPEN, S.cancelled, {R.dispatcher, R.admin}, {N.reason},
      "作废: invalid report", effect=None),
    t("merge", OPEN, S.cancelled, {R.dispatcher, R.admin}, {N.target_ticket},
      "合并: a duplicate closes into another open ticket; its reporter is linked there",
      effect="merge"),
    t("reopen", {S.closed}, S.dispatched, {R.dispatcher, R.grid_worker_of_grid}, {N.reason},
      "重新打开: within the configured number of days after closing", effect="reopen"),
    t("rate", {S.closed}, None, {R.grid_worker_of_grid, R.dispatcher, R.poster}, {N.rating},
      "评价: the resident's satisfaction (满意 / 基本满意 / 不满意) with a comment", effect="rate"),
    # The SLA clock, the escalation ladder (effects in app/sla/effects.py) and the whistle
    # (app/whistle/service.py).
    t("escalate", {S.self_handling, S.dispatched, S.claimed, S.in_progress, S.rework, S.returned},
      S.dispatched, {R.grid_worker_of_grid, R.dispatcher}, {N.reason},
      "上报: hand a grid ticket up to the community, a community ticket up to the street",
      effect="escalate"),
    t("request_extension", {S.claimed, S.in_progress, S.rework}, None,
      {R.assignee, R.department_lead}, {N.minutes, N.reason},
      "延期申请: ask the level above for more time", effect="request_extension"),
    t("approve_extension", OPEN - {S.closed, S.cancelled}, None, {R.approver}, {N.decision},
      "批准延期: the resolution deadline moves by the requested time", effect="approve_extension"),
    t("reject_extension", OPEN - {S.closed, S.cancelled}, None, {R.approver}, {N.decision},
      "驳回延期: the deadline stays", effect="reject_extension"),
    t("request_suspension", {S.claimed, S.in_progress, S.rework}, None,
      {R.assignee, R.department_lead}, {N.reason},
      "挂起申请: ask to pause the clock (e.g. waiting on the resident)", effect="request_suspension"),
    t("approve_suspension", {S.claimed, S.in_progress, S.rework}, S.suspended, {R.approver},
      {N.decision}, "批准挂起: the clock stops; paused time is not counted",
      effect="approve_suspension"),
    t("reject_suspension", {S.claimed, S.in_progress, S.rework}, None, {R.approver},
      {N.decision}, "驳回挂起: the clock keeps running", effect="reject_suspension"),
    t("resume", {S.suspended}, S.in_progress, {R.assignee, R.department_lead, R.approver},
      set(), "恢复: the clock runs again from where it stopped", effect="resume"),
    t("blow_whistle", OPEN - {S.closed, S.cancelled, S.resolved}, None, {R.street_dispatcher},
      set(), "吹哨: summon departments to report in by a deadline", event="whistle_blown",
      effect="blow_whistle"),
    t("report_in", OPEN - {S.closed, S.cancelled}, None, {R.summoned}, set(),
      "报到: a summoned department reports in to the whistle", event="reported_in",
      effect="report_in"),
)

BY_ACTION: dict[str, Transition] = {tr.action: tr for tr in TRANSITIONS}

# Which roles can ever hold each relation (for docs and the role × endpoint tests).
RELATION_ROLES: dict[Relation, frozenset[Role]] = {
    R.queue_holder: frozenset({Role.department_staff, Role.department_lead,
                               Role.community_dispatcher, Role.grid_worker}),
    R.assignee: frozenset({Role.department_staff, Role.department_lead,
                           Role.community_dispatcher, Role.grid_worker}),
    R.department_lead: frozenset({Role.department_lead}),
    R.grid_worker_of_grid: frozenset({Role.grid_worker}),
    R.reporter: frozenset({Role.grid_worker}),
    R.dispatcher: frozenset({Role.community_dispatcher, Role.street_dispatcher}),
    R.street_dispatcher: frozenset({Role.street_dispatcher}),
    R.rerouter: frozenset({Role.community_dispatcher, Role.street_dispatcher}),
    R.poster: frozenset({Role.integration}),
    R.summoned: frozenset({Role.department_staff, Role.department_lead}),
    R.approver: frozenset({Role.community_dispatcher, Role.street_dispatcher}),
    R.admin: frozenset({Role.admin}),
}


def roles_for(transition: Transition) -> frozenset[Role]:
    return frozenset().union(*(RELATION_ROLES[r] for r in transition.who))


def mermaid() -> str:
    """The state diagram for the README (``whistle workflow-diagram``). Actions allowed from
    most open states are drawn once from a pseudo-state "any open state"."""
    lines = ["stateDiagram-v2", '    state "any open state" as open',
             "    [*] --> dispatched: post", "    [*] --> self_handling: post (自处)"]
    edges: dict[tuple[str, str], list[str]] = {}
    for tr in TRANSITIONS:
        if tr.target is None:
            continue  # in-place actions (note, transfer, rate ...) are listed under the diagram
        sources = ["open"] if len(tr.sources) >= 5 else sorted(tr.sources)
        for source in sources:
            edges.setdefault((source, tr.target.value), []).append(tr.action)
    lines += [f"    {a} --> {b}: {', '.join(acts)}" for (a, b), acts in edges.items()]
    lines += ["    closed --> [*]", "    cancelled --> [*]"]
    return "\n".join(lines)
