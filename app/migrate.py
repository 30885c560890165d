"""Apply Alembic migrations from inside the application (CLI, start-up, tests).

The revisions live in the top-level ``migrations/`` folder of the source tree, which the
build ships as the package ``app.migrations`` (see ``setup.py``): they are found through
the package, so an installed Whistle migrates from any working directory. The Alembic
configuration is made here rather than read from ``alembic.ini`` (which the plain
``alembic`` command in a checkout still uses)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# The source tree's root in a checkout (README, openapi/): only development commands use it.
ROOT = Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    """Where the revisions are: the installed package's ``app.migrations`` (a plain folder
    in a wheel), or, when ``app`` is imported from a checkout (tests, editable installs),
    the checkout's ``migrations/``."""
    # A folder without __init__.py: a namespace package, whose one location is the folder.
    spec = find_spec("app.migrations")
    if spec is None or not spec.submodule_search_locations:
        return ROOT / "migrations"
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str | None:
    """The revision the code expects the database to be at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(engine: AsyncEngine) -> None:
    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
