"""Business rules of the tree (街道 → 社区 → 网格) and of departments (职能部门).

Imports are upserts by code, so re-importing the same file changes nothing: a node's name
and geometry may change, its level and parent may not (tickets and users point at it).
Department files add street links but never remove them, so a city-wide department
imported by two streets' files serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.csvrows import csv_records
from app.csvtext import read_csv_file
from app.errors import InvalidInput, NotFound
from app.jurisdiction import repository as repo
from app.jurisdiction.geo import JurisdictionTree
from app.jurisdiction.importer import ExistingNode, NodeRow, parse_feature_collection
from app.jurisdiction.models import Department, DepartmentStreet, Jurisdiction, Level
from app.jurisdiction.schemas import (
    DepartmentImportSummary,
    DepartmentOut,
    ImportSummary,
    JurisdictionDetail,
    JurisdictionNode,
)
from app.jurisdiction.scope import Visibility, visibility
from app.messages import M

LEVEL_ORDER = (Level.street, Level.community, Level.grid)


async def import_jurisdictions(*, session: AsyncSession,
                               feature_collection: dict[str, Any]) -> ImportSummary:
    """Validate the whole file against itself and the database, then upsert every node.
    Raises ``InvalidInput`` listing every bad feature; nothing is written then."""
    nodes = {n.code: n for n in await repo.all_nodes(session)}
    code_of: dict[int | None, str] = {n.id: n.code for n in nodes.values()}  # street: None
    existing = {code: ExistingNode(level=Level(n.level), parent_code=code_of.get(n.parent_id),
                                   geometry=n.geometry) for code, n in nodes.items()}
    rows = parse_feature_collection(feature_collection, existing=existing)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for level in LEVEL_ORDER:
        created = []
        for row in (r for r in rows if r.level is level):
            node = nodes.get(row.code)
            if node is None:
                node = _new_node(row, nodes)
                session.add(node)
                nodes[row.code] = node
                created.append(node)
                counts["created"] += 1
            elif node.name != row.name or node.geometry != row.geometry:
                node.name, node.geometry = row.name, row.geometry
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        await session.flush()
        # A street is its own street and a community its own community: that needs the
        # id, which a new node has only after the flush.
        for node in created:
            if node.level == Level.street:
                node.street_id = node.id
            elif node.level == Level.community:
                node.community_id = node.id
        await session.flush()
    per_level = {level: sum(1 for r in rows if r.level is level) for level in LEVEL_ORDER}
    return ImportSummary(streets=per_level[Level.street], communities=per_level[Level.community],
                         grids=per_level[Level.grid], **counts)


def _new_node(row: NodeRow, nodes: dict[str, Jurisdiction]) -> Jurisdiction:
    parent = nodes[row.parent_code] if row.parent_code else None
    node = Jurisdiction(code=row.code, name=row.name, level=row.level.value,
                        parent_id=parent.id if parent else None, geometry=row.geometry)
    if parent is not None:
        node.street_id = parent.street_id
        node.community_id = parent.id if row.level is Level.grid else None
    return node


# --- departments -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    line: int
    code: str
    name: str
    streets: tuple[str, ...]


def _names_a_file(source: str) -> bool:
    if any(c in source for c in "\n\r\x00") or len(source) > 4096:
        return False  # text, not a path
    try:
        return Path(source).is_file()
    except (OSError, ValueError):  # a name too long for the file system
        return False


def load_departments_csv(source: str | Path) -> list[DepartmentRow]:
    """Read ``code,name,streets`` rows (other columns, e.g. name_en, are ignored; streets
    are street codes separated by ';', '|' or spaces). ``source`` is a path or the text."""
    if isinstance(source, Path) or _names_a_file(source):
        source = read_csv_file(Path(source))
    records = csv_records(source)
    first = next(records, (1, []))
    header = [h.strip() for h in first[1]] if not isinstance(first[1], str) else []
    missing = {"code", "name", "streets"} - set(header)
    if missing:
        raise InvalidInput.at(["header"], M("department.missing_columns",
                                             columns=", ".join(sorted(missing))))
    rows: list[DepartmentRow] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        if isinstance(cells, str):
            errors.append({"loc": ["rows", line], "msg": M("csv.row_unreadable", reason=cells),
                           "type": "value_error"})
            continue
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        record = dict(zip(header, cells, strict=False))
        code, name = (record.get("code") or "").strip(), (record.get("name") or "").strip()
        streets = tuple((record.get("streets") or "").replace(";", " ").replace("|", " ").split())
        problem = (("code", M("department.missing_code")) if not code
                   else ("name", M("department.missing_name")) if not name
                   else ("code", M("department.duplicate_code", code=code, line=seen[code]))
                   if code in seen else None)
        if problem:
            errors.append({"loc": ["rows", line, problem[0]], "msg": problem[1],
                           "type": "value_error"})
            continue
        seen[code] = line
        rows.append(DepartmentRow(line=line, code=code, name=name, streets=streets))
    if errors:
        raise InvalidInput(M("jurisdiction.bad_department_rows", count=len(errors)), errors=errors)
    return rows


async def import_departments(*, session: AsyncSession,
                             rows: list[DepartmentRow]) -> DepartmentImportSummary:
    """Upsert departments by code and add their street links (street codes must exist)."""
    streets = await repo.streets_by_code(session, {s for r in rows for s in r.streets})
    errors = [{"loc": ["rows", r.line, "streets"], "msg": M("department.unknown_street", street=s),
               "type": "value_error"}
              for r in rows for s in r.streets
              if s not in streets or streets[s].level != Level.street]
    if errors:
        raise InvalidInput(M("jurisdiction.unknown_streets", count=len(errors)), errors=errors)
    departments = await repo.departments_by_code(session, {r.code for r in rows})
    created = updated = 0
    for row in rows:
        department = departments.get(row.code)
        if department is None:
            department = departments[row.code] = Department(code=row.code, name=row.name)
            session.add(department)
            created += 1
        elif department.name != row.name:
            department.name = row.name
            updated += 1
    await session.flush()
    links = await repo.department_links(session, [d.id for d in departments.values()])
    wanted = {(departments[r.code].id, streets[s].id) for r in rows for s in r.streets}
    for department_id, street_id in sorted(wanted - links):
        session.add(DepartmentStreet(department_id=department_id, street_id=street_id))
    await session.flush()
    return DepartmentImportSummary(created=created, updated=updated,
                                   unchanged=len(rows) - created - updated,
                                   links_added=len(wanted - links))


async def list_departments(*, session: AsyncSession) -> list[DepartmentOut]:
    return [DepartmentOut(code=d.code, name=d.name, streets=streets)
            for d, streets in await repo.departments_with_streets(session)]


async def get_department(*, session: AsyncSession, code: str) -> DepartmentOut:
    found = await repo.departments_with_streets(session, code)
    if not found:
        raise NotFound(M("error.no_department", code=code))
    department, streets = found[0]
    return DepartmentOut(code=department.code, name=department.name, streets=streets)


# --- reading the tree --------------------------------------------------------------------


async def _visibility_for(session: AsyncSession, tree: JurisdictionTree,
                          actor: Actor) -> Visibility:
    department_streets = (await repo.department_street_ids(session, actor.department_id)
                          if actor.department_id is not None else set())
    return visibility(tree, actor, department_streets)


async def list_tree(*, session: AsyncSession, tree: JurisdictionTree, actor: Actor,
                    include_geometry: bool = False) -> list[JurisdictionNode]:
    """Street → communities → grids, pruned to what the actor may see (see ``scope``)."""
    seen = await _visibility_for(session, tree, actor)
    return [_node_out(tree, s.id, seen, include_geometry) for s in tree.streets()
            if s.id in seen.shown]


async def in_scope(*, session: AsyncSession, tree: JurisdictionTree, actor: Actor,
                   node_id: int) -> bool:
    """Whether the actor may see the node: every parameter naming one outside the scope is
    answered as if the node did not exist."""
    return node_id in (await _visibility_for(session, tree, actor)).in_scope


async def get_node(*, session: AsyncSession, tree: JurisdictionTree, actor: Actor, code: str,
                   include_geometry: bool = False) -> JurisdictionDetail:
    node = tree.node_by_code(code)
    seen = await _visibility_for(session, tree, actor)
    if node is None or node.id not in seen.in_scope:
        raise NotFound(M("error.no_jurisdiction_in_scope", code=code))
    out = _node_out(tree, node.id, seen, include_geometry)
    parent = tree.node(node.parent_id) if node.parent_id else None
    street = tree.node(node.street_id) if node.street_id else None
    community = tree.node(node.community_id) if node.community_id else None
    return JurisdictionDetail(**out.model_dump(exclude={"children"}), children=out.children,
                              parent=parent.code if parent else None,
                              street=street.code if street else node.code,
                              community=community.code if community else None)


def _node_out(tree: JurisdictionTree, node_id: int, seen: Visibility,
              include_geometry: bool) -> JurisdictionNode:
    node = tree.node(node_id)
    assert node is not None
    in_scope = node_id in seen.in_scope
    return JurisdictionNode(
        code=node.code, name=node.name, level=node.level, in_scope=in_scope,
        geometry=tree.geometry(node_id) if include_geometry and in_scope else None,
        children=[_node_out(tree, c.id, seen, include_geometry)
                  for c in tree.children(node_id) if c.id in seen.shown],
    )
