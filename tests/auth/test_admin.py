"""Admin endpoints for users: who may call them, role/scope validation naming the field,
pagination, updates; no hash ever leaves the service."""

from __future__ import annotations

import pytest

from tests.auth.conftest import PASSWORD, unique

USERS = "/api/v1/admin/users"


def _new(role: str, **fields) -> dict:
    return {"username": unique("n"), "password": PASSWORD, "role": role, **fields}


def _locs(r) -> list[list]:
    return [e["loc"] for e in r.json().get("errors", [])]


@pytest.mark.parametrize("path", [USERS, "/api/v1/admin/api-keys"])
async def test_admin_lists_are_401_anonymous_and_403_for_other_roles(client, make_user,
                                                                     headers_for, tree, path):
    assert (await client.get(path)).status_code == 401
    staff = await make_user("department_lead", department_code=tree.dept.code)

    r = await client.get(path, headers=await headers_for(staff))

    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


async def test_non_admin_cannot_create_users(client, make_user, headers_for, tree):
    sd = await make_user("street_dispatcher", scope_code=tree.street.code)
    r = await client.post(USERS, json=_new("admin"), headers=await headers_for(sd))
    assert r.status_code == 403


@pytest.mark.parametrize(("role", "scope"), [
    ("grid_worker", {"grid_codes": ["A1", "A2"]}),
    ("community_dispatcher", {"scope_code": "A"}),
    ("street_dispatcher", {"scope_code": "S"}),
    ("supervisor", {"scope_code": "B1"}),
    ("supervisor", {"scope_code": "S"}),
    ("department_staff", {"department_code": "D"}),
    ("department_lead", {"department_code": "D"}),
    ("admin", {}),
])
async def test_each_role_with_its_scope_is_created(client, admin_headers, tree, role, scope):
    codes = {"A1": tree.grid_a1, "A2": tree.grid_a2, "A": tree.comm_a, "S": tree.street,
             "B1": tree.grid_b1}
    fields = {}
    if "grid_codes" in scope:
        fields["grid_codes"] = [codes[c].code for c in scope["grid_codes"]]
    if "scope_code" in scope:
        fields["scope_code"] = codes[scope["scope_code"]].code
    if "department_code" in scope:
        fields["department_code"] = tree.dept.code

    r = await client.post(USERS, json=_new(role, **fields), headers=admin_headers)

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["role"] == role
    assert body["grid_codes"] == sorted(fields.get("grid_codes", []))
    assert body["scope_code"] == fields.get("scope_code")
    assert body["department_code"] == fields.get("department_code")
    assert body["must_change_password"] is False  # the one field naming a password
    assert "password" not in r.text.replace('"must_change_password"', "") \
        and "hash" not in r.text


@pytest.mark.parametrize(("role", "fields", "loc", "says"), [
    ("grid_worker", {}, "grid_codes", "at least one grid"),
    ("grid_worker", {"grid_codes": ["COMM_A"]}, "grid_codes", "no grid"),
    ("grid_worker", {"grid_codes": ["A1"], "scope_code": "COMM_A"}, "scope_code", "has no"),
    ("community_dispatcher", {}, "scope_code", "needs a community"),
    ("community_dispatcher", {"scope_code": "STREET"}, "scope_code", "is a street"),
    ("street_dispatcher", {"scope_code": "COMM_A"}, "scope_code", "is a community"),
    ("supervisor", {"scope_code": "NOPE"}, "scope_code", "no node"),
    ("department_staff", {}, "department_code", "needs a department_code"),
    ("department_lead", {"department_code": "NOPE"}, "department_code", "no department"),
    ("department_staff", {"department_code": "D", "grid_codes": ["A1"]}, "grid_codes", "has no"),
    ("admin", {"department_code": "D"}, "department_code", "has no"),
])
async def test_role_scope_mismatch_names_the_field(client, admin_headers, tree, role, fields,
                                                  loc, says):
    codes = {"A1": tree.grid_a1.code, "COMM_A": tree.comm_a.code, "STREET": tree.street.code,
             "D": tree.dept.code, "NOPE": "AUTHT-NOPE"}

    def real(v):
        return [codes[c] for c in v] if isinstance(v, list) else codes[v]

    body = _new(role, **{k: real(v) for k, v in fields.items()})
    r = await client.post(USERS, json=body, headers=admin_headers)

    assert r.status_code == 422, r.text
    assert ["body", loc] in _locs(r)
    assert says in r.json()["detail"]


async def test_integration_is_not_a_user_role(client, admin_headers):
    r = await client.post(USERS, json=_new("integration"), headers=admin_headers)
    assert r.status_code == 422
    assert _locs(r) == [["body", "role"]]


async def test_short_password_names_the_field(client, admin_headers):
    r = await client.post(USERS, json={**_new("admin"), "password": "short"},
                          headers=admin_headers)
    assert r.status_code == 422
    assert _locs(r) == [["body", "password"]]


async def test_bad_username_names_the_field(client, admin_headers):
    r = await client.post(USERS, json={**_new("admin"), "username": "no spaces"},
                          headers=admin_headers)
    assert r.status_code == 422
    assert _locs(r) == [["body", "username"]]


async def test_taken_username_is_409(client, admin_headers, make_user):
    user = await make_user("admin")
    r = await client.post(USERS, json={**_new("admin"), "username": user.username},
                          headers=admin_headers)
    assert r.status_code == 409
    assert _locs(r) == [["body", "username"]]


async def test_service_refuses_integration_and_short_passwords_too(sessions, tree):
    """The CLI goes straight to the service: the same rules hold there."""
    from app.auth import service
    from app.errors import InvalidInput

    async with sessions() as session:
        with pytest.raises(InvalidInput) as bad_role:
            await service.create_user(session=session, username=unique("s"), password=PASSWORD,
                                      role="integration")
        with pytest.raises(InvalidInput) as bad_pw:
            await service.create_user(session=session, username=unique("s"), password="1234567",
                                      role="admin")
    assert bad_role.value.errors[0]["loc"] == ["body", "role"]
    assert bad_pw.value.errors[0]["loc"] == ["body", "password"]


async def test_get_user_and_404(client, admin_headers, make_user):
    user = await make_user("admin")
    r = await client.get(f"{USERS}/{user.id}", headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["username"] == user.username
    assert (await client.get(f"{USERS}/987654321", headers=admin_headers)).status_code == 404


async def test_list_users_pages_with_a_cursor(client, admin_headers, make_user, tree):
    made = {(await make_user("department_staff", department_code=tree.dept2.code)).id
            for _ in range(3)}
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, "role": "department_staff", **({"cursor": cursor} if cursor else {})}
        r = await client.get(USERS, params=params, headers=admin_headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert made <= set(seen)
    assert seen == sorted(set(seen))  # no repeats, oldest first
    assert all("password_hash" not in u for u in page["items"])


async def test_bad_cursor_names_the_parameter(client, admin_headers):
    r = await client.get(USERS, params={"cursor": "abc"}, headers=admin_headers)
    assert r.status_code == 422
    assert _locs(r) == [["query", "cursor"]]


async def test_patch_changes_grids_and_keeps_role(client, admin_headers, make_user, tree):
    user = await make_user("grid_worker", grid_codes=[tree.grid_a1.code])

    r = await client.patch(f"{USERS}/{user.id}", headers=admin_headers,
                           json={"grid_codes": [tree.grid_b1.code], "display_name": "王网格"})

    assert r.status_code == 200, r.text
    assert r.json()["grid_codes"] == [tree.grid_b1.code]
    assert r.json()["display_name"] == "王网格"
    assert r.json()["role"] == "grid_worker"


async def test_patch_role_needs_the_new_roles_scope(client, admin_headers, make_user, tree):
    user = await make_user("grid_worker", grid_codes=[tree.grid_a1.code])

    r = await client.patch(f"{USERS}/{user.id}", headers=admin_headers,
                           json={"role": "community_dispatcher"})

    assert r.status_code == 422
    assert _locs(r) == [["body", "scope_code"]]


async def test_patch_password_resets_it(client, admin_headers, make_user):
    user = await make_user("admin")
    r = await client.patch(f"{USERS}/{user.id}", headers=admin_headers,
                           json={"password": "a brand new one"})
    assert r.status_code == 200
    login = await client.post("/api/v1/auth/token",
                              data={"username": user.username, "password": "a brand new one"})
    assert login.status_code == 200


async def test_patch_null_display_name_names_the_field(client, admin_headers, make_user):
    user = await make_user("admin")
    r = await client.patch(f"{USERS}/{user.id}", headers=admin_headers,
                           json={"display_name": None})
    assert r.status_code == 422
    assert _locs(r) == [["body", "display_name"]]


async def test_admin_cannot_deactivate_or_demote_themselves(client, make_user, headers_for):
    admin = await make_user("admin")
    headers = await headers_for(admin)
    r = await client.patch(f"{USERS}/{admin.id}", headers=headers, json={"is_active": False})
    assert r.status_code == 422
    assert _locs(r) == [["body", "is_active"]]
    r = await client.patch(f"{USERS}/{admin.id}", headers=headers, json={"role": "supervisor"})
    assert r.status_code == 422
    assert _locs(r) == [["body", "role"]]
