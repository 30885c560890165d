"""The OpenAPI document links each identifier to the operations that answer it (clients
and the fuzzer's stateful phase follow them)."""

from __future__ import annotations

import json
import re

from app.cli.server import render_openapi

DOCUMENT = json.loads(render_openapi())
OPERATIONS = {op["operationId"]: (path, op) for path, ops in DOCUMENT["paths"].items()
              for op in ops.values()}


def _links():
    for source_id, (_, source) in OPERATIONS.items():
        for status, response in source["responses"].items():
            for name, link in response.get("links", {}).items():
                yield source_id, status, name, link


def test_a_posted_tickets_id_leads_to_its_actions():
    links = DOCUMENT["paths"]["/api/v1/tickets"]["post"]["responses"]["201"]["links"]
    assert links["ticket_claim"] == {"operationId": "ticket_claim",
                                     "parameters": {"ticket_id": "$response.body#/id"}}
    assert {"get_ticket", "ticket_resolve", "ticket_whistle", "list_ticket_events"} <= set(links)


def test_every_link_names_an_operation_and_a_parameter_of_its_path():
    seen = 0
    for _, status, name, link in _links():
        path, _ = OPERATIONS[link["operationId"]]
        assert name == link["operationId"] and status.startswith("2")
        for parameter in link["parameters"]:
            assert parameter in re.findall(r"{(\w+)}", path), (name, parameter)
        seen += 1
    assert seen > 50


def test_every_pointer_points_into_the_sources_response_schema():
    schemas = DOCUMENT["components"]["schemas"]
    for source_id, status, _, link in _links():
        _, source = OPERATIONS[source_id]
        schema = source["responses"][status]["content"]["application/json"]["schema"]
        for expression in link["parameters"].values():
            for step in expression.removeprefix("$response.body#/").split("/"):
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
                schema = schema["items"] if step.isdigit() else schema["properties"][step]
