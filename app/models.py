"""Every domain's models, imported once so that the metadata (and Alembic) sees them all."""

from app.attachments.models import Attachment
from app.auth.models import ApiKey, LoginFailure, RefreshToken, User, UserGrid
from app.db import Base
from app.jurisdiction.models import Department, DepartmentStreet, Jurisdiction
from app.matrix.models import MatrixItem, MatrixVersion
from app.notifications import models as notification_models  # noqa: F401  (inbox, outbox)
from app.observability.models import WorkerHeartbeat
from app.reports import models as report_models  # noqa: F401  (facts and rollups)
from app.sla import models as sla_models  # noqa: F401  (SLA, escalation, whistle tables)
from app.suggest.models import SuggestModel
from app.tickets.models import IdempotencyRecord, Ticket, TicketEvent
from app.webhooks import models as webhook_models  # noqa: F401  (subscriptions, outbox, log)

__all__ = [
    "ApiKey", "Attachment", "Base", "Department", "DepartmentStreet", "IdempotencyRecord",
    "Jurisdiction", "LoginFailure", "MatrixItem", "MatrixVersion", "RefreshToken", "SuggestModel",
    "Ticket", "TicketEvent", "User", "UserGrid", "WorkerHeartbeat",
]
