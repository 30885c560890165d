"""HTTP for suggestion (智能分拨) and the triage queue (待分拨)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.actor import Actor
from app.auth.deps import CurrentActor, require_roles
from app.auth.models import Role
from app.auth.scope import can_read_grid
from app.deps import ClockDep, LangDep, SessionDep
from app.errors import InvalidInput, problem_responses
from app.matrix.cache import MatrixCacheDep
from app.messages import M
from app.suggest import service, triage
from app.suggest.cache import Suggester, suggester
from app.suggest.schemas import SuggestionOut, SuggestOut, SuggestRequest
from app.tickets.lookups import Lookups, LookupsDep
from app.tickets.router import ticket_out
from app.tickets.schemas import TicketOut

router = APIRouter()

SuggesterDep = Annotated[Suggester, Depends(suggester)]
Triager = Annotated[Actor, require_roles(Role.street_dispatcher, Role.community_dispatcher,
                                         Role.supervisor, Role.admin)]


@router.post(
    "/matrix/suggest", operation_id="suggest_items", tags=["matrix"], response_model=SuggestOut,
    summary="Suggest the matrix items for what was written (智能分拨)",
    description="The top items with their scores, where each would route and the words "
                "that drove it. Text the model cannot read (emoji, English only) answers "
                "200 with no suggestions and a note; empty text or more than 4,000 "
                "characters is a 422. Optional context re-weighs the text's scores: the "
                "report's `grid` (or `location`, resolved to its grid) makes the items of the "
                "grid's recent tickets likelier, `recent_items` those the poster recently "
                "reported; an unknown grid, a location outside every grid, a grid outside "
                "your scope or an unknown item is a 422 naming the field.",
    responses=problem_responses(401, 422),
)
async def suggest_items(body: SuggestRequest, actor: CurrentActor, session: SessionDep,
                        matrix_cache: MatrixCacheDep, suggester: SuggesterDep,
                        lookups: LookupsDep, clock: ClockDep) -> SuggestOut:
    matrix = await matrix_cache.current(session)
    context = None
    if body.grid is not None or body.location is not None or body.recent_items:
        grid = await _context_grid(session, lookups, actor, body)
        context = await service.context_for(session=session, suggester=suggester,
                                            matrix=matrix, grid=grid,
                                            recent_items=body.recent_items or (),
                                            now=clock.now())
    found = await service.suggest(session=session, suggester=suggester, matrix=matrix,
                                  text=body.text, limit=body.limit, context=context,
                                  now=clock.now())
    return SuggestOut(
        matrix_version=found.matrix_version_id, model_version=found.model_version,
        confident=found.confident, threshold=found.threshold, note=found.note,
        suggestions=[SuggestionOut(item=c.item.code, item_name=c.item.name,
                                   category=c.item.category_code, score=c.score, level=c.level,
                                   department=c.department, words=c.words)
                     for c in found.candidates])


async def _context_grid(session, lookups: Lookups, actor: Actor, body: SuggestRequest):
    """The grid of the report, found as posting finds it; None when neither is given. A
    grid's history is its own tickets in aggregate: outside the actor's scope it is refused
    as posting refuses it."""
    if body.grid is not None:
        grid = await lookups.grid_by_code(session, body.grid)
        if grid is None:
            raise InvalidInput.at(["body", "grid"], M("suggest.no_grid", code=body.grid),
                                  "unknown_grid")
        if not can_read_grid(actor, grid):
            raise InvalidInput.at(["body", "grid"], M("error.grid_not_in_scope", code=body.grid))
        return grid
    if body.location is not None:
        grid = await lookups.locate(session, body.location.lat, body.location.lon)
        if grid is None:
            raise InvalidInput.at(["body", "location"], M("error.outside_every_grid"),
                                  "outside_every_grid")
        if not can_read_grid(actor, grid):
            raise InvalidInput.at(["body", "location"],
                                  M("error.location_outside_scope", code=grid.code))
        return grid
    return None


@router.get(
    "/jurisdictions/{code}/triage", operation_id="triage_queue", tags=["queues"],
    response_model=list[TicketOut],
    summary="A street's or a community's triage queue (待分拨): posts no suggestion was "
            "confident about",
    description="`code` is a street (posts that may be any department's) or a community "
                "(posts whose plausible items are all the community's; read by its own "
                "community dispatchers too). Route each with `POST /tickets/{id}/reroute` "
                "and an item: the reroute is recorded as a correction, and "
                "`whistle suggest-train` learns from it.",
    responses=problem_responses(401, 403, 404),
)
async def triage_queue(code: str, actor: Triager, session: SessionDep, lang: LangDep,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[TicketOut]:
    views = await triage.triage_queue(session=session, actor=actor, street_code=code, limit=limit)
    return [ticket_out(v, actor, lang=lang) for v in views]
