"""``GET /metrics`` (Prometheus text format) and ``GET /readyz``'s details for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.errors import NotFound
from app.messages import M
from app.observability import figures
from app.observability.metrics import may_scrape, process_metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """This process's metrics (every worker's under ``--workers N``) and the service's
    figures; only for the allowed networks or the metrics token (else 404)."""
    if not may_scrape(request, request.app.state.settings):
        raise NotFound(M("error.no_such_page"))
    service = await figures.cached(request.app)
    return Response(process_metrics() + service, media_type=CONTENT_TYPE_LATEST)
