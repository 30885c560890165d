import httpx
import pytest


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_reaches_the_database(client):
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_unknown_route_is_problem_json(client):
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404


async def test_a_lost_database_connection_answers_503_and_the_retry_works(
        settings, clock, is_postgres, token_for, kill_pooled_connection):
    # Pooled connections are not pinged before use (a round trip per request): one lost to
    # a database restart fails its request with a 503 saying to retry, and the retry works.
    if not is_postgres:
        pytest.skip("needs a server whose connection can be killed: PostgreSQL")
    from app.main import create_app

    app = create_app(settings, clock=clock)
    transport = httpx.ASGITransport(app=app)
    headers = token_for("admin")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            assert (await c.get("/api/v1/departments", headers=headers)).status_code == 200
            await kill_pooled_connection(app)
            lost = await c.get("/api/v1/departments", headers=headers)
            assert lost.status_code == 503, lost.text
            assert lost.headers["content-type"].startswith("application/problem+json")
            assert lost.headers["Retry-After"] == "1" and "retry" in lost.json()["detail"]
            assert (await c.get("/api/v1/departments", headers=headers)).status_code == 200
    finally:
        await app.state.engine.dispose()
