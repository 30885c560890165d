"""Open311 bodies in JSON and XML, and the spec's error list.

GeoReport v2 defines XML and maps it to JSON by the "Spark convention": a JSON list is an
XML element whose children are its items, each named by the singular of the list's name
(``services`` → ``<service>``, ``attributes`` → ``<attribute>``), and a JSON object is an
element with one child per key. ``render`` builds both from the same Python data, so the
two formats cannot drift apart.

Errors are always ``[{"code": ..., "description": ...}]`` /
``<errors><error><code/><description/></error></errors>``, never problem+json: Open311
clients only understand their own format.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import Response

from app.clock import SHANGHAI

FORMATS = ("json", "xml")
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

# The element name of one item of each list the spec defines.
SINGULAR = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}


class Open311Error(Exception):
    """An error answered in the spec's format: ``status`` is the HTTP status, each
    ``(code, description)`` pair one entry of the error list."""

    def __init__(self, status: int, description: str,
                 *more: tuple[int, str], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.errors: list[tuple[int, str]] = [(status, description), *more]
        self.headers = dict(headers or {})


def format_of(value: str | None) -> str | None:
    """The format named by a path suffix, or None when it is not one we serve."""
    return value if value in FORMATS else None


def w3c(value: datetime | None) -> str | None:
    """A timestamp in the W3C profile of ISO 8601, in the streets' local time (UTC+8),
    e.g. ``2026-11-23T10:00:00+08:00``, as the spec's examples give local offsets."""
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    _fill(element, tag, value)


def _fill(element: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _append(element, key, child)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        child_tag = SINGULAR.get(tag, "item")
        for child in value:
            _append(element, child_tag, child)
    else:
        element.text = _text(value)


def to_xml(root: str, payload: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, payload)
    return XML_DECLARATION + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def to_json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def render(fmt: str, root: str, payload: Any, *, status: int = 200,
           headers: Mapping[str, str] | None = None) -> Response:
    """``payload`` as a response in ``fmt``; ``root`` names the XML document element."""
    body = to_json(payload) if fmt == "json" else to_xml(root, payload)
    return Response(body, status_code=status, media_type=MEDIA_TYPES[fmt],
                    headers=dict(headers or {}))


def error_response(fmt: str, error: Open311Error) -> Response:
    payload = [{"code": code, "description": description} for code, description in error.errors]
    return render(fmt, "errors", payload, status=error.status, headers=error.headers)
