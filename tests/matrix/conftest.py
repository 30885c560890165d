"""Fixtures of the matrix tests: departments in the database, a session whose writes are
rolled back, the shipped CSV, and access tokens for role-only actors.

Imports that commit (through HTTP) only ever import the shipped matrix, so the current
matrix that other domains' tests route by keeps the same content."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.models import Role
from app.auth.tokens import encode_access_token
from app.db import unit_of_work
from app.jurisdiction.models import Department
from app.matrix.csvio import parse_matrix_csv
from app.matrix.service import MatrixCache

DEPARTMENTS_CSV = "app/jurisdiction/data/departments.csv"
MATRIX_CSV = "app/matrix/data/matrix.csv"


def read_departments() -> dict[str, str]:
    with open(DEPARTMENTS_CSV, encoding="utf-8-sig", newline="") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


DEPARTMENT_CODES = set(read_departments())


def shipped_text() -> str:
    with open(MATRIX_CSV, encoding="utf-8", newline="") as f:
        return f.read()


def shipped_rows():
    return parse_matrix_csv(shipped_text(), department_codes=DEPARTMENT_CODES)


def data_row(code: str) -> int:
    """The 1-based data row of ``code`` in the shipped file."""
    return [r.code for r in shipped_rows()].index(code) + 1


async def insert_missing_departments(session: AsyncSession) -> None:
    present = set((await session.execute(select(Department.code))).scalars())
    session.add_all(Department(code=code, name=name)
                    for code, name in read_departments().items() if code not in present)
    await session.flush()


@pytest.fixture(scope="session")
async def departments(sessions) -> None:
    """Every department of departments.csv exists (committed) before the matrix tests."""
    async with unit_of_work(sessions) as session:
        await insert_missing_departments(session)


@pytest.fixture
async def rollback_session(sessions, departments) -> AsyncIterator[AsyncSession]:
    """A session in one transaction that is rolled back at the end of the test."""
    async with sessions() as session:
        await session.begin()
        try:
            yield session
        finally:
            await session.rollback()


@pytest.fixture
def cache() -> MatrixCache:
    return MatrixCache(check_seconds=60)


@pytest.fixture
def headers_for(settings, clock):
    """``headers_for(Role.admin)`` → Authorization headers for a role-only actor."""

    def make(role: Role) -> dict[str, str]:
        actor = Actor(kind="user", id=900_000 + list(Role).index(role), role=role,
                      name=f"matrix-test {role.value}")
        token = encode_access_token(actor, secret=settings.secret_key, now=clock.now(),
                                    minutes=15)
        return {"Authorization": f"Bearer {token}"}

    return make


def replace_cell(text: str, code: str, column: str, value: str) -> str:
    """The CSV ``text`` with one cell of the row ``code`` changed."""
    records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    index = records[0].index(column)
    for record in records[1:]:
        if record and record[0] == code:
            record[index] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(records)
    return out.getvalue()
