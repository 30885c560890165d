"""网格员 on a phone: post with a photo and the GPS position; a post whose response is lost
is retried with its Idempotency-Key and makes exactly one ticket; verification closes."""

from __future__ import annotations

import time

from shapely.geometry import shape

from tests.browser.conftest import PHONE


def _inside(api, grid: str) -> dict:
    node = api.ok("gw01", "GET", f"/jurisdictions/{grid}?include_geometry=true")
    point = shape(node["geometry"]).representative_point()
    return {"latitude": point.y, "longitude": point.x}


def _post(page, photo_file, description: str) -> None:
    page.fill("#item-search", "私搭乱建")
    page.check("input[name=item][value='0201']")
    page.fill("#description", description)
    page.set_input_files("#photos", str(photo_file))
    page.click("text=获取 GPS 定位")
    page.wait_for_selector("text=位于 海韵社区第一网格")
    page.click("button:has-text('提交上报')")


def test_grid_worker_posts_with_photo_and_location_and_sees_it_routed(open_session, api, photo_file):
    s = open_session(PHONE, geolocation=_inside(api, "BH01-01"), permissions=["geolocation"],
                     is_mobile=True, has_touch=True)
    page = s.login("gw01", "/post")
    s.shot("worker-post-phone")
    description = f"长春路违法搭建 {time.time_ns()}"
    _post(page, photo_file, description)
    page.wait_for_selector("[role=status]:has-text('已上报')")

    [ticket] = [t for t in api.ok("gw01", "GET", "/tickets?limit=50")["items"]
                if t["description"] == description]
    assert ticket["grid"] == "BH01-01" and ticket["department"] == "CGZF"
    assert len(ticket["attachments"]) == 1 and ticket["location"] is not None

    page.click("nav >> text=我的工单")
    row = page.locator(f"[data-ticket='{ticket['id']}']")
    row.wait_for()
    assert "城管执法中队" in row.locator(".dept").inner_text()
    assert "待签收" in row.inner_text()
    row.locator("img.thumb").wait_for()  # the photo's thumbnail, fetched with the token
    s.shot("worker-tickets-phone")


def test_what_the_worker_writes_suggests_the_item_and_one_tap_picks_it(open_session):
    s = open_session(PHONE, is_mobile=True, has_touch=True)
    page = s.login("gw01", "/post")
    page.fill("#description", "小区门口井盖没了，晚上很危险")
    chip = page.locator(".suggest button", has_text="井盖缺失")
    chip.wait_for()
    assert "街道" in chip.inner_text()  # the level it would route to
    chip.click()
    assert page.is_checked("input[name=item][value='0219']")
    assert "已选：井盖缺失" in page.inner_text("form")
    s.shot("worker-post-suggested")


def test_a_post_whose_response_is_lost_is_retried_and_makes_one_ticket(open_session, api, photo_file):
    s = open_session(PHONE, geolocation=_inside(api, "BH01-01"), permissions=["geolocation"])
    page = s.login("gw01", "/post")
    attempts: list[str | None] = []

    def cut_after_sending(route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        attempts.append(route.request.headers.get("idempotency-key"))
        if len(attempts) == 1:
            route.fetch()  # the server receives the post and makes the ticket...
            route.abort("connectionreset")  # ...and the phone never hears back
        else:
            route.continue_()

    page.route("**/api/v1/tickets", cut_after_sending)
    description = f"断网重试 {time.time_ns()}"
    _post(page, photo_file, description)
    page.wait_for_selector("text=待发送 1 件")
    s.shot("worker-outbox-phone")
    page.wait_for_selector("[role=status]:has-text('已上报')", timeout=15000)
    assert page.locator("text=待发送").count() == 0

    assert len(attempts) >= 2 and len(set(attempts)) == 1 and attempts[0]
    made = [t for t in api.ok("gw01", "GET", "/tickets?limit=100")["items"]
            if t["description"] == description]
    assert len(made) == 1


def test_grid_worker_verifies_and_the_timeline_matches_the_api(open_session, api):
    ticket = api.resolved_ticket()
    s = open_session(PHONE)
    page = s.login("gw01", "/post")
    page.goto(f"{s.base}/app/tickets/{ticket['id']}")
    page.click("[data-action=verify_pass]")
    page.click("button:has-text('确认核查通过')")
    page.wait_for_selector("[role=status]:has-text('核查通过：已完成')")
    assert page.locator(".badge.status").inner_text() == "已结案"
    assert api.ok("gw01", "GET", f"/tickets/{ticket['id']}")["status"] == "closed"

    events = api.ok("gw01", "GET", f"/tickets/{ticket['id']}/events")
    shown = page.locator(".timeline li")
    shown.last.wait_for()
    assert [shown.nth(i).get_attribute("data-event") for i in range(shown.count())] == \
        [str(e["id"]) for e in events]
    assert [shown.nth(i).get_attribute("data-kind") for i in range(shown.count())] == \
        [e["kind"] for e in events]
    s.shot("worker-ticket-closed-phone")
