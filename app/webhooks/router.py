"""HTTP for webhook subscriptions (department leads for their department, admins for all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.actor import Actor
from app.auth.deps import require_roles
from app.auth.models import Role
from app.deps import ClockDep, SessionDep, SettingsDep
from app.errors import problem_responses
from app.ids import IdPath
from app.webhooks import service
from app.webhooks.schemas import DeliveryOut, WebhookCreate, WebhookCreated, WebhookOut

router = APIRouter(tags=["webhooks"])

Manager = Annotated[Actor, require_roles(Role.department_lead, Role.admin)]


def webhook_out(view: service.SubscriptionView) -> WebhookOut:
    s = view.subscription
    return WebhookOut(id=s.id, department=view.department_code, url=s.url,
                      event_types=list(s.event_types), is_active=s.is_active,
                      created_at=s.created_at)


@router.post("/webhooks", operation_id="create_webhook", status_code=status.HTTP_201_CREATED,
             response_model=WebhookCreated,
             summary="Subscribe a URL to ticket events; the signing secret is shown only once",
             responses=problem_responses(401, 403, 422))
async def create_webhook(body: WebhookCreate, actor: Manager, session: SessionDep,
                         clock: ClockDep, settings: SettingsDep,
                         response: Response) -> WebhookCreated:
    view, secret = await service.create_subscription(
        session=session, actor=actor, url=body.url, event_types=body.event_types,
        department_code=body.department, now=clock.now(), settings=settings)
    response.headers["Location"] = f"/api/v1/webhooks/{view.subscription.id}"
    return WebhookCreated(**webhook_out(view).model_dump(), secret=secret)


@router.get("/webhooks", operation_id="list_webhooks", response_model=list[WebhookOut],
            summary="Active subscriptions of your department (admins: all)",
            responses=problem_responses(401, 403))
async def list_webhooks(actor: Manager, session: SessionDep) -> list[WebhookOut]:
    views = await service.list_subscriptions(session=session, actor=actor)
    return [webhook_out(v) for v in views]


@router.delete("/webhooks/{webhook_id}", operation_id="delete_webhook",
               status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop a subscription; undelivered events are given up",
               responses=problem_responses(401, 403, 404))
async def delete_webhook(webhook_id: IdPath, actor: Manager, session: SessionDep) -> Response:
    await service.delete_subscription(session=session, actor=actor, subscription_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries", operation_id="list_webhook_deliveries",
            response_model=list[DeliveryOut],
            summary="The subscription's delivery attempts, newest first",
            responses=problem_responses(401, 403, 404, 422))
async def list_webhook_deliveries(
    webhook_id: IdPath, actor: Manager, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    rows = await service.list_deliveries(session=session, actor=actor,
                                         subscription_id=webhook_id, limit=limit)
    return [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]
