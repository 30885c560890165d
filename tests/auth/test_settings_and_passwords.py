"""The signing secret outside development, and Argon2 password hashing."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from app.auth.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from app.config import DEV_SECRET, Settings

STRONG = "k3N9u2Qx7mZ1vB8rT5yW0pL4sD6fH2jA"


@pytest.mark.parametrize("secret", [DEV_SECRET, "", "short-but-not-default"])
def test_production_refuses_a_default_empty_or_short_secret(secret):
    with pytest.raises(ValidationError, match="WHISTLE_SECRET_KEY"):
        Settings(env="production", secret_key=secret)


def test_production_refuses_the_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("WHISTLE_ENV", "production")
    monkeypatch.delenv("WHISTLE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_production_accepts_a_strong_secret():
    assert Settings(env="production", secret_key=STRONG).secret_key == STRONG


def test_development_makes_a_random_secret_once_and_keeps_it(tmp_path):
    where = tmp_path / "var" / "secret_key"
    first = Settings(env="development", secret_key_file=where).secret_key
    assert first != DEV_SECRET and len(first) >= 32
    assert where.stat().st_mode & 0o777 == 0o600
    assert Settings(env="development", secret_key_file=where).secret_key == first  # a restart
    assert Settings(env="development", secret_key_file=tmp_path / "other").secret_key != first


def test_a_token_signed_with_the_published_default_is_refused_in_development(tmp_path):
    from datetime import UTC, datetime

    from app.auth.actor import Actor
    from app.auth.models import Role
    from app.auth.tokens import decode_access_token, encode_access_token
    from app.errors import NotAuthenticated

    now = datetime(2026, 12, 3, tzinfo=UTC)
    admin = Actor(kind="user", id=1, role=Role.admin, name="admin")
    forged = encode_access_token(admin, secret=DEV_SECRET, now=now, minutes=15)
    settings = Settings(env="development", secret_key_file=tmp_path / "secret_key")
    with pytest.raises(NotAuthenticated):
        decode_access_token(forged, secret=settings.secret_key, now=now)


def test_password_hash_is_argon2id_and_verifies():
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(hashed)


def test_weaker_hash_needs_rehash():
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert needs_rehash(weak)


def test_dummy_verify_costs_about_what_a_real_verify_costs():
    hashed = hash_password("correct horse")
    dummy_verify("warm-up")  # the dummy hash is made on first use

    def best_of(fn, n=5):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    real = best_of(lambda: verify_password(hashed, "wrong horse"))
    dummy = best_of(lambda: dummy_verify("wrong horse"))
    assert 0.3 < dummy / real < 3.0  # a skipped verify would be ~1000× faster


@pytest.mark.parametrize(("host", "env", "warns"), [
    ("0.0.0.0", "development", True), ("192.168.1.5", "development", True),
    ("::", "test", True), ("whistle.lan", "development", True),
    ("127.0.0.1", "development", False), ("::1", "development", False),
    ("localhost", "development", False), ("0.0.0.0", "production", False)])
def test_serve_warns_loudly_when_reachable_outside_production(host, env, warns):
    from app.cli.server import exposure_warning

    warning = exposure_warning(host, env)
    assert (warning is not None) == warns
    if warns:
        assert warning.startswith("WARNING") and "WHISTLE_ENV=production" in warning


def test_a_verified_access_token_is_remembered_but_still_expires_and_keeps_its_secret():
    """The hot paths verify a session's token once: a second use skips the signature, but
    not the expiry (against the injected clock), and another secret verifies afresh."""
    from datetime import UTC, datetime, timedelta
    from unittest import mock

    from app.auth import tokens
    from app.auth.actor import Actor
    from app.auth.models import Role
    from app.errors import NotAuthenticated

    now = datetime(2026, 12, 3, tzinfo=UTC)
    actor = Actor(kind="user", id=7, role=Role.street_dispatcher, name="sd",
                  jurisdiction_id=3, scope_level="street")
    token = tokens.encode_access_token(actor, secret="s" * 40, now=now, minutes=15)
    assert tokens.decode_access_token(token, secret="s" * 40, now=now) == actor
    with mock.patch.object(tokens, "_decode", side_effect=AssertionError("verified again")):
        assert tokens.decode_access_token(token, secret="s" * 40, now=now) == actor
    with pytest.raises(NotAuthenticated, match="expired"):
        tokens.decode_access_token(token, secret="s" * 40, now=now + timedelta(minutes=15))
    with pytest.raises(NotAuthenticated, match="invalid"):
        tokens.decode_access_token(token, secret="t" * 40, now=now)
