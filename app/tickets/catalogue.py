"""The event catalogue: every kind of timeline event the service writes, declared once, with
what it means for each concern that reacts to events.

Read one row to know everything that follows an event of that kind:

- ``restarts_response``: the ticket enters a queue afresh, so its response clock (响应)
  starts again;
- ``affects_deadlines``: some deadline or the sweep's next check may differ afterwards, so
  the deadlines step recomputes them (a claim is not one: its own statement stops the
  response clock);
- ``ends_case``: the case is over; an open whistle on it closes with it;
- ``report``: what it does to the report facts — ``posted`` adds a new ticket to the
  rollups at once, ``changed`` marks the ticket in the report backlog (its fact may move);
- ``live``: the Server-Sent Events name a department's live queue shows it as (None: the
  queue does not change);
- ``subscribable``: webhooks may subscribe to it.

``only_if_changed``: for an edit, the deadlines and report facts move only when this field
changed (an edit of the description moves neither).

The workflow table (``app.tickets.workflow``) names each action's event; the sets the
concerns use (``WEBHOOK_KINDS``, ``LIVE_EVENTS`` …) are derived from this table, never
written out again. Writing a kind the catalogue does not declare fails
(``declared``), and ``tests/tickets/test_catalogue.py`` checks every kind the code writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict


class ReportFacts(StrEnum):
    """What an event does to the report facts (``app.reports``)."""

    unchanged = "unchanged"
    posted = "posted"  # a new ticket: its posting counts go into the rollups at once
    changed = "changed"  # the ticket's fact may move: mark it in the report backlog


@dataclass(frozen=True, slots=True)
class EventKind:
    kind: str
    doc: str
    restarts_response: bool = False
    affects_deadlines: bool = False
    ends_case: bool = False
    report: ReportFacts = ReportFacts.unchanged
    live: str | None = None
    subscribable: bool = True
    only_if_changed: str | None = None
    written: bool = True  # False: found in old timelines only, no longer written

    def applies(self, data: dict[str, Any]) -> bool:
        """Whether this event's deadlines and report facts move (see ``only_if_changed``)."""
        if self.only_if_changed is None:
            return True
        return self.only_if_changed in data.get("changed", {})

    def moves_deadlines(self, data: dict[str, Any]) -> bool:
        return self.affects_deadlines and self.applies(data)

    def moves_report_facts(self, data: dict[str, Any]) -> bool:
        return self.report is ReportFacts.changed and self.applies(data)


F = ReportFacts


class _Flags(TypedDict, total=False):
    restarts_response: bool
    affects_deadlines: bool


_QUEUE_AGAIN: _Flags = {"restarts_response": True, "affects_deadlines": True}

CATALOGUE: tuple[EventKind, ...] = (
    EventKind("created", "posted: routed by the matrix into a queue", report=F.posted,
              live="new"),
    # The workflow table's events (one per action; see app/tickets/workflow.py).
    EventKind("claim", "签收: claimed from a queue", report=F.changed, live="claimed"),
    EventKind("release", "put back in the queue", **_QUEUE_AGAIN, live="released"),
    EventKind("start", "handling begins", affects_deadlines=True, live="started"),
    EventKind("note", "progress recorded; nothing moves"),
    EventKind("resolve", "处置完毕: awaits verification", affects_deadlines=True,
              report=F.changed, live="resolved"),
    EventKind("self_close", "网格自处: closed by the grid worker", affects_deadlines=True,
              ends_case=True, report=F.changed, live="closed"),
    EventKind("return", "退单: back to the dispatcher", affects_deadlines=True,
              report=F.changed, live="returned"),
    EventKind("reroute", "改派: routed again", **_QUEUE_AGAIN, report=F.changed,
              live="rerouted"),
    EventKind("transfer", "handed to another staff member", live="transferred"),
    EventKind("verify_pass", "核查通过 → 结案", affects_deadlines=True, ends_case=True,
              report=F.changed, live="closed"),
    EventKind("verify_fail", "核查不通过 → 返工", affects_deadlines=True, report=F.changed,
              live="rework"),
    EventKind("edit", "description, address or urgency corrected", affects_deadlines=True,
              report=F.changed, live="edited", only_if_changed="urgency"),
    EventKind("cancel", "作废", affects_deadlines=True, ends_case=True, report=F.changed,
              live="cancelled"),
    EventKind("merge", "合并: closed into another ticket", affects_deadlines=True,
              ends_case=True, report=F.changed, live="cancelled"),
    EventKind("reopen", "重新打开", **_QUEUE_AGAIN, report=F.changed, live="reopened"),
    EventKind("rate", "评价", report=F.changed),
    EventKind("escalate", "上报: one level up, by hand or by the system when the level "
              "failed its limits (data.auto; actor system)",
              **_QUEUE_AGAIN, report=F.changed, live="escalated"),
    EventKind("request_extension", "延期申请"),
    EventKind("approve_extension", "批准延期: the resolution deadline moves",
              affects_deadlines=True, report=F.changed, live="deadline_changed"),
    EventKind("reject_extension", "驳回延期"),
    EventKind("request_suspension", "挂起申请"),
    EventKind("approve_suspension", "批准挂起: the clock stops", affects_deadlines=True,
              report=F.changed, live="suspended"),
    EventKind("reject_suspension", "驳回挂起"),
    EventKind("resume", "恢复: the clock runs again", affects_deadlines=True,
              report=F.changed, live="resumed"),
    EventKind("whistle_blown", "吹哨: departments summoned (by hand or automatically)",
              report=F.changed, live="whistle_blown"),
    EventKind("reported_in", "报到: a summoned department reported in", report=F.changed,
              live="reported_in"),
    # Written outside the table.
    EventKind("merged_in", "a duplicate was merged into this ticket"),
    EventKind("sla_warning", "即将超时: a clock passed its warning share",
              live="sla_warning"),
    EventKind("sla_overdue", "超时: a clock passed its deadline", live="sla_overdue"),
    EventKind("supervised", "督办: overdue at street level, flagged for supervision",
              live="supervised"),
    EventKind("report_in_missed", "报到超时: a summoned department missed its deadline",
              live="report_in_missed"),
    EventKind("open311_received", "what an Open311 request carried beyond the ticket's "
              "columns (its media_url), next to created", subscribable=False),
    EventKind("open311_update", "a resident's comment on the case, POSTed by an Open311 "
              "client (servicerequestupdates); nothing moves", subscribable=False),
    # Old timelines only: the sweep's 上报 before it became the ``escalate`` action by the
    # system (data.auto). Reports and notifications still read it in history.
    EventKind("escalated", "上报 by the sweep (before December 2026; now escalate, auto)",
              report=F.changed, live="escalated", written=False),
)

BY_KIND: dict[str, EventKind] = {k.kind: k for k in CATALOGUE}


class UndeclaredEventKind(LookupError):
    """An event kind the catalogue does not declare: a programming error."""


def declared(kind: str) -> EventKind:
    """The catalogue's row for ``kind``; raises ``UndeclaredEventKind`` for any other."""
    try:
        return BY_KIND[kind]
    except KeyError:
        raise UndeclaredEventKind(
            f"event kind {kind!r} is not declared in app/tickets/catalogue.py") from None


# --- derived: what each concern reads --------------------------------------------------------

WEBHOOK_KINDS: frozenset[str] = frozenset(
    k.kind for k in CATALOGUE if k.subscribable and k.written)
LIVE_EVENTS: dict[str, str] = {k.kind: k.live for k in CATALOGUE if k.live is not None}
REPORT_FACT_KINDS: frozenset[str] = frozenset(
    k.kind for k in CATALOGUE if k.report is ReportFacts.changed)
ESCALATION_KINDS: frozenset[str] = frozenset({"escalate", "escalated"})
