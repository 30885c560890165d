"""gzip for big responses, only when the client asks for it (``Accept-Encoding: gzip``).

A phone on a slow network pays for every byte: the matrix alone is ~90 KB of JSON and
~10 KB gzipped. Starlette's ``GZipMiddleware`` does the compressing; this wrapper decides
*whether* to involve it, so that what does not need it pays nothing:

- a request without ``gzip`` in its ``Accept-Encoding`` (``wrk``, most integrations, the
  health checks) goes straight to the app — not even the middleware's response wrapper;
- a body under ``MINIMUM_SIZE`` (about one TCP segment: a ticket, a claim, a queue page
  row) is sent as it is: compressing it saves no round trip and costs CPU;
- Server-Sent Events (``text/event-stream``: the live queues, the notifications stream)
  are never compressed, so no event waits in a compressor's buffer; nor is what is
  compressed already (photos, the xlsx exports, the web app's pre-gzipped assets, which
  carry their own ``Content-Encoding``).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

MINIMUM_SIZE = 1400  # bytes: what fits in one TCP segment is not worth compressing
LEVEL = 6  # zlib's default: within a few % of level 9's size for JSON, at a fraction of the CPU
EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/pdf")


def _asks_for_gzip(scope: dict[str, Any]) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return b"gzip" in value.lower()
    return False


class CompressLarge:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=LEVEL,
                                   exclude_content_types=EXCLUDED)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _asks_for_gzip(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
