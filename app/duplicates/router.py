"""HTTP for the dispatchers' view of suspected duplicates (疑似重复)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import CurrentActor
from app.deps import ClockDep, SessionDep, SettingsDep
from app.duplicates import service
from app.duplicates.schemas import DuplicateGroup, DuplicateGroups, PossibleDuplicate
from app.errors import InvalidInput, problem_responses
from app.jurisdiction import service as jurisdictions
from app.jurisdiction.coordinates import (
    DEFAULT_SYSTEM,
    SYSTEM_DESCRIPTION,
    CoordinateSystem,
    to_wgs84,
)
from app.jurisdiction.geo import JurisdictionsDep
from app.messages import M
from app.tickets.router import AnswerSystem, duplicate_out, ticket_out

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
            raise InvalidInput.at(["query", "jurisdiction"], M("error.no_jurisdiction", code=jurisdiction))
        level, node_id = node.level.value, node.id
    groups = await service.duplicate_groups(session=session, actor=actor, settings=settings,
                                            level=level, node_id=node_id, item_code=item,
                                            limit=limit)
    return DuplicateGroups(groups=[
        DuplicateGroup(item=g.item_code, item_name=g.tickets[0].item_name,
                       spread_m=round(g.spread_m, 1),
                       tickets=[ticket_out(v, actor, system) for v in g.tickets])
        for g in groups])


@router.get(
    "/tickets/nearby", operation_id="list_nearby_open_tickets",
    response_model=list[PossibleDuplicate],
    summary="Before posting: the open tickets of an item near a point (what the post would "
            "answer as possible_duplicates)",
    description="The check POST /tickets makes, without posting: open tickets of ``item`` "
                "within WHISTLE_DUPLICATE_RADIUS_M of the point, posted in the last "
                "WHISTLE_DUPLICATE_DAYS, that you may read; nearest first, at most 5. Lets a "
                "client show them before the report is sent, as FixMyStreet does. "
                "``coordinate_system`` is the system of lat/lon and of the answer.",
    responses=problem_responses(401, 422))
async def list_nearby_open_tickets(
    actor: CurrentActor, session: SessionDep, settings: SettingsDep, clock: ClockDep,
    item: Annotated[str, Query(min_length=1, max_length=32, description="a matrix item code")],
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude, degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude, degrees")],
    coordinate_system: Annotated[CoordinateSystem, Query(
        description=SYSTEM_DESCRIPTION)] = DEFAULT_SYSTEM,
) -> list[PossibleDuplicate]:
    wgs_lat, wgs_lon = to_wgs84(lat, lon, coordinate_system)
    found = await service.possible_duplicates(session=session, actor=actor, item_code=item,
                                              lat=wgs_lat, lon=wgs_lon, now=clock.now(),
                                              settings=settings)
    return [duplicate_out(n, actor, coordinate_system) for n in found]
