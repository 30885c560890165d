"""The ``whistle`` command. Each domain keeps its commands in ``app/<domain>/commands.py``;
this module only wires them together and runs their coroutines in one unit of work."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db import make_engine, unit_of_work

T = TypeVar("T")

cli = typer.Typer(help="Whistle: grid-governance event dispatch (街道吹哨、部门报到).",
                  no_args_is_help=True, add_completion=False)


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` as one transaction against WHISTLE_DATABASE_URL."""

    async def _main() -> T:
        from app.workflow.pipeline import workflow_sessions

        settings = get_settings()
        engine = make_engine(settings.database_url)
        try:
            async with unit_of_work(workflow_sessions(engine, settings)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


def _register() -> None:
    # Domain command modules register themselves on import (see each commands.py).
    import importlib

    for module in ("app.commands",):
        importlib.import_module(module)


def main() -> None:
    from app.settings_check import load_or_exit

    _register()
    if not {"--help", "-h"} & set(sys.argv[1:]):
        load_or_exit()  # a bad WHISTLE_… variable: one line naming it, exit 78
    cli()
