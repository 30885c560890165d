"""``whistle import-grids FILE`` and ``whistle import-departments FILE`` (registered by
``app.cli.registry``): the same imports as the API, run as one unit of work against
WHISTLE_DATABASE_URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import run_in_session
from app.errors import InvalidInput
from app.jurisdiction import service


def import_grids(
    file: Annotated[Path, typer.Argument(help="a GeoJSON FeatureCollection of streets, "
                                         "communities and grids")],
) -> None:
    """Import or update jurisdictions from GeoJSON; every bad feature is reported."""
    typer.echo(import_grids_file(file))


def import_departments(
    file: Annotated[Path, typer.Argument(help="departments CSV: code,name,name_en,streets")],
) -> None:
    """Import or update departments and the streets they serve."""
    typer.echo(import_departments_file(file))


def import_grids_file(path: Path | str) -> str:
    """Import a GeoJSON FeatureCollection of streets, communities and grids; print every
    bad feature (index and reason) and exit 1 if any is bad."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"{path}: cannot read a JSON document: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        summary = run_in_session(
            lambda session: service.import_jurisdictions(session=session,
                                                         feature_collection=data))
    except InvalidInput as exc:
        _print_errors(path, exc)
        raise typer.Exit(1) from exc
    return str(summary)


def import_departments_file(path: Path | str) -> str:
    """Import a departments CSV (code,name,streets); print every bad row and exit 1 if any."""
    try:
        rows = service.load_departments_csv(Path(path))
        summary = run_in_session(
            lambda session: service.import_departments(session=session, rows=rows))
    except OSError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    except InvalidInput as exc:
        _print_errors(path, exc)
        raise typer.Exit(1) from exc
    return str(summary)


def _print_errors(path: Path | str, exc: InvalidInput) -> None:
    typer.echo(f"{path}: {exc.detail}", err=True)
    for error in exc.errors or ():
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == "features":
            where = f"feature {loc[1]}" + (f" ({loc[2]})" if len(loc) > 2 else "")
        elif len(loc) >= 2 and loc[0] == "rows":
            where = f"line {loc[1]}" + (f" ({loc[2]})" if len(loc) > 2 else "")
        else:
            where = ".".join(str(p) for p in loc)
        typer.echo(f"  {where}: {error['msg']}", err=True)
