"""HTTP for the dispatchers' view of suspected duplicates (疑似重复)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import CurrentActor
from app.deps import SessionDep, SettingsDep
from app.duplicates import service
from app.duplicates.schemas import DuplicateGroup, DuplicateGroups
from app.errors import InvalidInput, problem_responses
from app.jurisdiction import service as jurisdictions
from app.jurisdiction.coordinates import DEFAULT_SYSTEM
from app.jurisdiction.geo import JurisdictionsDep
from app.tickets.router import AnswerSystem, ticket_out

router = APIRouter(tags=["tickets"])


@router.get(
    "/tickets/duplicates", operation_id="list_duplicate_groups", response_model=DuplicateGroups,
    summary="Suspected duplicates among the open tickets in your scope, in groups",
    description="Open tickets of the same matrix item with locations within "
                "WHISTLE_DUPLICATE_RADIUS_M of each other, posted within WHISTLE_DUPLICATE_DAYS "
                "of each other, joined into groups (a chain of such pairs is one group); the "
                "group whose latest ticket is newest comes first. Scoped like GET /tickets: "
                "only tickets you may read, reporters masked as there. Merge one into another "
                "with POST /tickets/{id}/merge.",
    responses=problem_responses(401, 422))
async def list_duplicate_groups(
    actor: CurrentActor, session: SessionDep, settings: SettingsDep, tree: JurisdictionsDep,
    jurisdiction: Annotated[str | None, Query(description="a street, community or grid code: "
                                              "its whole subtree")] = None,
    item: Annotated[str | None, Query(max_length=32, description="one matrix item")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="groups at most")] = 50,
    system: AnswerSystem = DEFAULT_SYSTEM,
) -> DuplicateGroups:
    level = node_id = None
    if jurisdiction:  # outside the scope it is answered like a code that does not exist
        snapshot = await tree.get(session)
        node = snapshot.node_by_code(jurisdiction)
        if node is None or not await jurisdictions.in_scope(
                session=session, tree=snapshot, actor=actor, node_id=node.id):
            raise InvalidInput.at(["query", "jurisdiction"], f"no jurisdiction {jurisdiction!r}")
        level, node_id = node.level.value, node.id
    groups = await service.duplicate_groups(session=session, actor=actor, settings=settings,
                                            level=level, node_id=node_id, item_code=item,
                                            limit=limit)
    return DuplicateGroups(groups=[
        DuplicateGroup(item=g.item_code, item_name=g.tickets[0].item_name,
                       spread_m=round(g.spread_m, 1),
                       tickets=[ticket_out(v, actor, system) for v in g.tickets])
        for g in groups])
