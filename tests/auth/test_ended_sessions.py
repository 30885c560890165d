"""Access tokens stop working when their session ends — deactivation, logout, reuse
detection — at once in the process that ended it, within ``session_check_seconds`` in
every other, without a database round trip per request."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event

from app.auth.revocations import SESSION_ENDED
from app.main import create_app
from tests.auth.conftest import PASSWORD, unique_addr

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def sign_in(client, user) -> dict:
    r = await client.post(TOKEN, data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_deactivated_users_access_token_is_refused_at_once(client_from, make_user,
                                                                   admin_headers):
    user = await make_user("admin")
    client = client_from(unique_addr())
    pair = await sign_in(client, user)
    assert (await client.get(ME, headers=bearer(pair))).status_code == 200

    r = await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                           json={"is_active": False})
    assert r.status_code == 200, r.text

    r = await client.get(ME, headers=bearer(pair))
    assert r.status_code == 401
    assert r.json()["detail"] == SESSION_ENDED
    # Posting is refused as well as reading.
    r = await client.post("/api/v1/admin/users", headers=bearer(pair), json={})
    assert r.status_code == 401


async def test_a_deactivated_user_is_refused_even_with_a_token_from_no_login(
        client_from, make_user, admin_headers, headers_for):
    user = await make_user("admin")
    headers = await headers_for(user)  # minted directly: no refresh family to revoke
    client = client_from(unique_addr())
    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                       json={"is_active": False})

    assert (await client.get(ME, headers=headers)).status_code == 401


async def test_reactivation_lets_a_new_login_in_at_once(client_from, make_user, admin_headers):
    user = await make_user("admin")
    client = client_from(unique_addr())
    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                       json={"is_active": False})
    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                       json={"is_active": True})

    pair = await sign_in(client, user)

    assert (await client.get(ME, headers=bearer(pair))).status_code == 200


async def test_reuse_detection_ends_the_familys_access_tokens_too(client_from, make_user):
    user = await make_user("admin")
    client = client_from(unique_addr())
    first = await sign_in(client, user)
    other_login = await sign_in(client, user)
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    assert (await client.get(ME, headers=bearer(second))).status_code == 200

    # The first refresh token presented again: it was copied; the family is revoked.
    r = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401

    assert (await client.get(ME, headers=bearer(second))).status_code == 401
    assert (await client.get(ME, headers=bearer(first))).status_code == 401
    # Another login of the same user is another family: untouched.
    assert (await client.get(ME, headers=bearer(other_login))).status_code == 200


async def test_logout_ends_the_access_token(client_from, make_user):
    user = await make_user("admin")
    client = client_from(unique_addr())
    pair = await sign_in(client, user)

    assert (await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})
            ).status_code == 204

    assert (await client.get(ME, headers=bearer(pair))).status_code == 401


async def test_a_password_change_ends_the_users_sessions(client_from, make_user, admin_headers):
    user = await make_user("admin")
    client = client_from(unique_addr())
    pair = await sign_in(client, user)

    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                       json={"password": "another long password"})

    assert (await client.get(ME, headers=bearer(pair))).status_code == 401


@pytest.fixture
async def other_process(settings, clock):
    """``await other_process(check_seconds)`` → a client of a second app on the same
    database, with its own cache of ended sessions (another API process), and a list that
    collects the SQL it sends."""
    opened = []

    async def make(check_seconds: float) -> tuple[httpx.AsyncClient, list[str]]:
        app = create_app(settings.model_copy(update={"session_check_seconds": check_seconds}),
                         clock=clock)
        statements: list[str] = []
        event.listen(app.state.engine.sync_engine, "before_cursor_execute",
                     lambda _c, _cur, sql, *_: statements.append(sql))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://test")
        opened.append((app, client))
        return client, statements

    yield make
    for app, client in opened:
        await client.aclose()
        await app.state.engine.dispose()


async def test_another_process_refuses_the_token_once_it_reloads(
        client_from, make_user, admin_headers, other_process):
    user = await make_user("admin")
    pair = await sign_in(client_from(unique_addr()), user)
    lagging, _ = await other_process(3600)
    prompt, _ = await other_process(0)
    assert (await lagging.get(ME, headers=bearer(pair))).status_code == 200  # loads its set

    await client_from(unique_addr()).patch(f"/api/v1/admin/users/{user.id}",
                                           headers=admin_headers, json={"is_active": False})

    # Within its check interval a process trusts what it loaded (the documented lag) ...
    assert (await lagging.get(ME, headers=bearer(pair))).status_code == 200
    # ... and after it, it reloads and refuses.
    assert (await prompt.get(ME, headers=bearer(pair))).status_code == 401


async def test_checking_costs_no_query_per_request(client_from, make_user, other_process):
    user = await make_user("admin")
    pair = await sign_in(client_from(unique_addr()), user)
    client, statements = await other_process(3600)
    await client.get("/api/v1/departments", headers=bearer(pair))  # the first loads the set
    assert sum("refresh_tokens" in sql for sql in statements) == 1

    for _ in range(5):
        assert (await client.get("/api/v1/departments", headers=bearer(pair))).status_code == 200

    assert sum("refresh_tokens" in sql for sql in statements) == 1


