"""Discovery, GET services and GET services/{code}, in both formats, and the errors every
Open311 route answers in the spec's format (never problem+json)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.matrix.categories import CATEGORY_BY_CODE

pytestmark = pytest.mark.usefixtures("reference")


def xml(r) -> ET.Element:
    assert r.headers["content-type"] == "text/xml; charset=utf-8", r.text
    assert r.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(r.content)


def errors_of(r) -> list[tuple[str, str]]:
    """The spec's error list, whichever format: [(code, description)]."""
    if r.headers["content-type"].startswith("text/xml"):
        return [(e.findtext("code"), e.findtext("description")) for e in xml(r)]
    assert r.headers["content-type"] == "application/json; charset=utf-8", r.text
    return [(str(e["code"]), e["description"]) for e in r.json()]


async def test_discovery_json(o311):
    r = await o311.get("discovery.json")
    assert r.status_code == 200
    d = r.json()
    assert set(d) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = d["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://test/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert d["changeset"] == endpoint["changeset"] and d["changeset"].endswith("+08:00")


async def test_discovery_xml(o311):
    root = xml(await o311.get("discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    assert root.findtext("key_service")


async def test_services_json_lists_every_current_item(o311, matrix_items):
    r = await o311.get("services.json", params={"jurisdiction_id": "BH"})
    assert r.status_code == 200
    services = {s["service_code"]: s for s in r.json()}
    assert set(services) == set(matrix_items) | {"待分拨"}  # and the catch-all (智能分拨)
    item = matrix_items["0202"]
    assert services["0202"] == {
        "service_code": "0202", "service_name": item.name,
        "description": item.description or item.name, "metadata": True, "type": "realtime",
        "keywords": ", ".join(item.keywords),
        "group": CATEGORY_BY_CODE[item.category_code].name,
    }


async def test_services_xml(o311, matrix_items):
    root = xml(await o311.get("services.xml"))
    assert root.tag == "services"
    assert len(root.findall("service")) == len(matrix_items) + 1  # and the catch-all 待分拨
    first = root.find("service")
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata",
                                      "type", "keywords", "group"]
    assert first.findtext("metadata") == "true" and first.findtext("type") == "realtime"


async def test_service_definition_json(o311, matrix_items):
    r = await o311.get("services/0202.json")
    assert r.status_code == 200
    d = r.json()
    assert d["service_code"] == "0202"
    (attribute,) = d["attributes"]
    assert attribute | {"datatype_description": None, "description": None} == {
        "variable": True, "code": "urgent", "datatype": "singlevaluelist", "required": False,
        "datatype_description": None, "order": 1, "description": None,
        "values": [{"key": "normal", "name": "normal (一般)"},
                   {"key": "urgent", "name": "urgent (紧急)"}],
    }


async def test_service_definition_xml(o311):
    root = xml(await o311.get("services/0202.xml", params={"jurisdiction_id": "BH"}))
    assert root.tag == "service_definition" and root.findtext("service_code") == "0202"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "urgent"
    assert [v.findtext("key") for v in attribute.find("values")] == ["normal", "urgent"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_unknown_service_code_is_404(o311, fmt):
    r = await o311.get(f"services/9999.{fmt}")
    assert r.status_code == 404
    assert errors_of(r) == [("404", "service_code '9999' was not found")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ["services", "services/0202", "requests"])
@pytest.mark.parametrize("jurisdiction", ["sfgov.org", "BH01"])  # unknown; not a street
async def test_unknown_jurisdiction_is_404(o311, fmt, path, jurisdiction):
    r = await o311.get(f"{path}.{fmt}", params={"jurisdiction_id": jurisdiction})
    assert r.status_code == 404
    assert errors_of(r) == [("404", f"jurisdiction_id {jurisdiction!r} was not found")]


async def test_an_empty_jurisdiction_id_is_as_if_not_sent(o311):
    assert (await o311.get("services.json", params={"jurisdiction_id": ""})).status_code == 200


@pytest.mark.parametrize("path", ["services.html", "services/0202.csv", "discovery.yaml",
                                  "requests.txt", "tokens/1.rss"])
async def test_unknown_format_is_404(o311, path):
    r = await o311.get(path)
    assert r.status_code == 404
    assert "is not served" in errors_of(r)[0][1]


@pytest.mark.parametrize(("path", "code"), [("services", "404"), ("nothing.xml", "404")])
async def test_unknown_paths_are_404_in_open311_format(o311, path, code):
    r = await o311.get(path)
    assert r.status_code == 404 and errors_of(r)[0][0] == code


async def test_wrong_method_is_405_with_allow(o311):
    r = await o311.delete("services.xml")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert errors_of(r) == [("405", "DELETE is not allowed here; use GET")]
    r = await o311.put("requests.json")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


async def test_the_rest_of_the_api_keeps_problem_json(client):
    r = await client.get("/api/v1/tickets/1")
    assert r.headers["content-type"] == "application/problem+json"


async def test_open311_routes_are_documented_with_stable_operation_ids(open311_app):
    paths = open311_app.openapi()["paths"]
    ids = {op["operationId"] for p, ops in paths.items() if p.startswith("/open311/v2")
           for op in ops.values()}
    assert ids == {"open311_discovery", "open311_list_services", "open311_get_service",
                   "open311_post_request", "open311_list_requests", "open311_get_request",
                   "open311_get_token", "open311_list_updates", "open311_post_update"}
    post = paths["/open311/v2/requests.{format}"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert set(post["responses"]) >= {"200", "400", "403", "404"}


async def test_options_on_a_resource_is_405_in_open311_format(o311):
    r = await o311.options("services.json")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert errors_of(r)[0][0] == "405"
