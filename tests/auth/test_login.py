"""Password login, failed-login throttling and access-token expiry, through HTTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.auth.conftest import PASSWORD, unique, unique_addr

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"


async def login(client, username: str, password: str = PASSWORD):
    return await client.post(TOKEN, data={"username": username, "password": password})


async def test_login_returns_bearer_access_and_refresh_tokens(client_from, make_user, tree):
    user = await make_user("community_dispatcher", scope_code=tree.comm_a.code)
    client = client_from(unique_addr())

    r = await login(client, user.username)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "community_dispatcher"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 14 * 86400
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json() == {
        "kind": "user", "id": user.id, "username": user.username, "name": user.username,
        "role": "community_dispatcher",
        "scope": {"scope_code": tree.comm_a.code, "scope_level": "community",
                  "department_code": None, "grid_codes": []},
        "must_change_password": False,
    }
    assert body["must_change_password"] is False


async def test_me_shows_a_grid_workers_grids(client_from, make_user, tree):
    user = await make_user("grid_worker", grid_codes=[tree.grid_a2.code, tree.grid_a1.code])
    client = client_from(unique_addr())
    token = (await login(client, user.username)).json()["access_token"]

    me = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

    assert me.json()["scope"]["grid_codes"] == sorted([tree.grid_a1.code, tree.grid_a2.code])


async def test_username_is_case_insensitive(client_from, make_user):
    user = await make_user("admin")
    r = await login(client_from(unique_addr()), user.username.upper())
    assert r.status_code == 200, r.text


async def test_wrong_password_is_a_401_problem(client_from, make_user):
    user = await make_user("admin")

    r = await login(client_from(unique_addr()), user.username, "not the password")

    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"] == "invalid username or password"


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client_from):
    r = await login(client_from(unique_addr()), unique("nobody"))

    assert r.status_code == 401
    assert r.json()["detail"] == "invalid username or password"


async def test_missing_form_field_names_it(client_from):
    r = await client_from(unique_addr()).post(TOKEN, data={"username": "x"})

    assert r.status_code == 422
    assert ["body", "password"] in [e["loc"] for e in r.json()["errors"]]


async def test_inactive_user_cannot_log_in(client_from, make_user, admin_headers):
    user = await make_user("admin")
    client = client_from(unique_addr())
    r = await client.patch(f"/api/v1/admin/users/{user.id}", json={"is_active": False},
                           headers=admin_headers)
    assert r.status_code == 200, r.text

    r = await login(client, user.username)

    assert r.status_code == 401
    assert "disabled" in r.json()["detail"]


async def test_failures_per_account_and_address_answer_429_there(client_from, make_user,
                                                                  settings, clock):
    user = await make_user("admin")
    client = client_from(unique_addr())
    for _ in range(settings.login_max_failures):
        r = await login(client, user.username, "wrong password")
        assert r.status_code == 401
        clock.advance(timedelta(seconds=10))

    r = await login(client, user.username)  # even the right password

    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    # The oldest failure leaves the window 900 s after it happened, 50 s ago.
    window, elapsed = settings.login_window_seconds, 10 * settings.login_max_failures
    assert r.headers["retry-after"] == str(window - elapsed)
    assert r.json()["retry_after"] == window - elapsed
    # The account's owner at another address is not locked out by them.
    assert (await login(client_from(unique_addr()), user.username)).status_code == 200


async def test_failures_per_account_from_all_addresses_answer_429_everywhere(
        client_from, make_user, settings):
    user = await make_user("admin")
    for _ in range(settings.login_max_account_failures):
        # A different address each time: only the account-wide count can trip.
        r = await login(client_from(unique_addr()), user.username, "wrong password")
        assert r.status_code == 401

    r = await login(client_from(unique_addr()), user.username)  # even the right password

    assert r.status_code == 429
    assert int(r.headers["retry-after"]) == settings.login_window_seconds


async def test_parallel_guesses_cannot_get_past_the_limit(client_from, make_user, settings):
    # Guesses sent at once must not all pass the check before any failure is recorded:
    # exactly login_max_failures of them are judged, the rest answer 429.
    user = await make_user("admin")
    limit = settings.login_max_failures
    client = client_from(unique_addr())
    answers = await asyncio.gather(*(
        login(client, user.username, "wrong password") for _ in range(2 * limit)))
    assert sorted(r.status_code for r in answers) == [401] * limit + [429] * limit


async def test_an_offices_failures_on_other_accounts_do_not_lock_out_a_colleague(
        client_from, make_user, settings):
    # Five people behind one NAT address each mistype their password: the sixth, who
    # types hers right, signs in (this answered 429 for 15 minutes before).
    office = client_from(unique_addr())
    colleagues = [await make_user("admin") for _ in range(settings.login_max_failures)]
    for colleague in colleagues:
        assert (await login(office, colleague.username, "wrong password")).status_code == 401

    sixth = await make_user("admin")
    assert (await login(office, sixth.username)).status_code == 200
    # And the ones who mistyped once still sign in with the right password.
    assert (await login(office, colleagues[0].username)).status_code == 200


async def test_correct_credentials_pass_during_a_spray_from_the_same_address(
        client_from, make_user, settings):
    # A password spray: one address tries a common password against many accounts (each
    # more than once, yet under the per-account limit), far more failures than any
    # per-address limit would allow.
    shared = client_from(unique_addr())
    victims = [await make_user("admin") for _ in range(3)]
    sprayed = [v.username for v in victims] + [unique("guess") for _ in range(12)]
    for _ in range(settings.login_max_failures - 1):
        for name in sprayed:
            assert (await login(shared, name, "Password123")).status_code == 401

    # Someone at that address with the right password still signs in, sprayed or not.
    assert (await login(shared, victims[0].username)).status_code == 200
    assert (await login(shared, (await make_user("admin")).username)).status_code == 200


async def test_throttle_lifts_when_the_failures_leave_the_window(client_from, make_user, settings,
                                                                 clock):
    user = await make_user("admin")
    client = client_from(unique_addr())
    for _ in range(settings.login_max_failures):
        await login(client, user.username, "wrong password")
    assert (await login(client, user.username)).status_code == 429

    clock.advance(timedelta(seconds=settings.login_window_seconds - 1))
    assert (await login(client, user.username)).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert (await login(client, user.username)).status_code == 200


async def test_success_clears_that_addresses_failures(client_from, make_user, settings):
    user = await make_user("admin")
    client = client_from(unique_addr())
    for _ in range(settings.login_max_failures - 1):
        await login(client, user.username, "wrong password")
    assert (await login(client, user.username)).status_code == 200

    # Had the failures stayed, this one would make the count reach the limit.
    await login(client, user.username, "wrong password")
    assert (await login(client, user.username)).status_code == 200


async def test_success_leaves_other_addresses_failures_counting(client_from, make_user,
                                                                settings):
    user = await make_user("admin")
    for _ in range(settings.login_max_account_failures - 1):
        await login(client_from(unique_addr()), user.username, "wrong password")
    assert (await login(client_from(unique_addr()), user.username)).status_code == 200

    # The owner's success does not excuse a guesser elsewhere: one more reaches the limit.
    await login(client_from(unique_addr()), user.username, "wrong password")
    assert (await login(client_from(unique_addr()), user.username)).status_code == 429


async def test_access_token_expires(client_from, make_user, settings, clock):
    user = await make_user("admin")
    client = client_from(unique_addr())
    token = (await login(client, user.username)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    clock.advance(timedelta(minutes=settings.access_token_minutes) - timedelta(seconds=1))
    assert (await client.get(ME, headers=headers)).status_code == 200
    clock.advance(timedelta(seconds=1))
    r = await client.get(ME, headers=headers)

    assert r.status_code == 401
    assert r.json()["detail"] == "access token expired"


async def test_a_token_signed_with_another_secret_is_refused(client_from, make_user, settings,
                                                             clock):
    from app.auth.actor import Actor
    from app.auth.models import Role
    from app.auth.tokens import encode_access_token

    forged = encode_access_token(Actor(kind="user", id=1, role=Role.admin, name="x"),
                                 secret="x" * 40, now=clock.now(), minutes=15)
    r = await client_from(unique_addr()).get(ME, headers={"Authorization": f"Bearer {forged}"})

    assert r.status_code == 401


async def test_anonymous_me_is_401(client_from):
    r = await client_from(unique_addr()).get(ME)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_passwords_are_checked_off_the_event_loop(client_from, make_user, monkeypatch):
    # Argon2 takes about 0.1 s of CPU: in the event loop it would stall every other request
    # of the process (claims, live streams) for as long.
    import threading

    from app.auth import passwords

    threads: list[threading.Thread] = []
    real = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        threads.append(threading.current_thread())
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    user = await make_user("admin")
    assert (await login(client_from(unique_addr()), user.username)).status_code == 200
    assert (await login(client_from(unique_addr()), unique("nobody"))).status_code == 401
    assert len(threads) == 2 and threading.main_thread() not in threads
