"""Baseline for the posting benchmark: the same request body, validated by the same
Pydantic model, inserting the same two rows (ticket + timeline event) with raw asyncpg in
one transaction. No auth, no routing, no ORM: the ceiling Whistle's endpoint is compared to.

Run by bench/bench_post.py as ``uvicorn bench.baseline_post:app`` with BASELINE_DSN set.
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI

from app.tickets.schemas import TicketCreate

INSERT_TICKET = """
INSERT INTO tickets (matrix_version_id, item_id, item_code, category_code, street_id,
  community_id, grid_id, level, department_id, status, urgency, source, description, address,
  lat, lon, reporter_name, reporter_phone, self_handle, routing_reason, created_by_user_id,
  rework_count, return_count, sla_state, version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'street', $8, 'dispatched', $9, 'grid_worker', $10, $11,
  NULL, NULL, NULL, NULL, false, 'baseline', $12, 0, 0, 'on_track', 1, $13, $13)
RETURNING id"""
INSERT_EVENT = """
INSERT INTO ticket_events (ticket_id, kind, from_status, to_status, actor_user_id, actor_role,
  data, created_at) VALUES ($1, 'created', NULL, 'dispatched', $2, 'grid_worker', $3, $4)"""

state: dict = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    pool = await asyncpg.create_pool(os.environ["BASELINE_DSN"], min_size=10, max_size=20)
    async with pool.acquire() as conn:
        row = await conn.fetchrow("""
            SELECT i.version_id, i.id AS item_id, i.code, i.category_code, g.street_id,
                   g.community_id, g.id AS grid_id, d.id AS dept_id, u.id AS user_id
            FROM matrix_items i JOIN departments d ON d.code = i.primary_department
            JOIN jurisdictions g ON g.code = 'BH01-01' JOIN users u ON u.username = 'gw01'
            WHERE i.code = $1 ORDER BY i.version_id DESC LIMIT 1""", os.environ["BASELINE_ITEM"])
    state.update(pool=pool, row=row)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/api/v1/tickets", status_code=201)
async def post_ticket(body: TicketCreate) -> dict:
    r = state["row"]
    now = datetime.now(UTC)
    async with state["pool"].acquire() as conn, conn.transaction():
        ticket_id = await conn.fetchval(
            INSERT_TICKET, r["version_id"], r["item_id"], r["code"], r["category_code"],
            r["street_id"], r["community_id"], r["grid_id"], r["dept_id"], body.urgency.value,
            body.description, body.address, r["user_id"], now)
        await conn.execute(INSERT_EVENT, ticket_id, r["user_id"],
                           json.dumps({"item": r["code"]}), now)
    return {"id": ticket_id, "status": "dispatched"}
