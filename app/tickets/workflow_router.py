"""HTTP for the workflow: one POST per action of the table, claim-next, edits, the table."""


from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel

from app.auth.deps import CurrentActor, require_roles
from app.auth.models import Role
from app.deps import ClockDep, LangDep, SessionDep, SettingsDep
from app.errors import InvalidInput, NotFound, PreconditionRequired, problem_responses
from app.ids import IdPath
from app.messages import Lang, M
from app.tickets import action_schemas as body
from app.tickets import service
from app.tickets.action_context import ActionInput
from app.tickets.lookups import LookupsDep
from app.tickets.router import etag, ticket_out
from app.tickets.schemas import TicketOut
from app.tickets.workflow import BY_ACTION, TRANSITIONS, roles_for
from app.whistle.service import summoned_departments
from app.workflow import actions, claiming

router = APIRouter(tags=["workflow"])

IfMatch = Annotated[str | None, Header(alias="If-Match", description=(
    'the ETag from your last read ("<id>.<version>"); a stale one gets 412'))]
ACTION_ERRORS = problem_responses(401, 403, 404, 409, 412, 422)


def parse_if_match(value: str | None, ticket_id: int) -> int | None:
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    head, _, tail = raw.rpartition(".")
    try:
        version = int(tail)
        if head and int(head) != ticket_id:
            raise ValueError
    except ValueError as exc:
        raise InvalidInput.at(["header", "If-Match"],
                              M("error.if_match_format", id=ticket_id)) from exc
    return version


class TransitionOut(BaseModel):
    action: str
    from_states: list[str]
    to_state: str | None
    who: list[str]
    roles: list[str]
    needs: list[str]
    event: str
    description: str


@router.get("/workflow", operation_id="get_workflow", response_model=list[TransitionOut],
            summary="The ticket state machine: every action, from which states, by whom")
async def get_workflow() -> list[TransitionOut]:
    return [TransitionOut(action=t.action, from_states=sorted(t.sources),
                          to_state=t.target.value if t.target else None,
                          who=sorted(t.who), roles=sorted(roles_for(t)), needs=sorted(t.needs),
                          event=t.event, description=t.doc) for t in TRANSITIONS]


async def _act(action: str, ticket_id: int, data: ActionInput, *, response: Response, actor,
               session, clock, settings, lookups, if_match: str | None,
               lang: Lang = "en") -> TicketOut:
    ticket = await actions.take_action(
        session=session, actor=actor, ticket_id=ticket_id, action=action, data=data,
        if_match=parse_if_match(if_match, ticket_id), now=clock.now(), settings=settings,
        lookups=lookups, summoned_departments=await summoned_departments(session, ticket_id))
    view = await service.get_ticket(session=session, actor=actor, ticket_id=ticket.id)
    response.headers["ETag"] = etag(view)
    return ticket_out(view, actor, lang=lang)


def _route(action: str, body_model: type[BaseModel] | None, to_input, *, path: str | None = None,
           summary: str | None = None) -> None:
    doc = BY_ACTION[action].doc if action in BY_ACTION else summary or action
    url = f"/tickets/{{ticket_id}}/{path or action.replace('_', '-')}"

    if body_model is None:
        async def endpoint(ticket_id: IdPath, response: Response, actor: CurrentActor,
                           session: SessionDep, clock: ClockDep, settings: SettingsDep,
                           lookups: LookupsDep, lang: LangDep, if_match: IfMatch = None,
                           payload: body.CommentBody | None = None) -> TicketOut:
            return await _act(action, ticket_id, to_input(payload), response=response,
                              actor=actor, session=session, clock=clock, settings=settings,
                              lookups=lookups, if_match=if_match, lang=lang)
    else:
        # FastAPI reads the body's model from the signature: a variable one, and so a
        # signature other than the bodiless variant's.
        async def endpoint(  # type: ignore[misc]
                ticket_id: IdPath, payload: body_model,  # type: ignore[valid-type]
                response: Response, actor: CurrentActor, session: SessionDep, clock: ClockDep,
                settings: SettingsDep, lookups: LookupsDep, lang: LangDep,
                if_match: IfMatch = None) -> TicketOut:
            return await _act(to_action(action, payload), ticket_id, to_input(payload),
                              response=response, actor=actor, session=session, clock=clock,
                              settings=settings, lookups=lookups, if_match=if_match, lang=lang)

    router.add_api_route(url, endpoint, methods=["POST"], response_model=TicketOut,
                         operation_id=f"ticket_{path or action}", summary=summary or doc,
                         description=doc, responses=ACTION_ERRORS)


def to_action(action: str, payload: Any) -> str:
    if action == "verify":
        return "verify_pass" if payload.passed else "verify_fail"
    if action in ("decide_extension", "decide_suspension"):
        kind = action.removeprefix("decide_")
        return f"approve_{kind}" if payload.approve else f"reject_{kind}"
    return action


def _comment(p: body.CommentBody | None) -> ActionInput:
    return ActionInput(comment=p.comment if p else None)


def _fields(p: BaseModel) -> ActionInput:
    return ActionInput(**p.model_dump(exclude_none=True, exclude={"passed", "approve"}))


for _name in ("claim", "release", "start"):
    _route(_name, None, _comment)
for _name in ("note", "resolve", "self_close"):
    _route(_name, body.ResultBody, _fields)
for _name in ("return", "cancel", "reopen"):
    _route(_name, body.ReasonBody, _fields)
_route("verify", body.VerifyBody, _fields,
       summary="核查: verify on site; passed → closed (结案), failed → rework (返工)")
_route("reroute", body.RerouteBody, _fields)
_route("transfer", body.TransferBody, _fields)
_route("merge", body.MergeBody, _fields)
_route("rate", body.RateBody, _fields)
_route("escalate", body.ReasonBody, _fields)
_route("request_extension", body.ExtensionBody, _fields)
_route("decide_extension", body.DecisionBody, _fields,
       summary="批准/驳回延期: the level above approves or rejects the pending extension")
_route("request_suspension", body.ReasonBody, _fields)
_route("decide_suspension", body.DecisionBody, _fields,
       summary="批准/驳回挂起: the level above approves (clock stops) or rejects a suspension")
_route("resume", None, _comment)
_route("blow_whistle", body.WhistleBody, _fields, path="whistle")
_route("report_in", None, _comment)


@router.patch("/tickets/{ticket_id}", operation_id="edit_ticket", response_model=TicketOut,
              summary="Correct description, address or urgency (If-Match required)",
              responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
async def edit_ticket(ticket_id: IdPath, payload: body.EditBody, response: Response,
                      actor: CurrentActor, session: SessionDep, clock: ClockDep,
                      settings: SettingsDep, lookups: LookupsDep,
                      if_match: IfMatch = None) -> TicketOut:
    if if_match is None:
        raise PreconditionRequired(M("error.if_match_required"))
    ticket = await actions.edit_ticket(
        session=session, actor=actor, ticket_id=ticket_id,
        changes=payload.model_dump(exclude_none=True),
        if_match=parse_if_match(if_match, ticket_id), now=clock.now(), settings=settings,
        lookups=lookups)
    view = await service.get_ticket(session=session, actor=actor, ticket_id=ticket.id)
    response.headers["ETag"] = etag(view)
    return ticket_out(view, actor)


ClaimStaff = Annotated[Any, require_roles(Role.department_staff, Role.department_lead)]


@router.post("/departments/{code}/queue/claim-next", operation_id="claim_next", tags=["queues"],
             response_model=TicketOut,
             summary="Claim the most urgent ticket of your department's queue",
             responses={204: {"description": "the queue is empty"},
                        **problem_responses(401, 403, 404)})
async def claim_next(code: str, response: Response, actor: ClaimStaff, session: SessionDep,
                     clock: ClockDep, lookups: LookupsDep):
    # From the process's cache: no query before the claim (see claiming.claim_next).
    dept_id = await lookups.department_id(session, code)
    if dept_id is None or dept_id != actor.department_id:
        raise NotFound(M("error.no_department_of_yours", code=code))
    ticket = await claiming.claim_next(session=session, actor=actor, department_id=dept_id,
                                      now=clock.now())
    if ticket is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    # On PostgreSQL the claim statement returned the row and what its answer shows.
    view = claiming.claimed_view(ticket) or await service.get_ticket(
        session=session, actor=actor, ticket_id=ticket.id)
    response.headers["ETag"] = etag(view)
    return ticket_out(view, actor)
