"""The seven categories of grid-management items (网格管理事项), after Dalian's "7大类80余项".

Categories are data, not an enum: the matrix CSV names them by code, reports group by
them, and each carries the default escalation budget of its items — how long a ticket may
sit at one level (grid, community, street) before the SLA worker escalates it a level.
Budgets are minutes on the item's time basis; an item's own ``escalation_minutes``
overrides its category's default.
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
    escalation_minutes: int


CATEGORIES: tuple[Category, ...] = (
    Category("01", "党群建设", "Party and mass-organisation work", WORKING_DAY_MINUTES),
    Category("02", "市容环境", "City appearance and environment", WORKING_DAY_MINUTES),
    Category("03", "市场监管", "Market supervision", WORKING_DAY_MINUTES),
    # Disputes and security leads go stale fast: half a working day per level.
    Category("04", "群防群控", "Joint prevention and control", WORKING_DAY_MINUTES // 2),
    # Work safety, fire and gas: a hazard may not wait at one level for more than 2 hours.
    Category("05", "安全生产", "Work and production safety", 120),
    Category("06", "为民服务", "Services to residents", WORKING_DAY_MINUTES),
    Category("07", "为企服务", "Services to enterprises", WORKING_DAY_MINUTES),
)

CATEGORY_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}


class _Escalating(Protocol):
    category_code: str
    escalation_minutes: int | None


def escalation_minutes(item: _Escalating) -> int:
    """The escalation budget of ``item``: its own, else its category's default."""
    if item.escalation_minutes is not None:
        return item.escalation_minutes
    return CATEGORY_BY_CODE[item.category_code].escalation_minutes
