"""社区/街道调度: reroute a returned ticket; approve an extension request."""

from __future__ import annotations

import time

from tests.browser.conftest import DESKTOP


def test_dispatcher_reroutes_a_returned_ticket_and_approves_an_extension(open_session, api):
    returned = api.post_ticket(description=f"退单 {time.time_ns()}")
    api.ok("cgzf_staff", "POST", f"/tickets/{returned['id']}/claim")
    api.ok("cgzf_staff", "POST", f"/tickets/{returned['id']}/return", json={"reason": "属环卫职责"})
    extended = api.post_ticket(description=f"延期 {time.time_ns()}")
    api.ok("cgzf_staff", "POST", f"/tickets/{extended['id']}/claim")
    api.ok("cgzf_staff", "POST", f"/tickets/{extended['id']}/request-extension",
           json={"minutes": 120, "reason": "需等待业主配合"})
    due_before = api.ok("sd", "GET", f"/tickets/{extended['id']}")["resolve_due_at"]

    s = open_session(DESKTOP)
    page = s.login("sd", "/dispatch")
    request_row = page.locator(f"tr[data-ticket='{extended['id']}']")
    request_row.wait_for()
    assert "延期 120 分钟" in request_row.inner_text()
    s.page.locator(".map path.grid-shape").first.wait_for()
    s.shot("dispatch-desk-desktop")
    request_row.locator("button:has-text('批准')").click()
    page.wait_for_selector("[role=status]:has-text('已批准延期')")
    request_row.wait_for(state="detached", timeout=2000)
    kinds = [e["kind"] for e in api.ok("sd", "GET", f"/tickets/{extended['id']}/events")]
    assert kinds[-1] == "approve_extension"
    assert api.ok("sd", "GET", f"/tickets/{extended['id']}")["resolve_due_at"] > due_before

    page.click(f"li[data-ticket='{returned['id']}'] a")
    page.wait_for_url(f"**/app/tickets/{returned['id']}")
    page.click("[data-action=reroute]")
    page.select_option("#reroute-dept", "HW")
    page.fill("#action-text", "改派环卫所")
    page.click("button:has-text('确认改派')")
    page.wait_for_selector("[role=status]:has-text('改派：已完成')")
    assert page.locator("td.dept").inner_text() == "环卫所"
    s.shot("dispatch-reroute-desktop")
    after = api.ok("sd", "GET", f"/tickets/{returned['id']}")
    assert after["status"] == "dispatched" and after["department"] == "HW"


def test_the_dispatcher_merges_a_suspected_duplicate_from_the_servers_groups(open_session, api):
    from shapely.geometry import shape

    node = api.ok("sd", "GET", "/jurisdictions/BH01-02?include_geometry=true")
    point = shape(node["geometry"]).representative_point()
    posted = [api.ok("gw01", "POST", "/tickets", json={
        "item": "0201", "description": f"重复上报 {n} {time.time_ns()}",
        "attachments": [api.photo("gw01")],
        "location": {"lat": point.y + n * 0.0001, "lon": point.x, "coordinate_system": "wgs84"}})
        for n in range(2)]
    assert posted[1]["possible_duplicates"], posted[1]  # told at intake already

    s = open_session(DESKTOP)
    page = s.login("sd", "/dispatch")
    button = page.locator(f".dup:has-text('{posted[1]['number']}') button")
    button.wait_for()
    into = int(page.locator(f"[data-group]:has-text('{posted[1]['number']}')")
               .get_attribute("data-group"))
    s.shot("dispatcher-duplicates")
    button.click()
    page.wait_for_selector(f"[role=status]:has-text('{posted[1]['number']} 已合并到')")
    after = api.ok("sd", "GET", f"/tickets/{posted[1]['id']}")
    assert after["status"] == "cancelled" and after["merged_into"] == into


def test_the_street_dispatcher_routes_a_triage_post_by_a_suggestion(open_session, api):
    waiting = api.ok("gw01", "POST", "/tickets", json={
        "grid": "BH01-01", "description": f"这里有个问题，麻烦看一下 {time.time_ns()}"})
    assert waiting["department"] is None and "待分拨" in waiting["routing_reason"], waiting
    s = open_session(DESKTOP)
    page = s.login("sd", "/dispatch")
    entry = page.locator(f"[data-triage='{waiting['id']}']")
    chip = entry.locator(".suggest button").first
    chip.wait_for()
    s.shot("dispatcher-triage")
    # The chips are the plausible suggestions only (at least a fifth of the best score, as
    # the server's triage rule), and any other item is the ticket's page away.
    found = api.ok("sd", "POST", "/matrix/suggest", json={
        "text": waiting["description"], "grid": "BH01-01", "limit": 3})["suggestions"]
    plausible = [f"分派为 {f['item_name']}（{int(f['score'] * 100 + 0.5)}%）" for f in found
                 if f["score"] >= found[0]["score"] / 5]
    assert entry.locator(".suggest button").all_inner_texts() == plausible
    assert entry.locator(".suggest a.other").get_attribute("href").endswith(
        f"/tickets/{waiting['id']}")
    chip.click()
    page.wait_for_selector(f"[role=status]:has-text('{waiting['number']} 已分派')")
    still_waiting = [t["id"] for t in api.ok("sd", "GET", "/jurisdictions/BH/triage")]
    assert waiting["id"] not in still_waiting  # routed by the item the chip named


def test_the_community_dispatcher_routes_its_communitys_triage_post(open_session, api):
    # 楼道堆物 or 邻里纠纷? Either way the community's business: it waits at the community.
    waiting = api.ok("gw01", "POST", "/tickets", json={
        "grid": "BH01-02", "description": f"邻居把柜子放在公共走廊里 {time.time_ns()}"})
    assert waiting["level"] == "community" and "待分拨" in waiting["routing_reason"], waiting
    s = open_session(DESKTOP)
    page = s.login("cd01", "/dispatch")
    entry = page.locator(f"[data-triage='{waiting['id']}']")
    chip = entry.locator(".suggest button").first
    chip.wait_for()
    s.shot("community-dispatcher-triage")
    chip.click()
    page.wait_for_selector(f"[role=status]:has-text('{waiting['number']} 已分派')")
    still_waiting = [t["id"] for t in api.ok("cd01", "GET", "/jurisdictions/BH01/triage")]
    assert waiting["id"] not in still_waiting
    rerouted = next(e for e in api.ok("cd01", "GET", f"/tickets/{waiting['id']}/events")
                    if e["kind"] == "reroute")
    assert rerouted["actor_role"] == "community_dispatcher"


def test_a_triage_post_no_suggestion_fits_is_routed_to_an_item_picked_by_name(open_session, api):
    waiting = api.ok("gw01", "POST", "/tickets", json={
        "grid": "BH01-01", "description": f"这里有个情况需要处理 {time.time_ns()}"})
    assert waiting["department"] is None, waiting
    s = open_session(DESKTOP)
    page = s.login("sd", "/dispatch")
    page.locator(f"[data-triage='{waiting['id']}'] a.other").click()
    page.wait_for_url(f"**/app/tickets/{waiting['id']}")
    page.click("[data-action=reroute]")
    assert "按其他事项、部门或层级重新分派" in page.inner_text(".action-form")
    timeline = page.inner_text(".timeline")
    assert "待分拨：" in timeline and "awaiting" not in timeline  # the API's reason, in Chinese
    # The item field offers the matrix by code and name (a datalist: typing filters it).
    option = page.locator("#matrix-items option[value^='0202 ']")
    option.wait_for(state="attached")
    picked = option.get_attribute("value")
    page.fill("#reroute-item", picked)
    page.fill("#action-text", "按事项分派")
    s.shot("dispatch-reroute-item-desktop")
    page.click("button:has-text('确认改派')")
    page.wait_for_selector("[role=status]:has-text('改派：已完成')")
    after = api.ok("sd", "GET", f"/tickets/{waiting['id']}")
    assert after["item"] == "0202" and after["department"] is not None, after
    assert picked.split(" ", 1)[1] == after["item_name"]
