"""The built files, read once and kept in memory with their gzip form and ETag.

The bundle is a few hundred kilobytes, so holding it (and compressing each file once, not per
request) costs less than reading the disk on every load of a phone on a slow network.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json")
TILE_URL_MARK = "__WHISTLE_TILE_URL__"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _asset(name: str, body: bytes) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    gzipped = gzip.compress(body, 9, mtime=0) if name.endswith(COMPRESSIBLE) else None
    return Asset(body, gzipped, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


@lru_cache(maxsize=256)
def load_asset(root: Path, relative: str) -> Asset | None:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return _asset(path.name, path.read_bytes())


@lru_cache(maxsize=8)
def render_index(root: Path, tile_url: str | None) -> Asset:
    """index.html with the tile server setting written into its meta tag (empty: no tiles)."""
    text = (root / "index.html").read_text(encoding="utf-8")
    text = text.replace(TILE_URL_MARK, html.escape(tile_url or "", quote=True))
    return _asset("index.html", text.encode("utf-8"))
