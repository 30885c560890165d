"""The OpenAPI document declares both ways to authenticate, and the auth endpoints use them."""

from __future__ import annotations


def test_security_schemes_are_declared(app):
    doc = app.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["OAuth2Password"] == {
        "type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/token"}}}
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def test_protected_operations_accept_both_schemes(app):
    paths = app.openapi()["paths"]
    for path, method in [("/api/v1/auth/me", "get"), ("/api/v1/admin/users", "post"),
                         ("/api/v1/admin/api-keys/{key_id}", "delete")]:
        assert {"OAuth2Password": []} in paths[path][method]["security"]
        assert {"ApiKey": []} in paths[path][method]["security"]
    assert "security" not in paths["/api/v1/auth/token"]["post"]


def test_token_endpoint_takes_the_oauth2_form(app):
    op = app.openapi()["paths"]["/api/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in op["requestBody"]["content"]
    assert op["operationId"] == "auth_token"
    assert {"401", "429"} <= set(op["responses"])
