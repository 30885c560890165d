"""The reports' commands: ``whistle reports-rebuild`` and ``whistle seed-bulk`` (the bulk
dataset exists for the reports and their benchmark), with rich progress bars; registered
by ``app.cli.registry``."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.migrate import upgrade_to_head


def _bar() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"),
                    TimeRemainingColumn())


def rebuild_command() -> str:
    from app.reports.rebuild import rebuild

    async def main() -> str:
        settings = get_settings()
        engine = make_engine(settings.database_url)
        try:
            with _bar() as bar:
                task = bar.add_task("rebuilding reports", total=None, rate="")

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = await rebuild(sessions=make_sessionmaker(engine), settings=settings,
                                       progress=progress)
            return str(report)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def seed_bulk_command(*, tickets: int, streets: int, days: int, seed: int,
                      copies: int = 1) -> str:
    from app.demo.bulk import seed_bulk

    async def main() -> str:
        engine = make_engine(get_settings().database_url)
        try:
            await upgrade_to_head(engine)
            started = time.monotonic()
            with _bar() as bar:
                task = bar.add_task("generating tickets", total=tickets, rate="")

                def progress(done: int) -> None:
                    rate = done / max(time.monotonic() - started, 1e-6)
                    bar.update(task, completed=done, rate=f"{rate:,.0f} tickets/s")

                summary = await seed_bulk(engine=engine, tickets=tickets, streets=streets,
                                          days=days, seed=seed, progress=progress,
                                          copies=copies)
            return f"{summary} in {time.monotonic() - started:,.0f} s"
        finally:
            await engine.dispose()

    return asyncio.run(main())


def reports_rebuild() -> None:
    """Recompute every report fact and rollup from the tickets and their timelines."""
    typer.echo(rebuild_command())


def seed_bulk(
    tickets: Annotated[int, typer.Option(help="how many tickets to generate")] = 100_000,
    streets: Annotated[int, typer.Option(help="streets to spread them over (the demo street "
                                         "plus generated ones)")] = 1,
    days: Annotated[int, typer.Option(help="over how many days before today")] = 365,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same data)")] = 20261123,
    copies: Annotated[int, typer.Option(help="PostgreSQL: Python draws one ticket in this "
                                        "many, SQL copies each into other grids of streets "
                                        "with its working calendar (1: every ticket "
                                        "drawn)")] = 10,
) -> None:
    """Generate a large realistic dataset (tickets, timelines, SLA rows, report rollups);
    bulk COPY and INSERT … SELECT on PostgreSQL, executemany on SQLite."""
    typer.echo(seed_bulk_command(tickets=tickets, streets=streets, days=days, seed=seed,
                                 copies=copies))
