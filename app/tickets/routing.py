"""Routing by the matrix: which level and which queue a new ticket goes to. Pure.

- self-handled items (网格自处) stay in the grid with the reporting grid worker;
- grid-level items wait in the grid's queue;
- community-level items go to the community's queue (大事不出社区);
- street-level items go to the primary department's queue at the street.

The reason is stored in English, rendered from the message catalogue (``app.messages``),
which translates it back for a reader who prefers Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.errors import InvalidInput
from app.messages import M, render
from app.tickets.models import Status


class RoutableItem(Protocol):  # read-only members: frozen snapshots fit as well as models
    @property
    def code(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def handling_level(self) -> str: ...

    @property
    def self_handle_allowed(self) -> bool: ...

    @property
    def primary_department(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Routing:
    level: str
    status: Status
    department_code: str | None
    reason: str


def route(item: RoutableItem, *, self_handle: bool, may_self_handle: bool) -> Routing:
    """Route a new ticket for ``item``; ``may_self_handle`` says whether the poster is a
    grid worker (only they handle issues on the spot)."""
    if self_handle:
        if not may_self_handle:
            raise InvalidInput.at(["body", "self_handle"],
                                  M("error.self_handle_grid_worker"))
        if not item.self_handle_allowed:
            raise InvalidInput.at(
                ["body", "self_handle"],
                M("error.item_not_self_handled", code=item.code, name=item.name),
            )
        return Routing("grid", Status.self_handling, None,
                       render("routing.self_handled", item=item.code))
    if item.handling_level == "grid":
        return Routing("grid", Status.dispatched, None, render("routing.grid", item=item.code))
    if item.handling_level == "community":
        return Routing("community", Status.dispatched, None,
                       render("routing.community", item=item.code))
    if item.primary_department is None:  # the matrix validator forbids this; guard anyway
        raise InvalidInput.at(["body", "item"], M("error.item_no_primary", code=item.code))
    return Routing("street", Status.dispatched, item.primary_department,
                   render("routing.street", item=item.code, department=item.primary_department))
