"""OpenAPI links: where the identifiers an operation takes come from.

A ticket's actions take the id that posting (or the ticket list) answered, a department's
queue the code the department list answered, and so on. Clients and code generators read
the links; the schema fuzzer's stateful phase follows them, posting a ticket and then acting
on it, instead of guessing ids that do not exist."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

# path parameter -> the operations (operationId, success status) that answer it, and where
# in their body it is.
SOURCES: dict[str, list[tuple[str, str, str]]] = {
    "ticket_id": [("post_ticket", "201", "/id"), ("list_tickets", "200", "/items/0/id")],
    "attachment_id": [("upload_attachment", "201", "/id")],
    "whistle_id": [("list_whistles", "200", "/items/0/id")],
    "code": [("list_departments", "200", "/0/code")],
    "webhook_id": [("create_webhook", "201", "/id"), ("list_webhooks", "200", "/0/id")],
    "user_id": [("admin_create_user", "201", "/id"), ("admin_list_users", "200", "/items/0/id")],
    "channel_id": [("create_notification_channel", "201", "/id")],
}
_PARAMETER = re.compile(r"{(\w+)}")


def add_links(schema: dict[str, Any]) -> None:
    """Give each source operation's success response a link to every /api operation taking
    the parameter it supplies (named after the target's operationId)."""
    operations = {op["operationId"]: op for ops in schema.get("paths", {}).values()
                  for op in ops.values() if isinstance(op, dict) and "operationId" in op}
    for path, ops in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        names = _PARAMETER.findall(path)
        for target in ops.values():
            for name in names:
                for source_id, status, pointer in SOURCES.get(name, ()):
                    source = operations.get(source_id)
                    if source is None or status not in source.get("responses", {}):
                        continue
                    links = source["responses"][status].setdefault("links", {})
                    links[target["operationId"]] = {
                        "operationId": target["operationId"],
                        "parameters": {name: f"$response.body#{pointer}"},
                    }


def document_links(app: FastAPI) -> None:
    """Wrap ``app.openapi`` (after ``document_problems``) so the document carries the links."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        add_links(schema)  # idempotent: the document is cached and asked for again
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
