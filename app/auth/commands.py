"""``whistle users ...`` and ``whistle apikeys ...``: the admin API's user and key management
for the shell (first admin, scripted set-up), each command one unit of work against
WHISTLE_DATABASE_URL. ``app.cli.registry`` mounts them as the groups ``whistle users`` and
``whistle apikeys``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import bulk, service
from app.cli import run_in_session
from app.clock import Clock
from app.errors import WhistleError

T = TypeVar("T")

users_app = typer.Typer(help="Users: one role each, bound to a scope.", no_args_is_help=True)
apikeys_app = typer.Typer(help="Integration API keys (hotline, Open311 clients).",
                          no_args_is_help=True)

# The service names fields as the admin API does; the shell knows them as options.
_OPTION_OF = {"scope_code": "--scope", "grid_codes": "--grid", "department_code": "--department",
              "display_name": "--display-name", "username": "--username",
              "password": "--password", "role": "--role", "name": "--name"}


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work; a domain error is printed per option and exits 1."""
    try:
        return run_in_session(work)
    except WhistleError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for error in exc.errors or ():
            field = str(error["loc"][-1]) if error.get("loc") else ""
            typer.echo(f"  {_OPTION_OF.get(field, field)}: {error['msg']}", err=True)
        raise typer.Exit(1) from exc


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Option(help="login name")],
    role: Annotated[str, typer.Option(help="grid_worker, community_dispatcher, "
                                      "street_dispatcher, supervisor, department_staff, "
                                      "department_lead or admin")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True,
                                          help="at least 8 characters (prompted if omitted)")],
    scope: Annotated[str | None, typer.Option(help="node code: a community, a street, or any "
                                              "node for a supervisor")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="a grid code (grid workers; repeat)")]
    = None,
    department: Annotated[str | None, typer.Option(help="department code (staff, leads)")] = None,
    display_name: Annotated[str | None, typer.Option(help="defaults to the username")] = None,
) -> None:
    """Create a user with one role bound to its scope."""

    async def work(session: AsyncSession) -> str:
        user = await service.create_user(
            session=session, username=username, password=password, role=role,
            display_name=display_name, scope_code=scope, grid_codes=grid or (),
            department_code=department, now=Clock().now())
        return f"created user {user.id} {user.username} ({user.role})"

    typer.echo(_run(work))


@users_app.command("import")
def import_users(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or .xlsx: username, name, role, "
                                         "scope, phone (or 用户名, 姓名, 角色, 范围, 手机号)")],
) -> None:
    """Import users from a file, all or none; print each one's initial password (tab-separated
    username, name, role, password), which must be changed at first login."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc

    async def work(session: AsyncSession) -> list[bulk.Imported]:
        return await bulk.import_users(session=session, raw=raw, now=Clock().now())

    try:
        imported = run_in_session(work)
    except WhistleError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for error in exc.errors or ():
            where = error.get("loc", [])[1:]
            row = f"row {where[0]}" if where else "file"
            column = f", {where[1]}" if len(where) > 1 else ""
            typer.echo(f"  {row}{column}: {error['msg']}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"imported {len(imported)} users; their initial passwords (shown only now, "
               "to be changed at first login):", err=True)
    for u in imported:
        typer.echo(f"{u.username}\t{u.name}\t{u.role}\t{u.initial_password}")


@users_app.command("list")
def list_users() -> None:
    """Every user with role, scope and whether active."""

    async def work(session: AsyncSession) -> list[str]:
        lines, after = [], None
        while page := await service.list_users(session=session, limit=500, after_id=after):
            for v in await service.describe_users(session=session, users=page):
                scope = v.scope_code or v.department_code or ",".join(v.grid_codes) or "-"
                state = "" if v.user.is_active else "  (inactive)"
                lines.append(f"{v.user.id:>5}  {v.user.username:<16} {v.user.role:<22} "
                             f"{scope}{state}")
            after = page[-1].id
        return lines

    for line in _run(work):
        typer.echo(line)


@apikeys_app.command("create")
def create_api_key(
    name: Annotated[str, typer.Option(help="who holds the key, e.g. '12345 hotline'")],
    scope: Annotated[str | None, typer.Option(help="node code the client may file into; "
                                              "omit for every street")] = None,
) -> None:
    """Create an integration API key and print it once: it is stored only as a hash."""

    async def work(session: AsyncSession) -> tuple[int, str]:
        key, raw = await service.create_api_key(session=session, name=name, scope_code=scope,
                                                now=Clock().now())
        return key.id, raw

    key_id, raw = _run(work)
    typer.echo(f"created API key {key_id}; send it as the X-API-Key header. "
               "It is shown only now:", err=True)
    typer.echo(raw)


@apikeys_app.command("revoke")
def revoke_api_key(key_id: Annotated[int, typer.Argument(help="the key's id")]) -> None:
    """Revoke an API key: requests with it answer 401 from now on."""

    async def work(session: AsyncSession) -> str:
        key = await service.revoke_api_key(session=session, key_id=key_id, now=Clock().now())
        return f"revoked API key {key.id} ({key.name})"

    typer.echo(_run(work))


@apikeys_app.command("list")
def list_api_keys() -> None:
    """Every API key: id, prefix, name, scope and whether revoked (never the key)."""

    async def work(session: AsyncSession) -> list[str]:
        keys = await service.list_api_keys(session=session, limit=10_000)
        codes = await service.node_codes(session=session, ids=[k.jurisdiction_id for k in keys])
        return [f"{k.id:>5}  wh_{k.prefix}_…  {k.name:<24} "
                f"{codes.get(k.jurisdiction_id, '-') if k.jurisdiction_id else '-'}"
                f"{'  (revoked)' if k.revoked_at else ''}" for k in keys]

    for line in _run(work):
        typer.echo(line)
