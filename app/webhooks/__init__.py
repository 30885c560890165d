"""Webhooks (事件推送) to departments' own systems.

Importing the package registers the outbox writer on the ticket timeline, so any process
that records ticket events (API, worker, CLI) writes the outbox in the same transaction.
"""

from app.webhooks import outbox as _outbox  # noqa: F401  (registers the on_event hook)
