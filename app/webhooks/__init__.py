"""Webhooks (事件推送) to departments' own systems.

The outbox is written in the transaction of every ticket event by the after-event
pipeline's ``outbox`` step (``app.webhooks.outbox``, wired in ``app.workflow.pipeline``).
"""
