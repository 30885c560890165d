"""The web app as served: redirects, history-mode routes, cache headers, gzip, the CSP and the
optional tile server, and nothing outside the built folder."""

from __future__ import annotations

import re

import httpx
import pytest

from app.main import create_app
from app.web.assets import STATIC_DIR


async def test_root_redirects_to_the_app(client):
    r = await client.get("/")
    assert r.status_code == 307 and r.headers["location"] == "/app/"
    r = await client.get("/app")
    assert r.status_code == 307 and r.headers["location"] == "/app/"


@pytest.mark.parametrize("path", ["/app/", "/app/post", "/app/tickets/12", "/app/dashboard"])
async def test_every_screen_path_serves_the_app_revalidated(client, path):
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    assert '<div id="app">' in r.text


async def test_the_csp_allows_no_inline_script_and_no_other_origin(client):
    csp = (await client.get("/app/")).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' blob: data:"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = (await client.get("/app/")).text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script in index.html"


async def test_hashed_assets_are_immutable_and_gzipped(client):
    html = (await client.get("/app/")).text
    [script] = re.findall(r'src="(/app/assets/index-[^"]+\.js)"', html)
    r = await client.get(script, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    raw = (STATIC_DIR / script.removeprefix("/app/")).read_bytes()
    assert r.content == raw  # httpx decoded the gzip body
    assert (await client.get(script, headers={"If-None-Match": r.headers["etag"]})).status_code == 304


async def test_unknown_assets_and_paths_outside_the_folder_are_404(client):
    assert (await client.get("/app/assets/nope-123.js")).status_code == 404
    r = await client.get("/app/assets/%2e%2e/%2e%2e/router.py")
    assert r.status_code == 404


async def test_no_tile_server_by_default(client):
    html = (await client.get("/app/")).text
    assert '<meta name="whistle-tile-url" content="">' in html


async def test_a_configured_tile_server_is_named_in_the_page_and_allowed_by_the_csp(settings):
    tiles = "https://t{s}.tiles.example.cn/vec_w/{z}/{x}/{y}.png?tk=a&b"
    app = create_app(settings.model_copy(update={"map_tile_url": tiles}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        r = await c.get("/app/", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert 'content="https://t{s}.tiles.example.cn/vec_w/{z}/{x}/{y}.png?tk=a&amp;b"' in r.text
    img = next(d for d in r.headers["content-security-policy"].split(";") if "img-src" in d)
    assert img.strip() == "img-src 'self' blob: data: https://*.tiles.example.cn"
