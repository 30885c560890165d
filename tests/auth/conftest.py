"""Fixtures of the identity tests: a small tree and departments of their own (codes
prefixed ``AUTHT`` and unique per run, since the test database is shared and reused),
users made on demand, and clients calling from an address of the test's choosing."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import delete

from app.auth import service
from app.auth.models import LoginFailure, User
from app.auth.tokens import encode_access_token
from app.db import unit_of_work
from app.jurisdiction.models import Department, Jurisdiction

RUN = secrets.token_hex(3)
PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on the same database) has used."""
    return f"{prefix}{RUN}{next(_counter)}"


@dataclass(frozen=True)
class Tree:
    """AUTHT street S with communities A (grids A1, A2) and B (grid B1); street T with
    community C; departments D and E."""

    street: Jurisdiction
    street2: Jurisdiction
    comm_a: Jurisdiction
    comm_b: Jurisdiction
    comm_c: Jurisdiction
    grid_a1: Jurisdiction
    grid_a2: Jurisdiction
    grid_b1: Jurisdiction
    dept: Department
    dept2: Department


def _node(code: str, level: str, parent: Jurisdiction | None = None) -> Jurisdiction:
    return Jurisdiction(code=f"AUTHT-{RUN}-{code}", name=f"auth test {code}", level=level,
                        parent_id=parent.id if parent else None,
                        street_id=parent.street_id if parent else None,
                        community_id=parent.id if level == "grid" else None)


@pytest.fixture(scope="session")
async def tree(sessions) -> Tree:
    async with unit_of_work(sessions) as session:
        streets = [_node("S", "street"), _node("T", "street")]
        session.add_all(streets)
        await session.flush()
        for s in streets:
            s.street_id = s.id
        comms = [_node("A", "community", streets[0]), _node("B", "community", streets[0]),
                 _node("C", "community", streets[1])]
        session.add_all(comms)
        await session.flush()
        for c in comms:
            c.community_id = c.id
        grids = [_node("A1", "grid", comms[0]), _node("A2", "grid", comms[0]),
                 _node("B1", "grid", comms[1])]
        depts = [Department(code=f"AUTHT-{RUN}-D", name="auth test dept D"),
                 Department(code=f"AUTHT-{RUN}-E", name="auth test dept E")]
        session.add_all([*grids, *depts])
        await session.flush()
    return Tree(*streets, *comms, *grids, *depts)


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(sessions, tree) -> MakeUser:
    """``await make_user("community_dispatcher", scope_code=tree.comm_a.code)`` → a new user
    (password ``PASSWORD``), committed."""

    async def make(role: str = "admin", *, username: str | None = None, **scope) -> User:
        async with unit_of_work(sessions) as session:
            return await service.create_user(session=session, username=username or unique("u"),
                                             password=PASSWORD, role=role, **scope)

    return make


@pytest.fixture
def headers_for(sessions, settings, clock):
    """``await headers_for(user)`` → a Bearer header for that user, valid now."""

    async def make(user: User) -> dict[str, str]:
        async with sessions() as session:
            actor = await service.actor_for_user(session=session, user=user)
        token = encode_access_token(actor, secret=settings.secret_key, now=clock.now(),
                                    minutes=settings.access_token_minutes)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
async def admin_headers(make_user, headers_for) -> dict[str, str]:
    return await headers_for(await make_user("admin"))


@pytest.fixture
async def client_from(app) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """``client_from("10.1.2.3")`` → a client whose requests come from that address."""
    opened: list[httpx.AsyncClient] = []

    def make(addr: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(addr, 40000))
        c = httpx.AsyncClient(transport=transport, base_url="http://test")
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


def unique_addr() -> str:
    n = next(_counter)
    return f"10.{secrets.randbelow(250)}.{n // 250 % 250}.{n % 250}"


@pytest.fixture(autouse=True)
async def _forget_failures(sessions) -> AsyncIterator[None]:
    """Login failures are stamped with the frozen clock's T0 in every test; drop them so
    one test's failures never throttle another (in this or another domain's tests)."""
    yield
    async with unit_of_work(sessions) as session:
        await session.execute(delete(LoginFailure))
