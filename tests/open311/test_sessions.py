"""Open311's endpoints take the request's unit of work like the rest of the API
(``app.deps.get_session``: one transaction, committed at the edge). That an error leaves
nothing behind and is answered in the spec's format: test_post.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import get_session
from tests.open311.test_post import post, spec_body

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def sessions_taken(open311_app) -> AsyncIterator[list[str]]:
    """The paths whose request took the session dependency, in order."""
    taken: list[str] = []

    async def counted(request: Request) -> AsyncIterator[AsyncSession]:
        taken.append(request.url.path)
        async for session in get_session(request):
            yield session

    open311_app.dependency_overrides[get_session] = counted
    try:
        yield taken
    finally:
        del open311_app.dependency_overrides[get_session]


async def test_reads_and_writes_take_the_request_session(o311, api_key, sessions_taken):
    assert (await o311.get("services.json")).status_code == 200
    assert (await o311.get("requests.xml")).status_code == 200
    assert (await post(o311, spec_body(api_key))).status_code == 200
    assert sessions_taken == ["/open311/v2/services.json", "/open311/v2/requests.xml",
                              "/open311/v2/requests.json"]

