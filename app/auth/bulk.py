"""Bulk user import (批量导入用户): a street's hundreds of grid workers from one CSV or .xlsx.

Columns, by English or Chinese header (any order; other columns are refused, so a typo in a
header is not silently dropped):

==========  ========  ===============================================================
column      中文       value
==========  ========  ===============================================================
username    用户名     the login name (rules as ``POST /admin/users``)
name        姓名       the display name
role        角色       ``grid_worker`` … or its Chinese name (网格员, 社区调度, 街道调度,
                      督查, 部门工作人员, 部门负责人, 管理员)
scope       范围       grid codes (grid workers; several separated by ``;``, ``、`` or
                      spaces), a community / street / any node code (dispatchers,
                      supervisors), a department code (staff, leads), empty (admins)
phone       手机号     optional: a mainland mobile (11 digits) or a landline
==========  ========  ===============================================================

Every row is checked before anything is written, and every bad row is reported — its row
number in the file (the header is row 1) and the column — in one 422; with any error
nothing is imported. The rows that pass are created in the caller's one transaction, each
with a random initial password that must be changed at first login
(``must_change_password``), returned once in the answer.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as repo
from app.auth import service
from app.auth.models import Role
from app.auth.passwords import hash_password
from app.csvrows import csv_records
from app.csvtext import decode_csv
from app.errors import InvalidInput, PayloadTooLarge
from app.messages import M

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
INITIAL_PASSWORD_BYTES = 9  # 12 URL-safe characters
HASHING_THREADS = 4

COLUMNS = {"username": "username", "用户名": "username", "账号": "username",
           "name": "name", "姓名": "name", "display_name": "name",
           "role": "role", "角色": "role",
           "scope": "scope", "范围": "scope", "辖区/部门": "scope",
           "phone": "phone", "手机号": "phone", "电话": "phone", "手机": "phone"}
REQUIRED = ("username", "name", "role")
ROLE_NAMES = {"网格员": Role.grid_worker, "社区调度": Role.community_dispatcher,
              "社区调度员": Role.community_dispatcher, "街道调度": Role.street_dispatcher,
              "街道调度员": Role.street_dispatcher, "街道指挥中心": Role.street_dispatcher,
              "督查": Role.supervisor, "督办": Role.supervisor,
              "部门工作人员": Role.department_staff, "部门负责人": Role.department_lead,
              "管理员": Role.admin}
SEPARATORS = re.compile(r"[;；,，、\s]+")
# The service's field names → the file's column.
_COLUMN_OF_FIELD = {"username": "username", "display_name": "name", "role": "role",
                    "scope_code": "scope", "grid_codes": "scope", "department_code": "scope",
                    "phone": "phone"}


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # in the file: the header is row 1
    username: str
    name: str
    role: str
    scope: str
    phone: str


@dataclass(frozen=True, slots=True)
class Imported:
    id: int
    username: str
    name: str
    role: str
    initial_password: str


# --- reading ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number Excel stored as a number
    return str(value).strip()


def _xlsx_rows(raw: bytes) -> Iterator[tuple[int, list[str] | str]]:
    import openpyxl  # only for .xlsx uploads

    # The file is untrusted: whatever fails in reading it (a broken zip, XML or cell) means
    # it cannot be read, a 422 — never a 500.
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise _unreadable(exc) from exc
    try:
        rows = enumerate(book.worksheets[0].iter_rows(values_only=True), 1)
        while True:
            try:
                number, values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001
                raise _unreadable(exc) from exc
            yield number, [_cell(v) for v in values]
    finally:
        book.close()


def _unreadable(exc: Exception) -> InvalidInput:
    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return InvalidInput.at(["file"], M("error.import_file", reason=f".xlsx: {reason}"))


def _csv_rows(raw: bytes) -> Iterator[tuple[int, list[str] | str]]:
    for number, values in csv_records(decode_csv(raw, loc=["file"])):
        yield number, values if isinstance(values, str) else [_cell(v) for v in values]


def _header(cells: list[str] | str | None) -> list[str | None]:
    """The column of each header cell; a 422 for an unknown or missing column."""
    if not cells or isinstance(cells, str) or not any(cells):
        raise InvalidInput.at(["file", 1], cells if isinstance(cells, str)
                              else M("error.import_empty"))
    names = [c.strip().lower() if c.strip().lower() in COLUMNS else c.strip() for c in cells]
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise InvalidInput.at(["file", 1], M("user.import_unknown_columns",
                                                  columns=", ".join(unknown)))
    columns = [COLUMNS.get(n) for n in names]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InvalidInput.at(["file", 1], M("error.import_columns", columns=", ".join(missing)))
    return columns


def read_rows(raw: bytes) -> tuple[list[Row], list[dict[str, Any]]]:
    """The file's data rows (blank lines skipped), and an error for each record that cannot
    be read. .xlsx is told from CSV by its content (a zip file)."""
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge(M("user.import_too_large", limit=MAX_BYTES))
    records = _xlsx_rows(raw) if raw.startswith(b"PK\x03\x04") else _csv_rows(raw)
    columns = _header(next(records, (1, None))[1])
    rows: list[Row] = []
    unreadable: list[dict[str, Any]] = []
    for number, values in records:
        if isinstance(values, str):
            unreadable.append(_error(number, "row", values, "csv"))
            continue
        if not any(values):
            continue
        if len(rows) == MAX_ROWS:
            raise InvalidInput.at(["file"], M("user.import_too_many_rows", limit=MAX_ROWS))
        cells = dict.fromkeys(("username", "name", "role", "scope", "phone"), "")
        for column, value in zip(columns, values, strict=False):
            if column:
                cells[column] = value
        rows.append(Row(number=number, **cells))
    if not rows and not unreadable:
        raise InvalidInput.at(["file"], M("error.import_empty"))
    return rows, unreadable


# --- checking ---------------------------------------------------------------------------


def _error(row: int, column: str, msg: Any, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["file", row, column], "msg": msg, "type": kind}


def _role(value: str) -> Role:
    if value in ROLE_NAMES:
        return ROLE_NAMES[value]
    return service.parse_role(value.strip().lower())


def _scope_fields(role: Role, scope: str) -> dict[str, Any]:
    if role is Role.grid_worker:
        return {"grid_codes": [c for c in SEPARATORS.split(scope) if c]}
    if role in service.NODE_ROLES:
        return {"scope_code": scope or None}
    if role in service.DEPARTMENT_ROLES:
        return {"department_code": scope or None}
    return {"scope_code": scope or None}  # an admin has none: resolve_scope refuses one


async def _row_errors(session: AsyncSession, row: Row, first_row: dict[str, int]
                      ) -> list[dict[str, Any]]:
    errors = []

    def collect(exc: InvalidInput, default: str) -> None:
        for e in exc.errors or [{"loc": [default], "msg": exc.message or exc.detail}]:
            field = str(e["loc"][-1]) if e.get("loc") else default
            errors.append(_error(row.number, _COLUMN_OF_FIELD.get(field, default), e["msg"]))

    try:
        username = service.check_username(row.username)
    except InvalidInput as exc:
        collect(exc, "username")
    else:
        if username in first_row:
            errors.append(_error(row.number, "username", M(
                "user.duplicate_row", name=username, row=first_row[username]), "duplicate"))
        else:
            first_row[username] = row.number
            if await repo.user_by_username(session, username) is not None:
                errors.append(_error(row.number, "username", M("user.taken", name=username),
                                     "conflict"))
    try:
        service.check_display_name(row.name)
    except InvalidInput as exc:
        collect(exc, "name")
    try:
        service.check_phone(row.phone)
    except InvalidInput as exc:
        collect(exc, "phone")
    try:
        role = _role(row.role)
    except InvalidInput as exc:
        collect(exc, "role")
        return errors
    try:
        await service.resolve_scope(session=session, role=role, **{
            "scope_code": None, "grid_codes": (), "department_code": None,
            **_scope_fields(role, row.scope)})
    except InvalidInput as exc:
        collect(exc, "scope")
    return errors


async def check_rows(*, session: AsyncSession, rows: list[Row],
                     unreadable: Sequence[dict[str, Any]] = ()) -> None:
    """Every error of every row, in one 422; nothing is written."""
    errors: list[dict[str, Any]] = list(unreadable)
    first_row: dict[str, int] = {}
    for row in rows:
        errors += await _row_errors(session, row, first_row)
    if errors:
        bad_rows = len({e["loc"][1] for e in errors})
        errors.sort(key=lambda e: e["loc"][1])
        raise InvalidInput(M("error.import_rows", count=bad_rows), errors=errors)


# --- importing --------------------------------------------------------------------------


async def _hash_all(passwords: list[str]) -> list[str]:
    """Argon2 takes a tenth of a second each: hash side by side in a few threads."""
    gate = asyncio.Semaphore(HASHING_THREADS)

    async def one(password: str) -> str:
        async with gate:
            return await asyncio.to_thread(hash_password, password)

    return await asyncio.gather(*(one(p) for p in passwords))


async def import_users(*, session: AsyncSession, raw: bytes, now) -> list[Imported]:
    """Check the whole file, then create every user with an initial password (flushed, not
    committed: the caller's unit of work makes it all or nothing)."""
    rows, unreadable = read_rows(raw)
    await check_rows(session=session, rows=rows, unreadable=unreadable)
    passwords = [secrets.token_urlsafe(INITIAL_PASSWORD_BYTES) for _ in rows]
    hashes = await _hash_all(passwords)
    imported = []
    for row, password, password_hash in zip(rows, passwords, hashes, strict=True):
        role = _role(row.role)
        user = await service.create_user(
            session=session, username=row.username, password=password, role=role,
            display_name=row.name, phone=row.phone or None, must_change_password=True,
            password_hash=password_hash, now=now, **_scope_fields(role, row.scope))
        imported.append(Imported(id=user.id, username=user.username, name=user.display_name,
                                 role=user.role, initial_password=password))
    return imported
