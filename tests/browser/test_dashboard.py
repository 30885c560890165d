"""督办/领导驾驶舱: the figures are GET /reports/sla's for the same scope and period, the map
draws every grid of the scope, and a community supervisor sees only their community."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.browser.conftest import DESKTOP


def _this_month() -> tuple[str, str]:
    today = (datetime.now(UTC) + timedelta(hours=8)).date()  # Asia/Shanghai
    return today.replace(day=1).isoformat(), today.isoformat()


def _shown(value, key: str) -> str:
    if value is None:
        return "—"
    if "_rate" in key or key.endswith("_share"):
        return f"{value * 100:.1f}%"
    return str(value)


def _grids(api, user: str, under: str) -> set[str]:
    found: set[str] = set()

    def walk(node, inside: bool) -> None:
        inside = inside or node["code"] == under
        if node["level"] == "grid" and inside:
            found.add(node["code"])
        for child in node.get("children", []):
            walk(child, inside)

    for node in api.ok(user, "GET", "/jurisdictions"):
        walk(node, False)
    return found


def _cards(page) -> dict[str, str]:
    cards = page.locator("[data-metric]")
    return {cards.nth(i).get_attribute("data-metric"): cards.nth(i).locator(".v").inner_text()
            for i in range(cards.count())}


def test_dashboard_figures_equal_the_sla_report_and_the_map_draws_every_grid(open_session, api):
    s = open_session(DESKTOP)
    asked: list[str] = []
    s.page.on("request", lambda r: asked.append(r.url))
    page = s.login("sup_bh", "/dashboard")
    page.locator("[data-metric=resolution_rate]").wait_for()
    frm, to = _this_month()
    report = api.ok("sup_bh", "GET", "/reports/sla", params={"from": frm, "to": to, "jurisdiction": "BH"})
    assert _cards(page) == {k: _shown(v, k) for k, v in report["total"].items()}
    grids = _grids(api, "sup_bh", "BH")
    assert len(grids) == 28
    page.locator(".map path.grid-shape").nth(len(grids) - 1).wait_for()
    drawn = page.eval_on_selector_all(
        ".map path.grid-shape",
        "ps => ps.map(p => [...p.classList].find(c => c.startsWith('grid-') && c !== 'grid-shape'))")
    assert {d.removeprefix("grid-") for d in drawn} == grids
    page.locator(".trend canvas").wait_for()
    # The overdue list is the server's (open=true&sla_state=overdue), not the overdue ones
    # among the newest open tickets, which on a large street are a handful of thousands.
    overdue = api.ok("sup_bh", "GET", "/tickets", params={
        "open": "true", "sla_state": "overdue", "jurisdiction": "BH", "limit": 100})
    assert overdue["items"], "the demo street has overdue tickets"
    listed = page.locator("section[aria-label=超时工单] li a")
    listed.nth(len(overdue["items"]) - 1).wait_for()
    assert listed.all_inner_texts() == [f"{t['number']} {t['item_name']}"
                                        for t in overdue["items"]]
    assert any("/api/v1/tickets?" in url and "sla_state=overdue" in url and "open=true" in url
               for url in asked)
    s.shot("dashboard-desktop")
    page.click("button:has-text('大屏模式')")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)
    s.shot("dashboard-bigscreen-1920")


def test_a_community_supervisor_sees_only_their_community(open_session, api):
    s = open_session(DESKTOP)
    page = s.login("sup_bh01", "/dashboard")
    page.locator("[data-metric=resolution_rate]").wait_for()
    frm, to = _this_month()
    own = api.ok("sup_bh01", "GET", "/reports/sla", params={"from": frm, "to": to, "jurisdiction": "BH01"})
    assert _cards(page) == {k: _shown(v, k) for k, v in own["total"].items()}
    assert page.locator("#scope option").all_inner_texts() == ["海韵社区"]
    grids = _grids(api, "sup_bh01", "BH01")
    page.locator(".map path.grid-shape").nth(len(grids) - 1).wait_for()
    assert page.locator(".map path.grid-shape").count() == len(grids)
    assert all(g.startswith("BH01-") for g in grids)

    other = api.call("sup_bh01", "GET", "/reports/sla",
                     params={"from": frm, "to": to, "jurisdiction": "BH02"})
    assert other.status_code == 404
    page.goto(f"{s.base}/app/dashboard?jurisdiction=BH02")
    page.wait_for_selector("[role=alert]:has-text('无权查看或不存在')")
    assert page.locator("[data-metric]").count() == 0
    s.shot("dashboard-community-denied")
