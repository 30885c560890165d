"""What FastAPI solves on every request: no dependency of an API operation is handed to the
thread pool, and the hot operations solve few dependencies.

FastAPI runs a plain ``def`` dependency in its thread pool (a hand-off and a wake-up per
request: a tenth of a hot read's CPU), and solves every dependency of every request anew
(a recursive call, four parameter passes, a cache key), so both are counted here."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.routing import APIRoute

from app.auth.deps import AUTHENTICATING
from app.request_guard import _needs_actor

# Plain ``def`` dependencies allowed, each off the hot paths: the login form (a class) and
# Open311's format suffix.
ALLOWED_SYNC = {"OAuth2PasswordRequestForm", "_format"}
# Dependencies solved per request by the hot operations (each one counted, the session
# once per place it is named).
HOT = {"get_ticket": 6, "list_tickets": 13, "department_queue": 6, "post_ticket": 9,
       "claim_next": 7}


def _routes(routes) -> list[APIRoute]:
    out = []
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            out += _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            out.append(route)
    return out


def _dependencies(dependant) -> list[Any]:
    out = []
    for sub in dependant.dependencies:
        out.append(sub.call)
        out += _dependencies(sub)
    return out


def _is_async(call: Any) -> bool:
    return (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
            or inspect.iscoroutinefunction(type(call).__call__))  # a scheme instance


def test_no_dependency_is_handed_to_the_thread_pool(app):
    sync = {getattr(call, "__qualname__", repr(call))
            for route in _routes(app.router.routes)
            for call in _dependencies(route.dependant) if not _is_async(call)}
    assert sync <= ALLOWED_SYNC, sync - ALLOWED_SYNC


def test_the_hot_operations_solve_few_dependencies(app):
    counted = {route.operation_id: len(_dependencies(route.dependant))
               for route in _routes(app.router.routes) if route.operation_id in HOT}
    assert counted == HOT


def test_every_operation_with_an_actor_is_seen_by_the_guard(app):
    """The actor dependencies are marked (``AUTHENTICATING``), so the guard answers 401
    before the body of a request without credentials to any operation taking one."""
    routes = _routes(app.router.routes)
    with_actor = [r for r in routes if "actor" in inspect.signature(r.endpoint).parameters]
    assert with_actor
    assert all(_needs_actor(r) for r in with_actor
               if r.operation_id not in {"stream_department_queue",
                                         "stream_notifications"}), [
        r.operation_id for r in with_actor if not _needs_actor(r)]
    assert AUTHENTICATING
