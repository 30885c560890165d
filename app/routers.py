"""Every domain router mounted under /api/v1, in the order the docs list them."""

from fastapi import APIRouter

from app.attachments.router import router as attachments_router
from app.auth.router import router as auth_router
from app.duplicates.router import router as duplicates_router
from app.jurisdiction.router import router as jurisdiction_router
from app.live.router import router as live_router
from app.matrix.router import router as matrix_router
from app.notifications.router import router as notifications_router
from app.reports.router import router as reports_router
from app.sla.pending_router import router as ticket_requests_router
from app.sla.router import router as sla_router
from app.suggest.router import router as suggest_router
from app.tickets.router import router as tickets_router
from app.tickets.workflow_router import router as workflow_router
from app.webhooks.router import router as webhooks_router

API_ROUTERS: list[APIRouter] = [
    auth_router,
    duplicates_router,  # before tickets: /tickets/duplicates is not /tickets/{ticket_id}
    tickets_router,
    workflow_router,
    attachments_router,
    jurisdiction_router,
    matrix_router,
    sla_router,
    ticket_requests_router,
    reports_router,
    live_router,
    webhooks_router,
    notifications_router,
    suggest_router,
]
