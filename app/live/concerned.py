"""Which departments an event concerns besides the ticket's own: a whistle (吹哨) concerns
the departments it summons, a report-in (报到) the department reporting in, a change that
moves the ticket to another department (reroute, escalation) the department it left. Live
queues and webhooks both tell these departments too."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.jurisdiction.repository import department_ids


async def other_departments(session: AsyncSession, kind: str, data: dict[str, Any]) -> list[int]:
    if kind == "whistle_blown" and data.get("departments"):
        return sorted((await department_ids(session, data["departments"])).values())
    if kind in ("reported_in", "report_in_missed") and isinstance(data.get("department_id"), int):
        return [data["department_id"]]
    if isinstance(data.get("left_department_id"), int):  # rerouted, escalated, edited away
        return [data["left_department_id"]]
    return []
