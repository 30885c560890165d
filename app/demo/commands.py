"""``whistle seed-demo``: the demo street, departments, matrix, users and history."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from app.cli import run_in_session
from app.cli.database import migrate_to_head
from app.config import get_settings


def seed_demo(
    force: Annotated[bool, typer.Option(help="seed even if the database has tickets")] = False,
) -> None:
    """Load the demo street, departments, matrix, one user per role and historical tickets."""
    from app.demo.seed import seed_demo as _seed

    settings = get_settings()
    asyncio.run(migrate_to_head(settings.database_url))
    summary = run_in_session(lambda session: _seed(session=session, force=force))
    typer.echo(summary)
