"""Every webhook endpoint × every role (and anonymous): department leads for their own
department, admins for all; other departments' subscriptions are not found."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from app.auth.apikeys import generate_api_key
from app.auth.models import ApiKey
from app.db import unit_of_work
from app.webhooks.models import WebhookSubscription

pytestmark = pytest.mark.usefixtures("reference")

ROLES = ["admin", "gw01", "cd01", "sd", "cgzf_staff", "cgzf_lead", "hw_staff", "hw_lead",
         "sup_bh", "integration"]
MANAGERS = {"admin", "cgzf_lead"}


def rule(ok: int, *, other_lead: int) -> dict[str, int]:
    return {r: ok if r in MANAGERS else other_lead if r == "hw_lead" else 403 for r in ROLES}


# The subject is a subscription of CGZF made by its lead.
ACCESS: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/v1/webhooks"): rule(201, other_lead=201),  # hw_lead subscribes HW
    ("GET", "/api/v1/webhooks"): rule(200, other_lead=200),  # hw_lead lists HW's
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): rule(204, other_lead=404),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): rule(200, other_lead=404),
}
CASES = [(m, p, r) for (m, p) in ACCESS for r in [*ROLES, "anonymous"]]


@pytest.fixture
async def api_key(sessions) -> str:
    raw, prefix, digest = generate_api_key()
    async with unit_of_work(sessions) as session:
        await session.execute(insert(ApiKey).values(name=f"webhooks-{prefix}", prefix=prefix,
                                                    key_hash=digest))
    return raw


def test_every_webhook_route_has_an_access_rule(app):
    # From the OpenAPI paths: app.routes holds included routers, not their routes.
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items()
              if path.startswith("/api/v1/webhooks") for m in ops}
    assert routes == set(ACCESS)


@pytest.mark.parametrize(("method", "path", "role"), CASES, ids=[f"{m} {p} as {r}"
                                                                 for m, p, r in CASES])
async def test_webhook_endpoint_by_role(method, path, role, client, token_for, api_key,
                                        sessions):
    created = await client.post("/api/v1/webhooks", headers=token_for("cgzf_lead"),
                                json={"url": "https://cgzf.example/hook"})
    url = path.format(webhook_id=created.json()["id"])
    headers = ({} if role == "anonymous" else {"X-API-Key": api_key}
               if role == "integration" else token_for(role))
    body = {"json": {"url": "https://dept.example/hook"}} if method == "POST" else {}
    r = await client.request(method, url, headers=headers, **body)
    expected = 401 if role == "anonymous" else ACCESS[(method, path)][role]
    assert r.status_code == expected, r.text[:300]
    async with unit_of_work(sessions) as session:
        await session.execute(update(WebhookSubscription).values(is_active=False))
