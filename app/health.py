"""Liveness and readiness probes.

``/readyz`` is ready when the database answers and is at the migration head the code
expects. Anonymous callers (load balancers, orchestrators) learn only ``ok`` or
``unavailable``: driver errors name hosts and ports. An admin's token adds the details —
the database, the migration revisions, and the worker's heartbeat (a stale one does not
make the API unready, but it is why deadlines stop being enforced) and whether the
coming year's holidays and 调休 are known."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.auth.models import Role
from app.auth.tokens import decode_access_token
from app.db import unit_of_work
from app.errors import WhistleError
from app.migrate import head_revision
from app.observability.heartbeat import is_stale
from app.observability.repository import latest_heartbeat
from app.sla.national_calendar import calendar_status

router = APIRouter(tags=["health"])

head = lru_cache(maxsize=1)(head_revision)  # reading the revision files once is enough


@router.get("/healthz", operation_id="healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _is_admin(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    try:
        actor = decode_access_token(token, secret=request.app.state.settings.secret_key,
                                    now=request.app.state.clock.now())
    except WhistleError:
        return False
    return actor.role == Role.admin


async def _calendar(request: Request) -> dict[str, Any]:
    """Whether this and (from December) next year's holidays and 调休 are known: a warning
    for the admin, never a reason to be unready (deadlines still compute, on a guess)."""
    settings = request.app.state.settings
    async with unit_of_work(request.app.state.sessions) as session:
        status = await calendar_status(session, now=request.app.state.clock.now(),
                                       zone=ZoneInfo(settings.timezone))
    return {"ok": status.ok, "warning": status.warning,
            "years": {str(y.year): y.known for y in status.years}}


async def _check(request: Request, details: dict[str, Any]) -> bool:
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any driver error means "not ready"
        details["database"] = f"unreachable: {str(exc)[:200]}"
        return False
    details["database"] = "ok"
    details["migration"] = {"database": current, "code": head()}
    if current != head():
        return False
    now = request.app.state.clock.now()
    async with unit_of_work(request.app.state.sessions) as session:
        beat = await latest_heartbeat(session)
    details["worker"] = {
        "last_pass_at": beat.beat_at.isoformat() if beat else None,
        "last_pass_seconds": beat.pass_seconds if beat else None,
        "last_pass": beat.figures if beat else None,
        "stale": is_stale(beat, now=now, settings=request.app.state.settings)}
    return True


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="The database is reachable and at the code's migration head",
    description="`{\"status\": \"ok\"}` or 503 `{\"status\": \"unavailable\"}`; with an "
                "admin's token, `details` (database, migration revisions, worker heartbeat, "
                "whether the coming year's holidays and 调休 are known).",
    responses={503: {"description": "database unreachable or not migrated"}},
)
async def readyz(request: Request):
    details: dict[str, Any] = {}
    ready = await _check(request, details)
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable"}
    if _is_admin(request):
        if ready:
            details["calendar"] = await _calendar(request)
        body["details"] = details
    return JSONResponse(body, status_code=200 if ready else 503)
