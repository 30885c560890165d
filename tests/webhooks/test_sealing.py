"""Webhook signing secrets are stored sealed (Fernet), opened only to sign a delivery."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from app.config import Settings
from app.webhooks.models import WebhookDelivery, WebhookSubscription
from app.webhooks.sealing import PREFIX, Unsealable, derived_key, keys_of, seal, unseal
from tests.webhooks.test_subscriptions import item_of, post_ticket

pytestmark = pytest.mark.usefixtures("reference", "only_this_tests_messages")

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_a_sealed_secret_opens_with_its_key_and_hides_the_secret():
    sealed = seal("whsec_abc", [OLD])
    assert sealed.startswith(PREFIX) and "whsec_abc" not in sealed
    assert unseal(sealed, [OLD]) == "whsec_abc"
    assert seal("whsec_abc", [OLD]) != sealed  # a fresh IV every time


def test_keys_rotate_by_putting_a_new_one_first():
    sealed_before = seal("whsec_abc", [OLD])
    assert unseal(sealed_before, [NEW, OLD]) == "whsec_abc"
    sealed_after = seal("whsec_abc", [NEW, OLD])
    assert unseal(sealed_after, [NEW]) == "whsec_abc"
    with pytest.raises(Unsealable, match="re-create the subscription or restore the key"):
        unseal(sealed_before, [NEW])
    with pytest.raises(Unsealable, match="not sealed"):
        unseal("whsec_abc", [OLD])


def test_without_configured_keys_one_is_derived_from_the_token_secret():
    a, b = Settings(secret_key="a" * 40), Settings(secret_key="b" * 40)
    assert keys_of(a) == (derived_key("a" * 40),) != keys_of(b)
    assert keys_of(Settings(secret_key="a" * 40, webhook_sealing_keys=[NEW, OLD])) == (NEW, OLD)
    with pytest.raises(ValidationError, match="urlsafe base64"):
        Settings(webhook_sealing_keys=["not base64!"])
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(webhook_sealing_keys=["YWJj"])


async def test_the_database_holds_only_the_sealed_secret(client, token_for, sessions, settings):
    r = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                          json={"url": "https://cgzf.example.gov.cn/hook"})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    async with sessions() as session:
        stored = (await session.execute(select(WebhookSubscription.secret).where(
            WebhookSubscription.id == r.json()["id"]))).scalar_one()
    assert stored.startswith(PREFIX) and secret not in stored
    assert unseal(stored, keys_of(settings)) == secret


async def test_a_secret_no_key_opens_fails_its_delivery_saying_why_and_sends_nothing(
        client, token_for, sessions, settings, matrix_items, clock):
    from app.webhooks.delivery import deliver_due

    r = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                          json={"url": "http://receiver.invalid/hook"})
    await post_ticket(client, token_for, item_of(matrix_items, "CGZF"))
    sent: list[httpx.Request] = []

    async def accept(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    rotated_away = settings.model_copy(update={"webhook_sealing_keys": [SecretStr(NEW)]})
    async with httpx.AsyncClient(transport=httpx.MockTransport(accept)) as http:
        assert await deliver_due(sessions=sessions, http=http, now=clock.now(),
                                 settings=rotated_away) == 1
    assert sent == []
    log = (await client.get(f"/api/v1/webhooks/{r.json()['id']}/deliveries",
                            headers=token_for("cgzf_lead"))).json()
    assert log[0]["error"].startswith("Unsealable: no key in WHISTLE_WEBHOOK_SEALING_KEYS")
    async with sessions() as session:
        assert (await session.execute(select(WebhookDelivery.status_code).where(
            WebhookDelivery.id == log[0]["id"]))).scalar_one() is None
