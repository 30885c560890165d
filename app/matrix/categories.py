"""The seven categories of grid-management items (网格管理事项), after Dalian's "7大类80余项".

Categories are data, not an enum: the matrix CSV names them by code, reports group by
them, and each carries the default *grace* of its items on the escalation ladder: how long
past a failed limit the sweep waits before it takes a grid- or community-level ticket one
level up — past the response limit while nobody has signed for it (``response_grace``),
past the resolution limit while it is unresolved (``resolve_grace``). Graces are minutes
on the item's time basis; an item's own grace overrides its category's. Every shipped
category's grace is 0: the ladder moves the moment a level fails its limit, never while
the ticket is being handled within it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

WORKING_DAY_MINUTES = 7 * 60  # one working day (工作日) is 7 working hours


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name: str
    name_en: str
    response_grace_minutes: int = 0
    resolve_grace_minutes: int = 0


CATEGORIES: tuple[Category, ...] = (
    Category("01", "党群建设", "Party and mass-organisation work"),
    Category("02", "市容环境", "City appearance and environment"),
    Category("03", "市场监管", "Market supervision"),
    Category("04", "群防群控", "Joint prevention and control"),
    Category("05", "安全生产", "Work and production safety"),
    Category("06", "为民服务", "Services to residents"),
    Category("07", "为企服务", "Services to enterprises"),
)

CATEGORY_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}


class _Graced(Protocol):  # read-only members: frozen snapshots fit as well as models
    @property
    def category_code(self) -> str: ...

    @property
    def response_grace_minutes(self) -> int | None: ...

    @property
    def resolve_grace_minutes(self) -> int | None: ...


def response_grace(item: _Graced) -> int:
    """Minutes past the response limit before an unclaimed ticket climbs: the item's own,
    else its category's."""
    if item.response_grace_minutes is not None:
        return item.response_grace_minutes
    return CATEGORY_BY_CODE[item.category_code].response_grace_minutes


def resolve_grace(item: _Graced) -> int:
    """Minutes past the resolution limit before an unresolved ticket climbs: the item's
    own, else its category's."""
    if item.resolve_grace_minutes is not None:
        return item.resolve_grace_minutes
    return CATEGORY_BY_CODE[item.category_code].resolve_grace_minutes
