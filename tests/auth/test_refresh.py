"""Rotating refresh tokens: rotation, reuse detection, expiry, logout, ended sessions."""

from __future__ import annotations

from datetime import timedelta

from tests.auth.conftest import PASSWORD, unique_addr

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


async def _signed_in(client_from, make_user, role: str = "admin", **scope):
    user = await make_user(role, **scope)
    client = client_from(unique_addr())
    r = await client.post(TOKEN, data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, user, r.json()


async def test_refresh_rotates_and_the_new_token_works(client_from, make_user, clock):
    client, _, first = await _signed_in(client_from, make_user)
    clock.advance(timedelta(minutes=20))  # the access token has expired by now

    second = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    me = await client.get("/api/v1/auth/me",
                          headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 200
    third = await client.post(REFRESH, json={"refresh_token": new["refresh_token"]})
    assert third.status_code == 200, third.text


async def test_reusing_a_refresh_token_revokes_its_whole_family(client_from, make_user):
    client, _, first = await _signed_in(client_from, make_user)
    rotated = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()

    reuse = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert reuse.status_code == 401
    assert reuse.headers["content-type"] == "application/problem+json"
    # The revocation was committed despite the 401: the thief's rotated token is dead too.
    r = await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 401


async def test_reuse_in_one_login_leaves_other_logins_alone(client_from, make_user):
    client, user, first = await _signed_in(client_from, make_user)
    other = (await client.post(TOKEN, data={"username": user.username,
                                             "password": PASSWORD})).json()
    await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})  # reuse

    r = await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})

    assert r.status_code == 200, r.text


async def test_expired_refresh_token_is_refused(client_from, make_user, settings, clock):
    client, _, first = await _signed_in(client_from, make_user)
    clock.advance(timedelta(days=settings.refresh_token_days))

    r = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


async def test_unknown_refresh_token_is_refused(client_from):
    r = await client_from(unique_addr()).post(REFRESH, json={"refresh_token": "nonsense"})
    assert r.status_code == 401


async def test_refresh_body_is_validated(client_from):
    r = await client_from(unique_addr()).post(REFRESH, json={})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "refresh_token"]


async def test_logout_revokes_the_family(client_from, make_user):
    client, _, first = await _signed_in(client_from, make_user)
    rotated = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()

    r = await client.post(LOGOUT, json={"refresh_token": rotated["refresh_token"]})

    assert r.status_code == 204
    assert (await client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]})
            ).status_code == 401


async def test_logout_with_an_unknown_token_is_still_204(client_from):
    r = await client_from(unique_addr()).post(LOGOUT, json={"refresh_token": "gone"})
    assert r.status_code == 204


async def test_refresh_carries_a_role_change_into_the_new_access_token(
        client_from, make_user, admin_headers, tree):
    client, user, first = await _signed_in(client_from, make_user, "supervisor",
                                           scope_code=tree.street.code)
    r = await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                           json={"role": "street_dispatcher", "scope_code": tree.street2.code})
    assert r.status_code == 200, r.text

    # A role or scope change ends the user's sessions: the refresh token is revoked.
    r = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    again = (await client.post(TOKEN, data={"username": user.username,
                                             "password": PASSWORD})).json()
    assert again["role"] == "street_dispatcher"


async def test_deactivation_ends_refresh(client_from, make_user, admin_headers):
    client, user, first = await _signed_in(client_from, make_user)
    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin_headers,
                       json={"is_active": False})

    r = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert r.status_code == 401


async def test_two_concurrent_refreshes_with_one_token_make_one_winner(client_from, make_user):
    """Two connections race with the same refresh token: the conditional UPDATE lets one
    through; the other counts as a reuse, so the winner's new token dies with the family."""
    import asyncio

    client, _, first = await _signed_in(client_from, make_user)
    body = {"refresh_token": first["refresh_token"]}

    a, b = await asyncio.gather(client.post(REFRESH, json=body), client.post(REFRESH, json=body))

    assert sorted([a.status_code, b.status_code]) == [200, 401]
    winner = a if a.status_code == 200 else b
    r = await client.post(REFRESH, json={"refresh_token": winner.json()["refresh_token"]})
    assert r.status_code == 401


async def test_a_login_ends_after_login_max_days_however_often_it_refreshes(
        client_from, make_user, settings, clock):
    # A refresh token kept fresh (stolen, say) cannot keep the session alive for ever: no
    # token of the login outlives login_max_days (90) after the password was given.
    assert (settings.refresh_token_days, settings.login_max_days) == (14, 90)
    client, _, token = await _signed_in(client_from, make_user)
    signed_in = clock.now()

    async def refresh_on(day: int):
        clock.advance(signed_in + timedelta(days=day) - clock.now())
        return await client.post(REFRESH, json={"refresh_token": token["refresh_token"]})

    for day, lasts_days in ((13, 14), (26, 14), (39, 14), (52, 14), (65, 14), (78, 12), (89, 1)):
        r = await refresh_on(day)
        assert r.status_code == 200, (day, r.text)
        token = r.json()
        assert token["refresh_expires_in"] == lasts_days * 86400, day
    r = await refresh_on(90)
    assert r.status_code == 401 and "expired" in r.json()["detail"], r.text
