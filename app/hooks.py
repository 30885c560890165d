"""Every timeline hook and workflow effect, registered in one place.

Domains register their ``on_event`` hooks (SLA deadlines, report rollups, the webhook outbox,
live queues) and their workflow effects when their modules are imported. Every process that
writes ticket events — the API, the worker, the demo seeder — calls ``register_event_hooks``
so that deadlines, rollups, outbox rows and notifications are kept the same way everywhere.
"""

from __future__ import annotations

import importlib

HOOK_MODULES = (
    "app.sla.hooks",  # stored deadlines
    "app.sla.effects",  # escalate, extensions, suspensions, whistle, report-in
    "app.reports.hooks",  # report rollups
    "app.webhooks",  # the transactional outbox
    "app.notifications.hooks",  # inbox entries and the notification outbox
    "app.live",  # live-queue notifications
)


def register_event_hooks() -> None:
    for module in HOOK_MODULES:
        importlib.import_module(module)
