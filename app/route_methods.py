"""Which methods the app answers at a path: a 405's ``Allow`` header (Starlette names only
the methods of the first route whose pattern matches)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import compile_path


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` answers at ``path``: a 405's ``Allow`` (Starlette
    names only the methods of the first route whose pattern matches)."""
    patterns = getattr(app.state, "route_patterns", None)
    if patterns is None:
        patterns = app.state.route_patterns = list(_patterns(app.router.routes, ""))
    return sorted({m for regex, methods in patterns if regex.match(path) for m in methods})


def _patterns(routes: list[Any], prefix: str) -> Iterator[tuple[re.Pattern[str], set[str]]]:
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:
            yield from _patterns(route.original_router.routes, prefix + context.prefix)
        elif getattr(route, "methods", None):
            regex, _, _ = compile_path(prefix + route.path)
            yield regex, set(route.methods) | ({"HEAD"} if "GET" in route.methods else set())
