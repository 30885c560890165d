"""Taking a workflow action on a ticket.

Every action is: check the table (state, relation, needs) for a helpful error, run the
effect the table names for it, then one conditional UPDATE guarded by the state *and* the
version that was read, then the timeline event (and with it the after-event pipeline), all
in the caller's transaction. The database decides races: of two claimers the second UPDATE
matches no row and gets 409 naming the holder; a stale If-Match gets 412.

``EFFECTS`` maps the effect names of the table to the functions, written out here from the
domains that own what each writes; a name the table gives and no function answers fails
when this module is imported, at startup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import SYSTEM, Actor
from app.auth.models import Role, User
from app.auth.scope import ticket_scope_clause
from app.config import Settings
from app.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotYourTurn,
    PreconditionFailed,
)
from app.matrix.models import MatrixItem
from app.messages import M, Message, render
from app.sla import effects as sla_effects
from app.sla import service as sla
from app.tickets import repository as repo
from app.tickets.action_context import ActionInput, Context, Effect
from app.tickets.events import record_event
from app.tickets.guards import may_ever_take, may_take
from app.tickets.lookups import Lookups
from app.tickets.models import OPEN_STATUSES, Ticket
from app.tickets.ratings import RATINGS
from app.tickets.routing import route
from app.tickets.workflow import BY_ACTION, TRANSITIONS, Need, Relation
from app.whistle import service as whistles
from app.workflow.claiming import claim_values


async def load_for_action(session: AsyncSession, actor: Actor, ticket_id: int) -> Ticket:
    ticket = (await session.execute(
        select(Ticket).where(Ticket.id == ticket_id, ticket_scope_clause(actor, Ticket))
        .execution_options(populate_existing=True)
    )).scalar_one_or_none()
    if ticket is None:
        raise NotFound(M("error.no_ticket", id=ticket_id))
    return ticket


async def _holder_name(session: AsyncSession, user_id: int | None) -> str | Message:
    if user_id is None:
        return M("error.someone_else")
    user = await session.get(User, user_id)
    return user.display_name if user else f"user {user_id}"


async def _check_who_and_when(ctx: Context, summoned_departments: tuple[int, ...] = ()) -> None:
    """The README's rule. Who first: an actor who may never take this action on this ticket
    (no relation it needs is theirs to hold) hears 403, whatever the state. Then when: the
    wrong state is 409, and so is a part the workflow has not given them yet (not the
    assignee: claim first; not summoned)."""
    ticket, tr, actor = ctx.ticket, ctx.transition, ctx.actor
    if not may_ever_take(tr, actor, ticket, summoned_departments=summoned_departments):
        raise Forbidden(M("error.action_forbidden", action=tr.action,
                          roles=", ".join(sorted(r.value for r in tr.who))))
    if ticket.status not in tr.sources:
        await _refuse_wrong_state(ctx)
    if not may_take(tr, actor, ticket, summoned_departments=summoned_departments):
        await _refuse_not_yet(ctx)


async def _refuse_not_yet(ctx: Context) -> None:
    ticket, action = ctx.ticket, ctx.transition.action
    if Relation.summoned in ctx.transition.who and Relation.assignee not in ctx.transition.who:
        raise NotYourTurn(M("error.not_summoned_to", id=ticket.id, action=action))
    if ticket.assignee_id is None:
        raise NotYourTurn(M("error.claim_first", id=ticket.id, action=action),
                          status_now=ticket.status)
    holder = await _holder_name(ctx.session, ticket.assignee_id)
    raise NotYourTurn(M("error.claimed_by_other", id=ticket.id, holder=holder, action=action),
                      status_now=ticket.status, holder_id=ticket.assignee_id, holder=holder)


async def _refuse_wrong_state(ctx: Context) -> None:
    ticket, tr = ctx.ticket, ctx.transition
    if tr.action == "claim" and ticket.status == "claimed":
        holder = await _holder_name(ctx.session, ticket.assignee_id)
        raise Conflict(M("error.already_claimed", id=ticket.id, holder=holder),
                       holder_id=ticket.assignee_id, holder=str(holder))
    allowed = sorted(a for a, t in BY_ACTION.items() if ticket.status in t.sources)
    raise InvalidTransition(
        M("error.transition", action=tr.action, status=M(f"status.{ticket.status}"),
          allowed=", ".join(allowed)),
        status_now=ticket.status, allowed_actions=allowed)


def _require(ctx: Context, need: Need, value: Any, loc: str, msg: Message) -> None:
    if need in ctx.transition.needs and not value:
        raise InvalidInput.at(["body", loc], msg, "missing")


async def _check_needs(ctx: Context) -> None:
    d = ctx.data
    _require(ctx, Need.reason, d.reason, "reason", M("error.reason_required"))
    _require(ctx, Need.result, d.result, "result", M("error.result_required"))
    _require(ctx, Need.photos, d.attachments, "attachments", M("error.photo_required"))
    if Need.photos_if_item_requires in ctx.transition.needs and not d.attachments:
        item = await ctx.session.get(MatrixItem, ctx.ticket.item_id)
        if item is not None and item.photo_required:
            raise InvalidInput.at(["body", "attachments"],
                                  M("error.item_photo_required", code=item.code), "missing")
    _require(ctx, Need.target_ticket, d.target_ticket_id, "target_ticket_id",
             M("error.merge_target_required"))
    _require(ctx, Need.assignee, d.assignee_id, "assignee_id", M("error.assignee_required"))
    if Need.rating in ctx.transition.needs and d.rating not in RATINGS:
        raise InvalidInput.at(["body", "rating"], M("error.rating_values", values=", ".join(RATINGS)))
    _require(ctx, Need.minutes, d.minutes, "minutes", M("error.minutes_required"))
    if Need.new_routing in ctx.transition.needs and not (d.item or d.department):
        raise InvalidInput.at(["body", "item"], M("error.new_routing_required"), "missing")


async def take_action(
    *,
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    action: str,
    data: ActionInput,
    if_match: int | None,
    now: datetime,
    settings: Settings,
    lookups: Lookups,
    summoned_departments: tuple[int, ...] = (),
) -> Ticket:
    transition = BY_ACTION[action]
    ticket = await load_for_action(session, actor, ticket_id)
    ctx = Context(session, actor, ticket, transition, data, now, settings, lookups)
    await _check_who_and_when(ctx, summoned_departments)
    if if_match is not None and if_match != ticket.version:
        raise PreconditionFailed(
            M("error.version_stale", id=ticket.id, current=ticket.version, given=if_match),
            current_version=ticket.version)
    await _check_needs(ctx)
    if transition.effect is not None:
        await EFFECTS[transition.effect](ctx)
    return await apply(ctx)


async def system_escalate(session: AsyncSession, ticket: Ticket, *, now: datetime,
                          settings: Settings, reason: str) -> bool:
    """上报 by the system (the sweep, when a level failed its limits): the ``escalate``
    action's own effect, conditional update, event and after-event pipeline, by ``SYSTEM``.
    No relation is checked (the system is no role); the state is. False when the ladder
    refuses: the level above was reached once already (the unique key), or it is the
    street's. The caller holds the ticket's row (the sweep locks its batch)."""
    transition = BY_ACTION["escalate"]
    # Escalation looks nothing up (no item, grid or department by code): no lookups.
    ctx = Context(session, SYSTEM, ticket, transition, ActionInput(reason=reason), now,
                  settings, lookups=None)  # type: ignore[arg-type]  # (see above)
    if ticket.status not in transition.sources:
        await _refuse_wrong_state(ctx)
    try:
        await EFFECTS[transition.effect](ctx)  # type: ignore[index]  # escalate's is not None
    except Conflict:
        return False  # nothing was written: the ladder's unique key refused the step
    await apply(ctx)
    return True


async def apply(ctx: Context) -> Ticket:
    """The conditional update and its event; re-reads to explain a lost race."""
    ticket, tr = ctx.ticket, ctx.transition
    before = ticket.status
    target = tr.target.value if tr.target else before
    values = {"status": target, "version": Ticket.version + 1, "updated_at": ctx.now,
              **ctx.values}
    updated = (await ctx.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == before, Ticket.version == ticket.version)
        .values(**values)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    )).first()
    if updated is None:
        await _explain_lost_race(ctx)
    event_id = await record_event(
        ctx.session, ticket_id=ticket.id, kind=tr.event, actor=ctx.actor, at=ctx.now,
        from_status=before, to_status=target, data=_event_payload(ctx))
    if ctx.data.attachments:
        await repo.link_attachments(ctx.session, attachment_ids=ctx.data.attachments,
                                    uploader=(ctx.actor.user_id, ctx.actor.api_key_id),
                                    ticket_id=ticket.id, event_id=event_id)
    for step in ctx.after:
        await step(event_id)
    await ctx.session.refresh(ticket)
    return ticket


async def _explain_lost_race(ctx: Context) -> None:
    await ctx.session.refresh(ctx.ticket)
    if ctx.transition.action == "claim" and ctx.ticket.status == "claimed":
        await _refuse_wrong_state(ctx)
    raise Conflict(M("error.lost_race", id=ctx.ticket.id, status=M(f"status.{ctx.ticket.status}"),
                     version=ctx.ticket.version), current_version=ctx.ticket.version)


def _event_payload(ctx: Context) -> dict[str, Any]:
    d = ctx.data
    payload: dict[str, Any] = {k: v for k, v in (("reason", d.reason), ("result", d.result),
                                 ("rating", d.rating), ("comment", d.comment)) if v}
    if d.attachments:
        payload["attachments"] = list(d.attachments)
    payload.update(ctx.event_data)
    left = ctx.ticket.department_id
    if left is not None and ctx.values.get("department_id", left) != left:
        # The queue the ticket leaves hears of it too (live queues, webhooks).
        payload["left_department_id"] = left
    return payload


async def _claim(ctx: Context) -> None:
    ctx.values.update(claim_values(ctx.actor.user_id, ctx.now))
    ticket_id = ctx.ticket.id

    async def stop_clock(_event_id: int) -> None:
        await sla.stop_response_clock(ctx.session, ticket_id)

    ctx.after.append(stop_clock)


async def _unassign(ctx: Context) -> None:
    ctx.values.update(assignee_id=None, claimed_at=None)


async def _resolve(ctx: Context) -> None:
    ctx.values.update(resolved_at=ctx.now)


async def _close(ctx: Context) -> None:
    ctx.values.update(closed_at=ctx.now)
    if ctx.ticket.resolved_at is None:
        ctx.values["resolved_at"] = ctx.now


async def _return(ctx: Context) -> None:
    ctx.values.update(assignee_id=None, claimed_at=None, return_count=Ticket.return_count + 1)


async def _verify_fail(ctx: Context) -> None:
    # The deadline is kept, not reset: repeated rework shows up as lateness.
    ctx.values.update(rework_count=Ticket.rework_count + 1, resolved_at=None)


async def _reopen(ctx: Context) -> None:
    closed_at = ctx.ticket.closed_at
    limit = timedelta(days=ctx.settings.reopen_days)
    if closed_at is None or ctx.now - closed_at > limit:
        raise Conflict(M("error.reopen_window", days=ctx.settings.reopen_days))
    ctx.values.update(closed_at=None, resolved_at=None, assignee_id=None, claimed_at=None)


async def _rate(ctx: Context) -> None:
    if ctx.ticket.rating is not None:
        raise Conflict(M("error.already_rated", id=ctx.ticket.id, rating=ctx.ticket.rating))
    ctx.values.update(rating=ctx.data.rating, rating_comment=ctx.data.comment)


async def _transfer(ctx: Context) -> None:
    user = await ctx.session.get(User, ctx.data.assignee_id)
    if (user is None or not user.is_active or user.department_id != ctx.ticket.department_id
            or user.role not in (Role.department_staff, Role.department_lead)):
        raise InvalidInput.at(["body", "assignee_id"],
                              M("error.assignee_same_department"))
    ctx.values.update(assignee_id=user.id)
    ctx.event_data.update(from_assignee=ctx.ticket.assignee_id, to_assignee=user.id)


async def _merge(ctx: Context) -> None:
    target_id = ctx.data.target_ticket_id
    target = (await ctx.session.execute(select(Ticket).where(
        Ticket.id == target_id, ticket_scope_clause(ctx.actor, Ticket)))).scalar_one_or_none()
    if target is None or target.id == ctx.ticket.id:
        raise InvalidInput.at(["body", "target_ticket_id"], M("error.no_other_ticket", id=target_id))
    if target.status not in OPEN_STATUSES:
        raise InvalidInput.at(["body", "target_ticket_id"],
                              M("error.merge_into_open", id=target_id,
                                status=M(f"status.{target.status}")))
    ctx.values.update(merged_into_id=target.id)
    ctx.event_data.update(merged_into=target.id)
    duplicate = ctx.ticket

    async def note_on_target(event_id: int) -> None:
        await record_event(ctx.session, ticket_id=target.id, kind="merged_in", actor=ctx.actor,
                           at=ctx.now, data={"duplicate": duplicate.id,
                                             "reporter_name": duplicate.reporter_name,
                                             "reporter_phone": duplicate.reporter_phone,
                                             "created_by_user_id": duplicate.created_by_user_id})

    ctx.after.append(note_on_target)


async def _reroute(ctx: Context) -> None:
    d = ctx.data
    # Routed: out of the triage queue (待分拨), if it was in one.
    values: dict[str, Any] = {"assignee_id": None, "claimed_at": None, "awaiting_triage": False}
    if d.item:
        found = await ctx.lookups.current_item(ctx.session, d.item)
        if found is None:
            raise InvalidInput.at(["body", "item"], M("error.no_item", code=d.item))
        version_id, item = found
        routing = route(item, self_handle=False, may_self_handle=False)
        values.update(matrix_version_id=version_id, item_id=item.id, item_code=item.code,
                      category_code=item.category_code, level=routing.level,
                      routing_reason=render("routing.rerouted", reason=routing.reason))
        department_code = routing.department_code
    else:
        department_code = None
    if d.department:
        department_code = d.department
        values.update(level="street", routing_reason=render("routing.rerouted_department",
                                                    department=d.department))
    department_id = None
    if department_code:
        department_id = await ctx.lookups.department_id(ctx.session, department_code)
        if department_id is None:
            raise InvalidInput.at(["body", "department"],
                                  M("error.no_department", code=department_code))
    values["department_id"] = department_id
    ctx.values.update(values)
    ctx.event_data.update(item=d.item or ctx.ticket.item_code, department=department_code,
                          level=values.get("level", ctx.ticket.level))
    if d.item and d.item != ctx.ticket.item_code:
        # A correction (改派 to another item): ``whistle suggest-train`` learns most from these.
        ctx.event_data["corrected_from"] = ctx.ticket.item_code


# Every effect the workflow table names, by name (``Transition.effect``).
EFFECTS: dict[str, Effect] = {
    "claim": _claim,
    "unassign": _unassign,
    "resolve": _resolve,
    "close": _close,
    "return": _return,
    "reroute": _reroute,
    "transfer": _transfer,
    "verify_fail": _verify_fail,
    "merge": _merge,
    "reopen": _reopen,
    "rate": _rate,
    "escalate": sla_effects.escalate,
    "request_extension": sla_effects.request_extension,
    "approve_extension": sla_effects.approve_extension,
    "reject_extension": sla_effects.reject_extension,
    "request_suspension": sla_effects.request_suspension,
    "approve_suspension": sla_effects.approve_suspension,
    "reject_suspension": sla_effects.reject_suspension,
    "resume": sla_effects.resume,
    "blow_whistle": whistles.blow_whistle,
    "report_in": whistles.report_in,
}


def _check_effects() -> None:
    """Every effect the table names exists, and every effect here is named by the table."""
    named = {tr.effect for tr in TRANSITIONS if tr.effect is not None}
    missing, unused = sorted(named - EFFECTS.keys()), sorted(EFFECTS.keys() - named)
    if missing or unused:
        raise RuntimeError(f"the workflow table's effects and app.workflow.actions.EFFECTS "
                           f"disagree: named but missing {missing}, present but unnamed {unused}")


_check_effects()


EDITABLE = ("description", "address", "urgency")


async def edit_ticket(*, session: AsyncSession, actor: Actor, ticket_id: int,
                      changes: dict[str, Any], if_match: int | None, now: datetime,
                      settings: Settings, lookups: Lookups) -> Ticket:
    """Correct fields of an open ticket; the "edit" row of the table says who and when."""
    if not changes:
        raise InvalidInput.at(["body"], M("error.nothing_to_change"))
    transition = BY_ACTION["edit"]
    ticket = await load_for_action(session, actor, ticket_id)
    ctx = Context(session, actor, ticket, transition, ActionInput(), now, settings, lookups)
    await _check_who_and_when(ctx)
    if if_match != ticket.version:
        raise PreconditionFailed(
            M("error.version_stale", id=ticket.id, current=ticket.version, given=if_match),
            current_version=ticket.version)
    ctx.values.update({k: changes[k] for k in EDITABLE if k in changes})
    ctx.event_data.update(changed={k: {"from": getattr(ticket, k), "to": changes[k]}
                                   for k in EDITABLE if k in changes})
    return await apply(ctx)
