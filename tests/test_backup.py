"""``whistle backup`` / ``whistle restore`` through the real command line: back up a
database of its own (PostgreSQL with pg_dump/pg_restore when the suite runs there, SQLite
otherwise) and its attachments, wipe both, restore, and every ticket, timeline and photo
is back, byte for byte."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import asyncpg
import httpx
import pytest
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app.auth.models import User
from app.auth.service import actor_for_user
from app.auth.tokens import encode_access_token
from app.config import Settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.demo.seed import seed_reference
from app.main import create_app
from app.migrate import upgrade_to_head
from tests.test_settings_check import run_whistle


def png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
async def scratch_url(database_url, is_postgres, tmp_path):
    """A database of the test's own, on the suite's backend."""
    if not is_postgres:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    url = make_url(database_url)
    name = f"{url.database}_backup"
    admin = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def snapshot(settings: Settings, clock) -> dict:
    """Every ticket (as the API shows it), its timeline and its photos' bytes."""
    app = create_app(settings, clock=clock)
    try:
        async with app.state.sessions() as session:
            admin = (await session.execute(select(User).where(User.username == "admin"))
                     ).scalar_one()
            actor = await actor_for_user(session=session, user=admin)
        token = encode_access_token(actor, secret=settings.secret_key, now=clock.now(),
                                    minutes=5)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            tickets = (await client.get("/api/v1/tickets?limit=100", headers=headers)).json()
            found = {}
            for ticket in tickets["items"]:
                detail = (await client.get(f"/api/v1/tickets/{ticket['id']}",
                                           headers=headers)).json()
                events = (await client.get(f"/api/v1/tickets/{ticket['id']}/events",
                                           headers=headers)).json()
                photos = [(await client.get(f"/api/v1/attachments/{a}", headers=headers)).content
                          for a in detail["attachments"]]
                found[ticket["id"]] = (detail, events, photos)
            return found
    finally:
        await app.state.engine.dispose()


async def post_tickets(settings: Settings, clock) -> None:
    app = create_app(settings, clock=clock)
    try:
        async with app.state.sessions() as session:
            worker = (await session.execute(select(User).where(User.username == "gw01"))
                      ).scalar_one()
            actor = await actor_for_user(session=session, user=worker)
        token = encode_access_token(actor, secret=settings.secret_key, now=clock.now(),
                                    minutes=5)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            for n, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
                photo = await client.post("/api/v1/attachments", headers=headers,
                                          files={"file": (f"p{n}.png", png(colour), "image/png")})
                assert photo.status_code == 201, photo.text
                r = await client.post("/api/v1/tickets", headers=headers, json={
                    "grid": "BH01-01", "item": "0202", "description": f"垃圾 {n}",
                    "attachments": [photo.json()["id"]]})
                assert r.status_code == 201, r.text
    finally:
        await app.state.engine.dispose()


async def wipe(settings: Settings) -> None:
    if settings.is_sqlite:
        database = Path(make_url(settings.database_url).database)
        for path in database.parent.glob(database.name + "*"):
            path.unlink()
    else:
        engine = make_engine(settings.database_url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    shutil.rmtree(settings.attachment_dir)


async def test_backup_wipe_restore_brings_everything_back(scratch_url, tmp_path, clock):
    settings = Settings(env="test", database_url=scratch_url,
                        attachment_dir=tmp_path / "attachments", cache_check_seconds=0)
    engine = make_engine(scratch_url)
    await upgrade_to_head(engine)
    async with unit_of_work(make_sessionmaker(engine)) as session:
        await seed_reference(session=session)
    await engine.dispose()
    await post_tickets(settings, clock)
    before = await snapshot(settings, clock)
    assert len(before) == 2 and all(photos for _, _, photos in before.values())
    assert all(events for _, events, _ in before.values())
    env = {"WHISTLE_DATABASE_URL": scratch_url,
           "WHISTLE_ATTACHMENT_DIR": str(settings.attachment_dir)}

    made = run_whistle(tmp_path, "backup", str(tmp_path / "backup"), **env)
    assert made.returncode == 0, made.stderr
    await wipe(settings)
    restored = run_whistle(tmp_path, "restore", str(tmp_path / "backup"), **env)
    assert restored.returncode == 0, restored.stderr

    assert await snapshot(settings, clock) == before


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path):
    r = run_whistle(tmp_path, "restore", str(tmp_path))
    assert r.returncode == 1
    assert "is not a Whistle backup" in r.stderr and "Traceback" not in r.stderr
