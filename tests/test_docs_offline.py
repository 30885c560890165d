"""The API docs work with no Internet: /docs and /redoc, and every asset they link, come
from the app itself, and nothing in the pages or their styles points outside it."""

from __future__ import annotations

import re

import pytest

# Attributes that make a browser fetch something, and the URLs the pages' scripts are
# told to load (Swagger UI's ``url``, ``oauth2RedirectUrl``; ReDoc's ``spec-url``).
LINKED = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']"""
                    r"""|(?:url|oauth2RedirectUrl)\s*['"]?\s*:\s*['"]([^'"]+)['"]""")
EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+", re.IGNORECASE)


def linked_urls(html: str) -> set[str]:
    return {a or b for a, b in LINKED.findall(html)}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_page_and_all_it_links_come_from_the_app(client, page):
    r = await client.get(page)
    assert r.status_code == 200
    html = r.text
    assert not EXTERNAL.findall(html), f"{page} names an outside address"

    urls = linked_urls(html)
    assert any(u.endswith(".js") for u in urls), urls  # the page does load its script
    for url in urls:
        assert url.startswith("/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        if url.endswith(".css"):
            # A stylesheet may not import fonts or images from outside either.
            assert not re.findall(r"url\(\s*['\"]?(?:https?:)?//", asset.text), url


async def test_swagger_ui_fetches_no_validator_badge(client):
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html


async def test_the_oauth2_redirect_page_is_served(client):
    r = await client.get("/docs/oauth2-redirect")
    assert r.status_code == 200 and "oauth2" in r.text.lower()
