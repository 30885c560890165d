"""Shared arrangements for the SLA service, sweep, ladder and whistle tests."""

from __future__ import annotations

from contextlib import asynccontextmanager

from sqlalchemy import select, update

from app.matrix.models import MatrixItem
from app.sla.sweep import sweep_once
from app.tickets.models import Ticket, TicketEvent


async def post(client, token_for, item: str, *, user: str = "gw01", grid: str = "BH01-01",
               **extra) -> dict:
    body = {"grid": grid, "item": item, "description": "楼道堆放杂物，影响通行", **extra}
    r = await client.post("/api/v1/tickets", json=body, headers=token_for(user))
    assert r.status_code == 201, r.text
    return r.json()


async def act(client, token_for, user: str, ticket_id: int, path: str, body: dict | None = None,
              expect: int = 200) -> dict:
    r = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body,
                          headers=token_for(user))
    assert r.status_code == expect, r.text
    return r.json()


async def sweep(sessions, settings, clock):
    return await sweep_once(sessions=sessions, now=clock.now(), settings=settings)


async def ticket_row(sessions, ticket_id: int) -> Ticket:
    async with sessions() as s:
        return await s.get_one(Ticket, ticket_id)


async def event_kinds(sessions, ticket_id: int) -> list[str]:
    async with sessions() as s:
        rows = await s.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id)
                               .order_by(TicketEvent.id))
        return list(rows.scalars())


@asynccontextmanager
async def item_policy(sessions, code: str, **values):
    """Change a matrix item's SLA policy for one test and put it back afterwards."""
    async with sessions() as s, s.begin():
        items = list((await s.execute(select(MatrixItem).where(MatrixItem.code == code)))
                     .scalars())
        before = [{k: getattr(i, k) for k in values} for i in items]
        await s.execute(update(MatrixItem).where(MatrixItem.code == code).values(**values))
    try:
        yield
    finally:
        async with sessions() as s, s.begin():
            for item, old in zip(items, before, strict=True):
                await s.execute(update(MatrixItem).where(MatrixItem.id == item.id).values(**old))


def grid_item_of(matrix_items, *, primary: str, co: str) -> str:
    """A grid-level item (not forced to self-handling) with the given departments."""
    return next(code for code, i in sorted(matrix_items.items())
                if i.handling_level == "grid" and i.primary_department == primary
                and co in (i.co_departments or []))


def street_item_of(matrix_items, primary: str) -> str:
    return next(code for code, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == primary
                and not i.photo_required and i.time_basis == "working")
