"""The committed OpenAPI document is the one the app generates."""

from app.cli.server import OPENAPI_PATH, render_openapi


def test_openapi_document_is_current():
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == render_openapi(), "openapi/openapi.json drifted: run `whistle openapi`"


def test_openapi_declares_security_schemes():
    import json

    doc = json.loads(render_openapi())
    schemes = doc["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["type"] == "oauth2"
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
