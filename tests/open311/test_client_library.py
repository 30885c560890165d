"""Whistle's Open311 API driven by an independent client over real HTTP.

``georeport`` (PyPI, 0.3.x, Python 3.9–3.13) is the maintained Python GeoReport v2 client;
it reads (services, definitions, requests) but cannot POST, so the POST goes through
``requests`` — the library it is built on — with the spec's example body. The older
``open311`` (1.1) and ``three`` (0.8) packages are Python 2 only and do not import.

The app is served by uvicorn on a loopback port inside the test's event loop; the
blocking client runs in a worker thread so that the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

from tests.open311.test_post import FORM, spec_body

georeport = pytest.importorskip("georeport", reason="pip install georeport (a dev dependency)")
requests = pytest.importorskip("requests")

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
async def served(open311_app) -> AsyncIterator[str]:
    """The base URL of the Open311 endpoint served over HTTP on 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # lifespan off: the app is shared with other tests and must keep its engine.
    server = uvicorn.Server(uvicorn.Config(open311_app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):  # uvicorn has no "started" event to await; poll for up to 5 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/open311/v2"
    server.should_exit = True
    await task
    sock.close()


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_the_georeport_client_reads_what_requests_filed(served, api_key, matrix_items,
                                                              fmt):
    body = spec_body(api_key)
    posted = await asyncio.to_thread(
        requests.post, f"{served}/requests.{fmt}", data=body.encode(), headers=FORM, timeout=10)
    assert posted.status_code == 200, posted.text
    client = georeport.GeoReport(served, jurisdiction="BH", output_format=fmt)

    services = await asyncio.to_thread(client.get_service_list)
    assert {s["service_code"] for s in services} == set(matrix_items) | {"待分拨"}
    definition = await asyncio.to_thread(client.get_service_definition, "0202")
    assert definition["service_code"] == "0202"

    listed = await asyncio.to_thread(client.get_service_requests, service_code="0202",
                                     status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one → a dict
    numbers = [r["service_request_id"] for r in listed]
    if fmt == "json":
        number = posted.json()[0]["service_request_id"]
    else:
        number = posted.text.split("<service_request_id>")[1].split("<")[0]
    assert number in numbers
    one = await asyncio.to_thread(client.get_service_request, number)
    assert one["service_request_id"] == number and one["status"] == "open"
    assert one["address_id"] == "BH01-01" and one["service_code"] == "0202"


async def test_the_client_sees_open311_errors(served):
    client = georeport.GeoReport(served, jurisdiction="sfgov.org")
    with pytest.raises(requests.HTTPError) as caught:
        await asyncio.to_thread(client.get_service_list)
    assert caught.value.response.status_code == 404
    assert caught.value.response.json() == [
        {"code": 404, "description": "jurisdiction_id 'sfgov.org' was not found"}]
