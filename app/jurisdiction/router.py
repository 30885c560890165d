"""HTTP for the jurisdiction tree (街道/社区/网格) and departments (职能部门)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Query, UploadFile

from app.auth.deps import Admin, CurrentActor
from app.deps import SessionDep
from app.errors import InvalidInput, PayloadTooLarge, problem_responses
from app.jurisdiction import service
from app.jurisdiction.coordinates import (
    DEFAULT_SYSTEM,
    SYSTEM_DESCRIPTION,
    CoordinateSystem,
    to_wgs84,
)
from app.jurisdiction.geo import JurisdictionsDep
from app.jurisdiction.schemas import (
    DepartmentOut,
    ImportSummary,
    JurisdictionDetail,
    JurisdictionNode,
    LocateOut,
    NodeBrief,
    Point,
)
from app.messages import M

MAX_IMPORT_BYTES = 20 * 1024 * 1024

router = APIRouter()

IncludeGeometry = Annotated[bool, Query(description="add each node's GeoJSON geometry")]


@router.get("/jurisdictions", operation_id="list_jurisdictions", tags=["jurisdictions"],
            response_model=list[JurisdictionNode],
            summary="The tree (street → communities → grids) within the caller's scope",
            responses=problem_responses(401))
async def list_jurisdictions(actor: CurrentActor, session: SessionDep, cache: JurisdictionsDep,
                             include_geometry: IncludeGeometry = False) -> list[JurisdictionNode]:
    tree = await cache.get(session)
    return await service.list_tree(session=session, tree=tree, actor=actor,
                                   include_geometry=include_geometry)


@router.get("/jurisdictions/locate", operation_id="locate_grid", tags=["jurisdictions"],
            response_model=LocateOut,
            summary="The grid (and its community and street) whose area holds a point",
            responses=problem_responses(401, 422))
async def locate_grid(
    actor: CurrentActor, session: SessionDep, cache: JurisdictionsDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="latitude, degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, description="longitude, degrees")],
    coordinate_system: Annotated[CoordinateSystem, Query(
        description=SYSTEM_DESCRIPTION)] = DEFAULT_SYSTEM,
) -> LocateOut:
    tree = await cache.get(session)
    wgs_lat, wgs_lon = to_wgs84(lat, lon, coordinate_system)
    grid = tree.locate(wgs_lat, wgs_lon)
    if grid is not None and not await service.in_scope(session=session, tree=tree, actor=actor,
                                                       node_id=grid.id):
        grid = None  # a grid outside the caller's scope is not named: it looks like none
    if grid is None:
        msg = (f"no grid contains the point ({lat}, {lon}) ({coordinate_system.value}): it is "
               "outside every grid or exactly on a grid border; give the grid code instead")
        raise InvalidInput(msg, errors=[{"loc": ["query", part], "msg": msg, "type": "value_error"}
                                        for part in ("lat", "lon")])
    community, street = tree.node(grid.community_id), tree.node(grid.street_id)
    assert community is not None and street is not None
    return LocateOut(grid=NodeBrief(code=grid.code, name=grid.name),
                     community=NodeBrief(code=community.code, name=community.name),
                     street=NodeBrief(code=street.code, name=street.name),
                     point=Point(lat=wgs_lat, lon=wgs_lon))


@router.get("/jurisdictions/{code}", operation_id="get_jurisdiction", tags=["jurisdictions"],
            response_model=JurisdictionDetail,
            summary="One node with its subtree; 404 if it is outside the caller's scope",
            responses=problem_responses(401, 404))
async def get_jurisdiction(code: str, actor: CurrentActor, session: SessionDep,
                           cache: JurisdictionsDep,
                           include_geometry: IncludeGeometry = False) -> JurisdictionDetail:
    tree = await cache.get(session)
    return await service.get_node(session=session, tree=tree, actor=actor, code=code,
                                  include_geometry=include_geometry)


@router.post("/jurisdictions/import", operation_id="import_jurisdictions",
             tags=["jurisdictions"], response_model=ImportSummary,
             summary="Create or update streets, communities and grids from a GeoJSON file",
             description="A FeatureCollection whose features have properties code, name, level "
                         "(street, community, grid) and parent (a code; null for a street). "
                         "Every bad feature is listed at errors[].loc = "
                         "[\"features\", index, property]; nothing is written then.",
             responses=problem_responses(401, 403, 413, 422))
async def import_jurisdictions(
    actor: Admin, session: SessionDep, cache: JurisdictionsDep, background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="a GeoJSON FeatureCollection")],
) -> ImportSummary:
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(M("error.file_too_large", limit=MAX_IMPORT_BYTES))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput.at(["body", "file"], M("jurisdiction.not_json", reason=str(exc))) from exc
    summary = await service.import_jurisdictions(session=session, feature_collection=data)
    # The commit happens at the edge after this returns: invalidate again once it is done
    # (background tasks run after the response), so a request that reloaded in between
    # does not keep the old tree until the next signature check.
    cache.invalidate()
    background.add_task(cache.invalidate)
    return summary


@router.get("/departments", operation_id="list_departments", tags=["departments"],
            response_model=list[DepartmentOut],
            summary="Every department with the codes of the streets it serves",
            responses=problem_responses(401))
async def list_departments(actor: CurrentActor, session: SessionDep) -> list[DepartmentOut]:
    return await service.list_departments(session=session)


@router.get("/departments/{code}", operation_id="get_department", tags=["departments"],
            response_model=DepartmentOut, summary="One department",
            responses=problem_responses(401, 404))
async def get_department(code: str, actor: CurrentActor, session: SessionDep) -> DepartmentOut:
    return await service.get_department(session=session, code=code)
