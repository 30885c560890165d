"""An error class whose title is missing from the message catalogue still answers with its
own status and its own (English) title, in every language: a missing translation never
turns a 4xx or a 503 into a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.errors import DatabaseUnavailable, NotFound, WhistleError, install_error_handlers
from app.messages import CATALOGUE


class Teapot(WhistleError):
    status, title, slug = 418, "I'm a teapot", "teapot-not-in-the-catalogue"


class StillStarting(DatabaseUnavailable):
    title, slug = "Still starting", "still-starting-not-in-the-catalogue"


class Vanished(NotFound):
    slug = "vanished-not-in-the-catalogue"  # inherits the title "Not found"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("error", "status", "title"), [
    (Teapot, 418, "I'm a teapot"), (StillStarting, 503, "Still starting"),
    (Vanished, 404, "Not found")])
async def test_a_title_missing_from_the_catalogue_falls_back_to_the_class(
        error, status, title, lang):
    assert f"title.{error.slug}" not in CATALOGUE
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails():
        raise error()

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get("/fails", headers={"Accept-Language": lang})
    assert r.status_code == status, r.text
    assert r.json()["title"] == title and r.json()["detail"] == title
    assert error().title_in(lang) == title
