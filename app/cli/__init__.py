"""The ``whistle`` command line (pyproject: ``whistle = "app.cli:main"``).

Commands live with what they serve: each domain's in ``app/<domain>/commands.py`` (import
and export of the matrix, of jurisdictions, users and API keys, the sweep and the worker,
reports, the suggestion model, notifications, the workflow document, the demo data), the
service's own (serve, migrate, openapi, backup, restore, prune) in ``app/cli/``. They are
plain functions; ``app.cli.registry.build_cli`` names every one of them in one place, so
importing a module registers nothing. ``run_in_session`` is the unit of work a command runs
in.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.db import make_engine, unit_of_work

T = TypeVar("T")


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


def main() -> None:
    from app.cli.registry import build_cli
    from app.settings_check import load_or_exit

    cli = build_cli()
    if not {"--help", "-h"} & set(sys.argv[1:]):
        load_or_exit()  # a bad WHISTLE_… variable: one line naming it, exit 78
    cli()
