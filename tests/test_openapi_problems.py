"""The OpenAPI document says what the service answers: one problem+json schema for every
error, 400 for unreadable bodies, 503 for outages, If-Match required where 428 answers."""

from __future__ import annotations

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _operations(app):
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                yield f"{method.upper()} {path}", operation


def test_every_error_of_every_operation_is_the_one_problem_schema(app):
    wrong = [(name, status) for name, op in _operations(app)
             for status, response in op["responses"].items()
             if status[0] in "45" and response.get("content") != PROBLEM]
    assert wrong == []


def test_outages_and_unreadable_bodies_are_documented(app):
    for name, op in _operations(app):
        assert "503" in op["responses"], name
        assert "Retry-After" in op["responses"]["503"]["headers"], name
        if "requestBody" in op:
            assert "400" in op["responses"], name


def test_if_match_is_required_where_its_absence_is_428(app):
    patch = app.openapi()["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]
    assert "428" in patch["responses"]
    if_match = next(p for p in patch["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
