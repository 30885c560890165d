"""HTTP for the list of extension and suspension requests (延期/挂起申请) in scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import CurrentActor
from app.deps import SessionDep
from app.errors import problem_responses
from app.ids import Id
from app.sla.pending import RequestKind, RequestStatus, TicketRequestOut, list_requests

router = APIRouter(tags=["workflow"])


@router.get("/ticket-requests", operation_id="list_ticket_requests",
            response_model=list[TicketRequestOut],
            summary="Extension and suspension requests of the tickets in your scope, oldest first, "
                    "paged with `after`",
            description="By default the pending ones: what the level above has to decide "
                        "(`POST /tickets/{id}/decide-extension` or `…/decide-suspension`).",
            responses=problem_responses(401, 422))
async def list_ticket_requests(
    actor: CurrentActor, session: SessionDep,
    status: Annotated[RequestStatus, Query()] = "pending",
    kind: Annotated[RequestKind | None, Query()] = None,
    ticket_id: Annotated[Id | None, Query(description="one ticket's requests")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    after: Annotated[Id | None, Query(
        description="the id of the last request of the previous page: continue after it")] = None,
) -> list[TicketRequestOut]:
    return await list_requests(session, actor=actor, status=status, kind=kind, ticket_id=ticket_id,
                               limit=limit, after=after)
