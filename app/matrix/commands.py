"""``whistle import-matrix FILE`` and ``whistle export-matrix FILE`` (registered by
``app.cli.registry``). ``import_matrix_file`` and ``export_matrix_file`` each run as one
unit of work and return a one-line summary; an invalid file raises ``InvalidInput``, which
``format_invalid_input`` turns into one line per problem for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli import run_in_session
from app.csvtext import read_csv_file
from app.errors import InvalidInput
from app.matrix import service


def import_matrix(
    file: Annotated[Path, typer.Argument(help="the matrix CSV (UTF-8, with or without BOM)")],
    label: Annotated[str | None, typer.Option(help="a name for the new version")] = None,
) -> None:
    """Import a matrix CSV as a new version; existing tickets keep the version they used."""
    try:
        typer.echo(import_matrix_file(file, label=label))
    except InvalidInput as exc:
        typer.echo(format_invalid_input(exc), err=True)
        raise typer.Exit(1) from exc


def export_matrix(
    file: Annotated[Path, typer.Argument(help="where to write the CSV (UTF-8 with BOM)")],
    version: Annotated[int | None, typer.Option(help="a version id; default: current")] = None,
    headers: Annotated[str, typer.Option(help="column headers: en (code, name …) or zh "
                                         "(事项编码, 事项名称 …); the import reads either")]
    = "en",
) -> None:
    """Export the current (or a given) matrix version as CSV that Excel opens."""
    if headers not in ("en", "zh"):
        typer.echo("error: --headers: en or zh", err=True)
        raise typer.Exit(2)
    typer.echo(export_matrix_file(file, version_id=version, headers=headers))


def import_matrix_file(path: Path | str, *, label: str | None = None) -> str:
    """Import the CSV at ``path`` as the new current matrix version."""
    path = Path(path)
    text = _read(path)

    async def work(session) -> str:
        version = await service.import_matrix(session=session, csv_text=text,
                                              label=label or f"import of {path.name}",
                                              source=str(path))
        return f"imported matrix version {version.id} ({version.item_count} items) from {path}"

    return run_in_session(work)


def export_matrix_file(path: Path | str, *, version_id: int | None = None,
                       headers: str = "en") -> str:
    """Write the current (or the given) matrix version to ``path`` as CSV with a BOM, its
    header in English or (``headers="zh"``) Chinese."""
    path = Path(path)

    async def work(session) -> str:
        version, text = await service.export_version(session=session, version_id=version_id,
                                                      headers=headers)
        path.write_text(text, encoding="utf-8", newline="")
        return f"exported matrix version {version.id} ({version.item_count} items) to {path}"

    return run_in_session(work)


def format_invalid_input(exc: InvalidInput) -> str:
    """One line per problem: ``row 12, column resolve_limit: '4x' is not a time limit...``."""
    if not exc.errors:
        return exc.detail
    if len(exc.errors) == 1 and str(exc.errors[0].get("msg")) == exc.detail:
        return f"{_where(exc.errors[0].get('loc', []))}: {exc.detail}"
    lines = [f"{exc.detail}:"]
    for error in exc.errors:
        lines.append(f"  {_where(error.get('loc', []))}: {error.get('msg', '')}")
    return "\n".join(lines)


def _where(loc: list) -> str:
    if len(loc) >= 2 and loc[0] == "row":
        where = f"row {loc[1]}"
        return f"{where}, column {loc[2]}" if len(loc) > 2 else where
    if loc and loc[0] == "header":
        return f"header, column {loc[1]}" if len(loc) > 1 else "header"
    return ".".join(str(p) for p in loc) or "file"


def _read(path: Path) -> str:
    return read_csv_file(path)
