"""Integration API keys: created with the raw key shown once, authenticate via X-API-Key,
listed without secrets, revoked → 401."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

KEYS = "/api/v1/admin/api-keys"
ME = "/api/v1/auth/me"


async def test_key_is_shown_once_and_authenticates(client, admin_headers, tree):
    r = await client.post(KEYS, json={"name": "12345 hotline", "scope_code": tree.street.code},
                          headers=admin_headers)
    assert r.status_code == 201, r.text
    created = r.json()
    raw = created["key"]
    assert raw.startswith(f"wh_{created['prefix']}_")
    assert created["scope_code"] == tree.street.code

    me = await client.get(ME, headers={"X-API-Key": raw})

    assert me.status_code == 200, me.text
    assert me.json() == {"kind": "api_key", "id": created["id"], "username": None,
                         "name": "12345 hotline", "role": "integration",
                         "scope": {"scope_code": tree.street.code, "scope_level": "street",
                                   "department_code": None, "grid_codes": []},
                         "must_change_password": False}


async def test_list_never_shows_the_key(client, admin_headers):
    raw = (await client.post(KEYS, json={"name": "open311"}, headers=admin_headers)).json()["key"]

    r = await client.get(KEYS, params={"limit": 200}, headers=admin_headers)

    assert r.status_code == 200
    assert raw not in r.text
    assert all("key" not in k and "key_hash" not in k for k in r.json()["items"])


async def test_revoked_key_is_401(client, admin_headers):
    created = (await client.post(KEYS, json={"name": "to revoke"}, headers=admin_headers)).json()
    assert (await client.get(ME, headers={"X-API-Key": created["key"]})).status_code == 200

    r = await client.delete(f"{KEYS}/{created['id']}", headers=admin_headers)

    assert r.status_code == 204
    r = await client.get(ME, headers={"X-API-Key": created["key"]})
    assert r.status_code == 401
    assert r.json()["detail"] == "API key revoked"
    # Revoking twice is fine; an unknown key is 404.
    assert (await client.delete(f"{KEYS}/{created['id']}", headers=admin_headers)
            ).status_code == 204
    assert (await client.delete(f"{KEYS}/987654321", headers=admin_headers)).status_code == 404


async def test_wrong_secret_with_a_real_prefix_is_401(client, admin_headers):
    raw = (await client.post(KEYS, json={"name": "x"}, headers=admin_headers)).json()["key"]
    forged = raw[:12] + "A" * (len(raw) - 12)
    assert (await client.get(ME, headers={"X-API-Key": forged})).status_code == 401
    assert (await client.get(ME, headers={"X-API-Key": "garbage"})).status_code == 401


async def test_unknown_scope_names_the_field(client, admin_headers):
    r = await client.post(KEYS, json={"name": "x", "scope_code": "AUTHT-NOPE"},
                          headers=admin_headers)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "scope_code"]]


async def test_api_key_cannot_use_admin_endpoints(client, admin_headers):
    raw = (await client.post(KEYS, json={"name": "x"}, headers=admin_headers)).json()["key"]
    assert (await client.get(KEYS, headers={"X-API-Key": raw})).status_code == 403


async def _last_used(client, admin_headers, key_id: int):
    """The key's last_used_at as the admin list shows it (paged until found)."""
    params: dict = {"limit": 200}
    while True:
        page = (await client.get(KEYS, params=params, headers=admin_headers)).json()
        found = [k["last_used_at"] for k in page["items"] if k["id"] == key_id]
        if found:
            return found[0]
        assert page["next_cursor"], f"key {key_id} is not listed"
        params["cursor"] = page["next_cursor"]


async def test_last_used_is_kept_to_the_minute(client, admin_headers, clock):
    created = (await client.post(KEYS, json={"name": "used"}, headers=admin_headers)).json()
    key = {"X-API-Key": created["key"]}
    assert await _last_used(client, admin_headers, created["id"]) is None
    first = clock.now()
    assert (await client.get(ME, headers=key)).status_code == 200
    assert await _last_used(client, admin_headers, created["id"]) == first.isoformat().replace(
        "+00:00", "Z")
    clock.advance(timedelta(seconds=59))
    assert (await client.get(ME, headers=key)).status_code == 200  # not written again yet
    assert await _last_used(client, admin_headers, created["id"]) == first.isoformat().replace(
        "+00:00", "Z")
    clock.advance(timedelta(seconds=1))
    assert (await client.get(ME, headers=key)).status_code == 200
    assert await _last_used(client, admin_headers, created["id"]) == clock.now().isoformat(
        ).replace("+00:00", "Z")


async def test_a_request_does_not_wait_for_another_stamping_the_key(
        client, admin_headers, sessions, is_postgres):
    # Another request of the key holds its row (stamping it, not yet committed): this one
    # skips the stamp instead of waiting for that commit.
    if not is_postgres:
        pytest.skip("SQLite serialises transactions; PostgreSQL's row locks are the point")
    from sqlalchemy import select

    from app.auth.models import ApiKey

    created = (await client.post(KEYS, json={"name": "busy"}, headers=admin_headers)).json()
    async with sessions() as other, other.begin():
        await other.execute(select(ApiKey.id).where(ApiKey.id == created["id"])
                            .with_for_update())
        r = await asyncio.wait_for(client.get(ME, headers={"X-API-Key": created["key"]}), 5)
        assert r.status_code == 200
    assert await _last_used(client, admin_headers, created["id"]) is None
