"""HTTP for the web app: `/` → `/app/`, the built files under `/app/`, history-mode routes.

Hashed assets (``/app/assets/<name>-<hash>.js``) are cached for a year; ``index.html`` is
revalidated every time, so a deployment is picked up at the next load. Every response carries
a Content-Security-Policy that allows no inline script and no other origin, except the map
tile server when one is configured.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.web.assets import STATIC_DIR, Asset, load_asset, render_index

router = APIRouter(include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def content_security_policy(tile_url: str | None) -> str:
    images = "'self' blob: data:"
    if tile_url:
        images += " " + tile_origin(tile_url)
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def tile_origin(tile_url: str) -> str:
    """`https://t{s}.tianditu.gov.cn/...` → `https://*.tianditu.gov.cn` (Leaflet's {s} subdomains)."""
    scheme, _, rest = tile_url.partition("://")
    host = rest.split("/", 1)[0]
    if "{s}" in host:
        host = "*." + host.split(".", 1)[1]
    return f"{scheme}://{host}"


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {
        "Cache-Control": cache_control,
        "Content-Security-Policy": content_security_policy(request.app.state.settings.map_tile_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app")
async def app_without_slash() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/{path:path}")
async def web_app(path: str, request: Request) -> Response:
    if path.startswith("assets/"):  # content-hashed names: a changed file is a new name
        asset = load_asset(STATIC_DIR, path)
        if asset is None:
            return Response(status_code=404, headers={"Cache-Control": REVALIDATE})
        return _respond(request, asset, IMMUTABLE)
    if path and path != "index.html" and (asset := load_asset(STATIC_DIR, path)) is not None:
        return _respond(request, asset, REVALIDATE)  # favicon.svg and the like
    # Every other path is a screen of the app (history-mode routing): the same index.html.
    return _respond(request, render_index(STATIC_DIR, request.app.state.settings.map_tile_url),
                    REVALIDATE)
