"""The ceiling of the HTTP benchmark (``bench.bench_http``): Whistle's hot endpoints as the
fewest lines of Starlette and raw asyncpg that do the same database work — one statement
per request, the same JWT check (``app.auth.tokens.decode_access_token``, then the role),
the same body validation (``TicketCreate``), the same response shape (``TicketOut``'s
fields), and no framework beyond routing.

- ``POST /api/v1/tickets``: the idempotency record, the ticket, its SLA clock, its
  ``created`` event and the posting counts in the daily and monthly rollups, in one
  ``WITH``; a repeated Idempotency-Key answers the first ticket (a second statement, only
  then). Deadlines are plain offsets of the item's hours, not the working calendar.
- ``POST …/queue/claim-next``: Whistle's claim statement (the probe per urgency, the
  response clock stopped, the event, the report-backlog marker) with the joins the
  response shows, in one statement.
- ``GET /api/v1/tickets/{id}``, ``GET /api/v1/tickets`` (a page of 50) and
  ``GET /api/v1/departments/{code}/queue``: one SELECT each, with the same joins and the
  attachments as an array, filtered by the street dispatcher's scope.

Run by ``bench.bench_http`` as ``uvicorn bench.ceiling_http:app`` with ``CEILING_DSN`` and
``CEILING_SECRET`` set. It serves the one grid and item the benchmark posts to.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import asyncpg
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth.tokens import decode_access_token
from app.tickets.models import ticket_number
from app.tickets.schemas import TicketCreate

TICKET_COLUMNS = """t.id, t.status, t.level, t.item_code, t.category_code, t.routing_reason,
  t.urgency, t.source, t.description, t.address, t.lat, t.lon, t.reporter_name,
  t.reporter_phone, t.self_handle, t.matrix_version_id, t.assignee_id, t.rework_count,
  t.return_count, t.rating, t.merged_into_id, t.response_due_at, t.resolve_due_at,
  t.sla_state, t.version, t.created_at, t.updated_at, t.claimed_at, t.resolved_at,
  t.closed_at"""
VIEW_COLUMNS = TICKET_COLUMNS + """, g.code AS grid, c.code AS community, s.code AS street,
  d.code AS department, i.name AS item_name,
  ARRAY(SELECT a.id FROM attachments a WHERE a.ticket_id = t.id ORDER BY a.id) AS attachments"""
VIEW_JOINS = """JOIN jurisdictions g ON g.id = t.grid_id
  JOIN jurisdictions c ON c.id = t.community_id
  JOIN jurisdictions s ON s.id = t.street_id
  LEFT JOIN departments d ON d.id = t.department_id
  JOIN matrix_items i ON i.id = t.item_id"""

# The rollups' counts, and a posted (dispatched) ticket's.
COUNTS = """reported, cancelled, open, suspended, closed, dispatched, responded,
    responded_on_time, resolved, closed_on_time, rated, satisfied, returned, reworked,
    extended, escalated_to_community, escalated_to_street, closed_in_grid,
    closed_in_community"""
POSTED = "1, 0, 1, 0, 0, 1" + ", 0" * 13

POST_SQL = f"""
WITH ticket AS (
  INSERT INTO tickets (matrix_version_id, item_id, item_code, category_code, street_id,
    community_id, grid_id, level, department_id, status, urgency, source, description,
    address, lat, lon, reporter_name, reporter_phone, self_handle, routing_reason,
    created_by_user_id, rework_count, return_count, response_due_at, resolve_due_at,
    next_check_at, sla_state, version, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 'street', $8, 'dispatched', $9, 'grid_worker', $10,
    $11, $12, $13, $14, $15, false, 'matrix', $16, 0, 0, $17, $18, $19, 'on_track', 1, $20,
    $20)
  RETURNING *),
idem AS (
  INSERT INTO idempotency_records (owner, key, request_hash, ticket_id, created_at)
  SELECT $21, $22, $23, ticket.id, $20 FROM ticket WHERE $22::varchar IS NOT NULL),
clock AS (
  INSERT INTO sla_clocks (ticket_id, response_started_at, response_warn_at, resolve_warn_at,
    level, level_entered_at, escalate_due_at)
  SELECT ticket.id, $20, $24, $25, 'street', $20, NULL FROM ticket),
daily AS (
  INSERT INTO report_daily (street_id, day, community_id, grid_id, department_id,
    category_code, item_code, source, {COUNTS})
  SELECT street_id, $26, community_id, grid_id, department_id, category_code, item_code,
    source, {POSTED} FROM ticket
  ON CONFLICT (street_id, day, community_id, grid_id, department_id, category_code,
    item_code, source)
  DO UPDATE SET reported = report_daily.reported + 1, open = report_daily.open + 1,
    dispatched = report_daily.dispatched + 1
  RETURNING 1 AS done),
monthly AS (
  INSERT INTO report_monthly (street_id, month, community_id, department_id, category_code,
    source, {COUNTS})
  SELECT street_id, $27, community_id, department_id, category_code, source, {POSTED}
  FROM ticket WHERE EXISTS (SELECT 1 FROM daily)
  ON CONFLICT (street_id, month, community_id, department_id, category_code, source)
  DO UPDATE SET reported = report_monthly.reported + 1, open = report_monthly.open + 1,
    dispatched = report_monthly.dispatched + 1),
event AS (
  INSERT INTO ticket_events (ticket_id, kind, from_status, to_status, actor_user_id,
    actor_role, data, created_at)
  SELECT ticket.id, 'created', NULL, 'dispatched', $16, 'grid_worker', $28, $20 FROM ticket
  RETURNING id AS event_id)
SELECT t.* FROM ticket t, event"""

REPLAY_SQL = f"""
SELECT r.request_hash, {VIEW_COLUMNS}
FROM idempotency_records r JOIN tickets t ON t.id = r.ticket_id {VIEW_JOINS}
WHERE r.owner = $1 AND r.key = $2"""

CLAIM_SQL = f"""
WITH claimed AS (
  UPDATE tickets SET status = 'claimed', assignee_id = $1, claimed_at = $2,
    response_due_at = NULL,
    next_check_at = coalesce((SELECT LEAST(k.resolve_warn_at, tickets.resolve_due_at,
                                           k.escalate_due_at)
                              FROM sla_clocks k WHERE k.ticket_id = tickets.id),
                             tickets.resolve_due_at),
    sla_state = CASE WHEN tickets.resolve_due_at <= $2 THEN 'overdue'
      WHEN (SELECT k.resolve_warn_at FROM sla_clocks k WHERE k.ticket_id = tickets.id) <= $2
      THEN 'warning' ELSE 'on_track' END,
    version = tickets.version + 1, updated_at = $2
  WHERE tickets.id = coalesce(
      (SELECT id FROM tickets WHERE department_id = $3 AND status = 'dispatched'
         AND urgency = 'urgent' ORDER BY resolve_due_at ASC NULLS LAST, id
         LIMIT 1 FOR UPDATE SKIP LOCKED),
      (SELECT id FROM tickets WHERE department_id = $3 AND status = 'dispatched'
         AND urgency = 'normal' ORDER BY resolve_due_at ASC NULLS LAST, id
         LIMIT 1 FOR UPDATE SKIP LOCKED))
    AND tickets.status = 'dispatched'
  RETURNING *),
stopped AS (
  UPDATE sla_clocks SET response_started_at = NULL, response_warn_at = NULL
  FROM claimed WHERE sla_clocks.ticket_id = claimed.id),
marked AS (
  INSERT INTO report_backlog (ticket_id, marked_at) SELECT id, $2 FROM claimed
  ON CONFLICT (ticket_id) DO NOTHING),
event AS (
  INSERT INTO ticket_events (ticket_id, kind, from_status, to_status, actor_user_id,
    actor_role, data, created_at)
  SELECT id, 'claim', 'dispatched', 'claimed', $1, 'department_staff',
    '{{"via": "claim_next"}}', $2 FROM claimed
  RETURNING id)
SELECT {VIEW_COLUMNS}
FROM claimed t {VIEW_JOINS}, event"""

GET_SQL = f"SELECT {VIEW_COLUMNS} FROM tickets t {VIEW_JOINS} WHERE t.id = $1 AND t.street_id = $2"
LIST_SQL = f"""SELECT {VIEW_COLUMNS} FROM tickets t {VIEW_JOINS}
WHERE t.street_id = $1 ORDER BY t.id DESC LIMIT $2"""
QUEUE_SQL = f"""SELECT {VIEW_COLUMNS} FROM tickets t {VIEW_JOINS}
WHERE t.department_id = $1 AND t.street_id = $2
  AND t.status IN ('dispatched', 'claimed', 'in_progress', 'rework', 'suspended')
ORDER BY CASE t.urgency WHEN 'urgent' THEN 0 WHEN 'normal' THEN 1 END,
  t.resolve_due_at ASC NULLS LAST, t.id LIMIT $3"""

state: dict = {}


@asynccontextmanager
async def lifespan(app: Starlette):
    pool = await asyncpg.create_pool(os.environ["CEILING_DSN"], min_size=4, max_size=20)
    async with pool.acquire() as conn:
        state["ref"] = await conn.fetchrow("""
            SELECT i.version_id, i.id AS item_id, i.code, i.category_code, i.name,
                   g.street_id, g.community_id, g.id AS grid_id, g.code AS grid_code,
                   c.code AS community_code, s.code AS street_code,
                   d.id AS dept_id, d.code AS dept_code
            FROM matrix_items i JOIN departments d ON d.code = i.primary_department
            JOIN jurisdictions g ON g.code = $2
            JOIN jurisdictions c ON c.id = g.community_id
            JOIN jurisdictions s ON s.id = g.street_id
            WHERE i.code = $1 AND i.version_id = (SELECT max(id) FROM matrix_versions)""",
                                           os.environ["CEILING_ITEM"],
                                           os.environ["CEILING_GRID"])
        state["departments"] = dict(await conn.fetch("SELECT code, id FROM departments"))
    state.update(pool=pool, secret=os.environ["CEILING_SECRET"])
    yield
    await pool.close()


def _problem(status: int, detail: str) -> Response:
    return JSONResponse({"status": status, "detail": detail}, status_code=status,
                        media_type="application/problem+json")


def _actor(request: Request, *roles: str):
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        actor = decode_access_token(header[7:], secret=state["secret"], now=datetime.now(UTC))
    except Exception:
        return None
    return actor if actor.role.value in roles else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _out(r) -> dict:
    """``TicketOut``'s fields from a row of ``VIEW_COLUMNS``."""
    return {
        "id": r["id"], "number": ticket_number(r["id"], r["created_at"]), "status": r["status"],
        "level": r["level"], "grid": r["grid"], "community": r["community"],
        "street": r["street"], "item": r["item_code"], "item_name": r["item_name"],
        "category": r["category_code"], "department": r["department"],
        "routing_reason": r["routing_reason"], "urgency": r["urgency"], "source": r["source"],
        "description": r["description"], "address": r["address"],
        "location": ({"lat": r["lat"], "lon": r["lon"]} if r["lat"] is not None else None),
        "reporter": None, "self_handle": r["self_handle"],
        "matrix_version": r["matrix_version_id"], "assignee_id": r["assignee_id"],
        "attachments": list(r["attachments"]), "rework_count": r["rework_count"],
        "return_count": r["return_count"], "rating": r["rating"],
        "merged_into": r["merged_into_id"], "response_due_at": _iso(r["response_due_at"]),
        "resolve_due_at": _iso(r["resolve_due_at"]), "sla_state": r["sla_state"],
        "version": r["version"], "created_at": _iso(r["created_at"]),
        "updated_at": _iso(r["updated_at"]), "claimed_at": _iso(r["claimed_at"]),
        "resolved_at": _iso(r["resolved_at"]), "closed_at": _iso(r["closed_at"]),
    }


def _json(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers=headers, media_type="application/json")


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


async def post_ticket(request: Request) -> Response:
    actor = _actor(request, "grid_worker", "community_dispatcher", "street_dispatcher",
                   "integration", "admin")
    if actor is None:
        return _problem(401, "send a Bearer access token")
    try:
        body = TicketCreate.model_validate_json(await request.body())
    except ValidationError as exc:
        return _problem(422, str(exc))
    ref = state["ref"]
    if body.grid != ref["grid_code"] or body.item != ref["code"]:
        return _problem(422, "the ceiling serves one grid and item")
    key = request.headers.get("idempotency-key")
    digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True,
                                       ensure_ascii=False).encode()).hexdigest()
    now = datetime.now(UTC)
    owner = f"user:{actor.id}"
    event_data = json.dumps({"level": "street", "department": ref["dept_code"], "item": ref["code"],
                             "matrix_version": ref["version_id"], "reason": "matrix"})
    lat, lon = (body.location.lat, body.location.lon) if body.location else (None, None)
    name, phone = (body.reporter.name, body.reporter.phone) if body.reporter else (None, None)
    try:
        row = await state["pool"].fetchrow(
            POST_SQL, ref["version_id"], ref["item_id"], ref["code"], ref["category_code"],
            ref["street_id"], ref["community_id"], ref["grid_id"], ref["dept_id"],
            body.urgency.value, body.description, body.address, lat, lon, name, phone,
            actor.id, now + timedelta(hours=4), now + timedelta(days=3),
            now + timedelta(hours=3), now, owner, key, digest, now + timedelta(hours=3),
            now + timedelta(days=2, hours=12), now.date(), date(now.year, now.month, 1),
            event_data)
    except asyncpg.UniqueViolationError:
        found = await state["pool"].fetchrow(REPLAY_SQL, owner, key)
        if found["request_hash"] != digest:
            return _problem(422, "Idempotency-Key already used with a different body")
        return _json(_out(found), 200)
    out = _out({**row, "grid": ref["grid_code"], "community": ref["community_code"],
                "street": ref["street_code"], "department": ref["dept_code"],
                "item_name": ref["name"], "attachments": ()})
    return _json(out, 201, {"ETag": f'"{row["id"]}.1"',
                            "Location": f"/api/v1/tickets/{row['id']}"})


async def claim_next(request: Request) -> Response:
    actor = _actor(request, "department_staff", "department_lead")
    dept_id = state["departments"].get(request.path_params["code"])
    if actor is None:
        return _problem(401, "send a Bearer access token")
    if dept_id is None or dept_id != actor.department_id:
        return _problem(404, "no department of yours")
    row = await state["pool"].fetchrow(CLAIM_SQL, actor.id, datetime.now(UTC), dept_id)
    if row is None:
        return Response(status_code=204)
    return _json(_out(row), headers={"ETag": f'"{row["id"]}.{row["version"]}"'})


async def get_ticket(request: Request) -> Response:
    actor = _actor(request, "street_dispatcher")
    if actor is None:
        return _problem(401, "send a Bearer access token")
    try:
        ticket_id = int(request.path_params["ticket_id"])
    except ValueError:
        return _problem(422, "not an id")
    row = await state["pool"].fetchrow(GET_SQL, ticket_id, actor.jurisdiction_id)
    if row is None:
        return _problem(404, f"no ticket {ticket_id}")
    return _json(_out(row), headers={"ETag": f'"{row["id"]}.{row["version"]}"'})


async def list_tickets(request: Request) -> Response:
    actor = _actor(request, "street_dispatcher")
    if actor is None:
        return _problem(401, "send a Bearer access token")
    limit = int(request.query_params.get("limit", 50))
    rows = await state["pool"].fetch(LIST_SQL, actor.jurisdiction_id, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return _json({"items": [_out(r) for r in rows],
                  "next_cursor": str(rows[-1]["id"]) if more else None})


async def department_queue(request: Request) -> Response:
    actor = _actor(request, "street_dispatcher")
    dept_id = state["departments"].get(request.path_params["code"])
    if actor is None:
        return _problem(401, "send a Bearer access token")
    if dept_id is None:
        return _problem(404, "no department")
    limit = int(request.query_params.get("limit", 50))
    rows = await state["pool"].fetch(QUEUE_SQL, dept_id, actor.jurisdiction_id, limit)
    return _json([_out(r) for r in rows])


app = Starlette(lifespan=lifespan, routes=[
    Route("/healthz", healthz),
    Route("/api/v1/tickets", post_ticket, methods=["POST"]),
    Route("/api/v1/tickets", list_tickets, methods=["GET"]),
    Route("/api/v1/tickets/{ticket_id}", get_ticket, methods=["GET"]),
    Route("/api/v1/departments/{code}/queue/claim-next", claim_next, methods=["POST"]),
    Route("/api/v1/departments/{code}/queue", department_queue, methods=["GET"]),
])
