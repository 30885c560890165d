"""Where an Open311 report is: the grid (网格) it is filed into.

The spec allows three ways to say where: ``lat``+``long``, an ``address_id`` (here: a
grid code) or a free-text ``address_string``. They are tried in that order and the first
that names a grid of the street wins; coordinates are kept on the ticket whenever sent.

An ``address_string`` without coordinates is matched against the tree: a grid's code or
name inside the text picks that grid; failing that, a community's code or name picks the
community — good enough for items handled at community or street level, where the grid
does not decide the queue, but refused for grid-level items, which would otherwise land
with the wrong grid worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.jurisdiction.geo import JurisdictionTree, NodeRef
from app.jurisdiction.models import Level
from app.open311.formats import Open311Error


@dataclass(frozen=True, slots=True)
class Place:
    grid_code: str
    lat: float | None
    lon: float | None


def _bad(description: str) -> Open311Error:
    return Open311Error(400, description)


def resolve_place(tree: JurisdictionTree, *, lat: float | None, lon: float | None,
                  address_id: str | None, address_string: str | None,
                  street_id: int | None, handling_level: str) -> Place:
    """The grid of a report, or a 400 saying why none could be found."""
    if (lat is None) != (lon is None):
        raise _bad("lat and long must be sent together")
    if lat is None and not address_id and not address_string:
        raise _bad("a location is required: lat and long, address_string or address_id")
    problems: list[str] = []
    if lat is not None and lon is not None:
        grid = tree.locate(lat, lon)
        if grid is not None and street_id in (None, grid.street_id):
            return Place(grid.code, lat, lon)
        problems.append(f"lat/long ({lat}, {lon}) is not inside any grid"
                        + (" of the jurisdiction" if grid is not None else ""))
    if address_id:
        code = address_id.strip()
        grid = tree.grid_by_code(code) or tree.grid_by_code(code.upper())
        if grid is not None and street_id in (None, grid.street_id):
            return Place(grid.code, lat, lon)
        problems.append(f"address_id {code!r} is not a grid code of the jurisdiction")
    if address_string:
        found = _grid_in_text(tree, address_string, street_id, handling_level, problems)
        if found is not None:
            return Place(found, lat, lon)
    raise _bad("location unresolvable: " + "; ".join(problems))


def _in_street(node: NodeRef, street_id: int | None) -> bool:
    return street_id is None or node.street_id == street_id


def _named_in(node: NodeRef, text: str) -> bool:
    return node.code.casefold() in text.casefold() or (bool(node.name) and node.name in text)


def _grid_in_text(tree: JurisdictionTree, text: str, street_id: int | None,
                  handling_level: str, problems: list[str]) -> str | None:
    nodes = [n for n in tree.nodes() if _in_street(n, street_id)]
    grids = sorted({n.code for n in nodes if n.level is Level.grid and _named_in(n, text)})
    if len(grids) == 1:
        return grids[0]
    if grids:
        problems.append("address_string names several grids: " + ", ".join(grids))
        return None
    communities = sorted((n for n in nodes if n.level is Level.community and _named_in(n, text)),
                         key=lambda n: n.code)
    if len(communities) != 1:
        problems.append("address_string names no grid or community of the jurisdiction"
                        if not communities else "address_string names several communities")
        return None
    community = communities[0]
    its_grids = [c.code for c in tree.children(community.id) if c.level is Level.grid]
    if handling_level == Level.grid.value or not its_grids:
        problems.append(f"address_string names community {community.code} ({community.name}) "
                        "but this service is handled by the grid: name the grid ("
                        + ", ".join(its_grids) + ") or send lat/long")
        return None
    return its_grids[0]
