"""``/readyz``: ready means the database answers and is at the code's migration head;
anonymous callers learn only ok/unavailable, admins the details."""

from __future__ import annotations

import httpx
from alembic import command

from app.db import make_engine
from app.main import create_app
from app.migrate import alembic_config, head_revision


async def readyz(settings, clock, headers=None) -> httpx.Response:
    app = create_app(settings, clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            return await client.get("/readyz", headers=headers or {})
    finally:
        await app.state.engine.dispose()


async def test_admins_see_the_database_the_migrations_and_the_worker(client, token_for):
    anonymous = await client.get("/readyz")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    for user in ("gw01", "cgzf_lead"):  # only admins
        assert "details" not in (await client.get("/readyz", headers=token_for(user))).json()
    r = await client.get("/readyz", headers=token_for("admin"))
    details = r.json()["details"]
    assert details["database"] == "ok"
    assert details["migration"] == {"database": head_revision(), "code": head_revision()}
    assert set(details["worker"]) == {"last_pass_at", "last_pass_seconds", "last_pass", "stale"}


async def test_an_unreachable_database_is_only_unavailable_to_anonymous_callers(
        settings, clock, tmp_path, token_for):
    gone = settings.model_copy(update={
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"})
    anonymous = await readyz(gone, clock)
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "unavailable"}
    admin = await readyz(gone, clock, token_for("admin"))
    assert admin.status_code == 503
    assert admin.json()["details"]["database"].startswith("unreachable")


async def test_a_database_behind_the_code_is_not_ready(settings, clock, tmp_path, token_for):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)

    def to_0003(connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")

    async with engine.begin() as conn:
        await conn.run_sync(to_0003)
    await engine.dispose()
    behind = settings.model_copy(update={"database_url": url})
    r = await readyz(behind, clock, token_for("admin"))
    assert r.status_code == 503 and r.json()["status"] == "unavailable"
    assert r.json()["details"]["migration"] == {"database": "0003", "code": head_revision()}
