"""``whistle backup DIR`` / ``whistle restore DIR``: the database and the attachments
folder, together.

A backup folder holds ``database.dump`` (PostgreSQL: ``pg_dump --format=custom``, taken
inside one snapshot, so it is consistent while the service runs) or ``database.sqlite``
(SQLite's online backup), ``attachments.tar.gz`` (every photo), and ``manifest.json``.
Take the database first: a photo uploaded in between is then an extra file, never a
missing one.

Restoring loads the dump into ``WHISTLE_DATABASE_URL`` (``pg_restore --clean --if-exists``
in one transaction: tables there are replaced) and puts the photos back in
``WHISTLE_ATTACHMENT_DIR``; a folder already there is kept beside it as
``<dir>.before-restore-<time>``, never deleted. Stop the API and the workers first.

PostgreSQL needs ``pg_dump``/``pg_restore`` of the server's major version (or newer) on
the PATH; the password goes to them in ``PGPASSWORD``, not on the command line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import Settings

MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite"
ATTACHMENTS = "attachments.tar.gz"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why (no secrets)."""


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The asyncpg URL as a libpq URL without its password, and the environment with it."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)") from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")


def backup(target: Path, *, settings: Settings, now: datetime | None = None) -> str:
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    if settings.is_sqlite:
        source = sqlite3.connect(_sqlite_path(settings.database_url))
        copy = sqlite3.connect(target / SQLITE_COPY)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        database = SQLITE_COPY
    else:
        dsn, env = _libpq(settings.database_url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={target / PG_DUMP}", f"--dbname={dsn}"], env)
        database = PG_DUMP
    photos = 0
    with tarfile.open(target / ATTACHMENTS, "w:gz") as archive:
        if settings.attachment_dir.is_dir():
            for path in sorted(settings.attachment_dir.rglob("*")):
                archive.add(path, arcname=str(path.relative_to(settings.attachment_dir)),
                            recursive=False)
                photos += path.is_file()
    (target / MANIFEST).write_text(json.dumps({
        "made_at": (now or datetime.now(UTC)).isoformat(), "database": database,
        "attachments": ATTACHMENTS, "attachment_files": photos}, indent=2) + "\n")
    return f"backed up the database and {photos} attachment files to {target}"


def restore(source: Path, *, settings: Settings, now: datetime | None = None) -> str:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a Whistle backup (no readable {MANIFEST})") from exc
    if settings.is_sqlite:
        if manifest["database"] != SQLITE_COPY:
            raise BackupError("this backup is of a PostgreSQL database; restore it there")
        saved = sqlite3.connect(source / SQLITE_COPY)
        live = sqlite3.connect(_sqlite_path(settings.database_url))
        try:
            saved.backup(live)
        finally:
            live.close()
            saved.close()
    else:
        if manifest["database"] != PG_DUMP:
            raise BackupError("this backup is of a SQLite database; restore it there")
        dsn, env = _libpq(settings.database_url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", f"--dbname={dsn}",
              str(source / PG_DUMP)], env)
    folder = settings.attachment_dir
    if folder.exists() and any(folder.iterdir()):
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
        folder.rename(folder.with_name(f"{folder.name}.before-restore-{stamp}"))
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / ATTACHMENTS, "r:gz") as archive:
        archive.extractall(folder, filter="data")  # no paths outside the folder
    return f"restored the database and {manifest['attachment_files']} attachment files " \
           f"from {source}"


