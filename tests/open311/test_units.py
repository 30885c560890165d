"""The pure parts of Open311: the two formats, the dedupe key, finding the grid, the
request filters. No database."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from app.jurisdiction.geo import JurisdictionTree, NodeRef
from app.jurisdiction.models import Level
from app.open311 import dedupe
from app.open311.formats import Open311Error, error_response, render, to_xml, w3c
from app.open311.location import Place, resolve_place
from app.open311.reads import parse_query, parse_w3c

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

# --- formats -------------------------------------------------------------------------------


def test_lists_become_repeated_singular_elements():
    root = ET.fromstring(to_xml("services", [{"service_code": "0202", "metadata": True},
                                             {"service_code": "0203", "metadata": False}]))
    assert root.tag == "services"
    assert [s.tag for s in root] == ["service", "service"]
    assert [s.findtext("metadata") for s in root] == ["true", "false"]


def test_nested_lists_and_nulls_follow_the_spark_convention():
    body = to_xml("service_definition", {"service_code": "0202", "attributes": [
        {"code": "urgent", "datatype_description": None,
         "values": [{"key": "normal", "name": "一般"}]}]})
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(body)
    attribute = root.find("attributes/attribute")
    assert attribute is not None and attribute.findtext("code") == "urgent"
    assert attribute.find("datatype_description").text is None  # empty element for null
    assert attribute.find("values/value").findtext("name") == "一般"  # UTF-8 kept


def test_both_formats_carry_the_same_data():
    payload = [{"service_request_id": "20261123-0000001", "lat": 38.919, "account_id": None}]
    as_json = render("json", "service_requests", payload)
    as_xml = render("xml", "service_requests", payload)
    assert json.loads(as_json.body) == payload
    assert as_json.media_type == "application/json; charset=utf-8"
    assert as_xml.media_type == "text/xml; charset=utf-8"
    request = ET.fromstring(as_xml.body).find("request")
    assert request.findtext("service_request_id") == "20261123-0000001"
    assert request.findtext("lat") == "38.919"


def test_errors_are_a_list_of_code_and_description():
    error = Open311Error(400, "service_code was not provided", (400, "lat: not a number"))
    as_json = error_response("json", error)
    assert as_json.status_code == 400
    assert json.loads(as_json.body) == [
        {"code": 400, "description": "service_code was not provided"},
        {"code": 400, "description": "lat: not a number"}]
    root = ET.fromstring(error_response("xml", error).body)
    assert root.tag == "errors" and [e.findtext("code") for e in root] == ["400", "400"]


def test_timestamps_are_w3c_in_local_time():
    assert w3c(NOW) == "2026-11-23T10:00:00+08:00"
    assert w3c(None) is None


# --- dedupe ----------------------------------------------------------------------------------


def test_the_same_content_re_encoded_gives_the_same_key():
    a = {"service_code": "0202", "description": "垃圾  堆积\n", "lat": 38.9190000001,
         "email": None, "phone": ""}
    b = {"service_code": "0202", "description": "垃圾 堆积", "lat": 38.919}
    assert (dedupe.dedupe_key(api_key_id=1, content=a, bucket=7)
            == dedupe.dedupe_key(api_key_id=1, content=b, bucket=7))


@pytest.mark.parametrize("change", [{"api_key_id": 2}, {"bucket": 8},
                                    {"content": {"service_code": "0203"}}])
def test_another_key_bucket_or_content_gives_another_key(change):
    base = {"api_key_id": 1, "content": {"service_code": "0202"}, "bucket": 7}
    assert dedupe.dedupe_key(**base) != dedupe.dedupe_key(**{**base, **change})


def test_keys_for_names_this_bucket_and_the_previous_one():
    content = {"service_code": "0202"}
    before_edge = dedupe.keys_for(api_key_id=1, content=content, at=NOW - timedelta(seconds=1))
    after_edge = dedupe.keys_for(api_key_id=1, content=content, at=NOW + timedelta(seconds=1))
    assert after_edge[1] == before_edge[0]  # a retry across the edge finds the first POST
    assert len(after_edge[0]) <= 200 and after_edge[0].startswith("open311:")


# --- finding the grid ---------------------------------------------------------------------

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
EAST = {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}


def tree() -> JurisdictionTree:
    nodes = [
        NodeRef(1, "S1", "滨海街道", Level.street, None, 1, None),
        NodeRef(2, "S1C1", "海韵社区", Level.community, 1, 1, 2),
        NodeRef(3, "S1C1-01", "海韵社区第一网格", Level.grid, 2, 1, 2),
        NodeRef(4, "S1C1-02", "海韵社区第二网格", Level.grid, 2, 1, 2),
        NodeRef(5, "S2", "星海街道", Level.street, None, 5, None),
        NodeRef(6, "S2C1", "星海社区", Level.community, 5, 5, 6),
        NodeRef(7, "S2C1-01", "星海社区第一网格", Level.grid, 6, 5, 6),
    ]
    return JurisdictionTree(nodes, {3: SQUARE, 7: EAST})


def place(**kw):
    args = {"lat": None, "lon": None, "address_id": None, "address_string": None,
            "street_id": None, "handling_level": "street"} | kw
    return resolve_place(tree(), **args)


def test_coordinates_pick_the_grid_containing_them():
    assert place(lat=0.5, lon=0.5) == Place("S1C1-01", 0.5, 0.5)


def test_an_address_id_is_a_grid_code():
    assert place(address_id="s1c1-02").grid_code == "S1C1-02"


def test_coordinates_outside_every_grid_fall_back_to_the_address_id():
    found = place(lat=5.0, lon=5.0, address_id="S1C1-02")
    assert found == Place("S1C1-02", 5.0, 5.0)  # the resident's coordinates are kept


def test_an_address_string_naming_a_grid_picks_it():
    assert place(address_string="海韵社区第二网格 3号楼门口").grid_code == "S1C1-02"
    assert place(address_string="near S1C1-01, 5th street").grid_code == "S1C1-01"


def test_a_community_alone_is_enough_for_community_and_street_items():
    assert place(address_string="海韵社区菜市场", handling_level="community").grid_code == "S1C1-01"


def test_a_community_alone_is_refused_for_grid_items():
    with pytest.raises(Open311Error) as caught:
        place(address_string="海韵社区菜市场", handling_level="grid")
    assert caught.value.status == 400 and "S1C1-01, S1C1-02" in str(caught.value)


def test_jurisdiction_limits_every_way_of_saying_where():
    with pytest.raises(Open311Error, match="not inside any grid of the jurisdiction"):
        place(lat=0.5, lon=1.5, street_id=1)
    with pytest.raises(Open311Error, match="not a grid code of the jurisdiction"):
        place(address_id="S2C1-01", street_id=1)
    assert place(address_string="星海社区第一网格", street_id=5).grid_code == "S2C1-01"


@pytest.mark.parametrize(("kw", "message"), [
    ({}, "a location is required"),
    ({"lat": 0.5}, "lat and long must be sent together"),
    ({"address_string": "1234 5th street"}, "names no grid or community"),
    ({"address_string": "S1C1-01 or S1C1-02"}, "several grids"),
    ({"lat": 9.0, "lon": 9.0}, "not inside any grid"),
])
def test_unresolvable_locations_are_400_saying_why(kw, message):
    with pytest.raises(Open311Error, match=message) as caught:
        place(**kw)
    assert caught.value.status == 400


# --- request filters ------------------------------------------------------------------------


def query(**kw):
    args = {"service_request_id": None, "service_code": None, "start_date": None,
            "end_date": None, "status": None, "street_id": None, "now": NOW} | kw
    return parse_query(**args)


def test_the_default_window_is_the_last_90_days():
    q = query()
    assert (q.start, q.end) == (NOW - timedelta(days=90), NOW)


def test_one_bound_gives_a_90_day_window_from_it():
    q = query(start_date="2026-10-01T00:00:00Z")
    assert q.end - q.start == timedelta(days=90)
    q = query(end_date="2026-10-01T00:00:00+08:00")
    assert q.end == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)


def test_status_and_codes_are_comma_lists():
    q = query(status="open,closed", service_code="0202, 0203")
    assert "dispatched" in q.statuses and "closed" in q.statuses and "cancelled" in q.statuses
    assert q.service_codes == ("0202", "0203")


def test_ids_override_and_unparseable_ones_match_nothing():
    q = query(service_request_id="20261123-0000042,junk", status="closed")
    assert q.ids == (42,)


@pytest.mark.parametrize(("kw", "message"), [
    ({"start_date": "yesterday"}, "W3C"),
    ({"start_date": "2026-11-01T00:00:00"}, "time zone"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "before"),
    ({"status": "pending"}, "open or closed"),
])
def test_bad_filters_are_400(kw, message):
    with pytest.raises(Open311Error, match=message) as caught:
        query(**kw)
    assert caught.value.status == 400


def test_a_bare_date_is_local_midnight():
    assert parse_w3c("start_date", "2026-11-23") == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_a_catalogue_message_becomes_an_english_open311_error():
    from app.errors import InvalidInput
    from app.messages import M
    from app.open311.router import _as_open311

    exc = InvalidInput.at(["body", "item"], M("error.no_item", code="9999"))
    error = _as_open311(exc)
    assert error is not None and error.errors == [(400, "no item '9999' in the current matrix")]
    body = json.loads(error_response("json", error).body)
    assert body == [{"code": 400, "description": "no item '9999' in the current matrix"}]
