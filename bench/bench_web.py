"""The web app on a throttled phone: a cold load of the grid worker's post page on Chromium's
"Slow 4G" profile, and the JS+CSS it transfers; and how long the dashboard takes to draw once
its data has arrived.

    WHISTLE_BROWSER_TESTS=1 .venv/bin/python -m bench.bench_web

Prints a Markdown section for bench/RESULTS.md. Uses the browser tests' demo server and
Debian's chromium (no browser download).
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import UTC, datetime

os.environ.setdefault("WHISTLE_BROWSER_TESTS", "1")  # the harness below refuses otherwise

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, Api, start_server, stop_server  # noqa: E402

PORT = 18620
# Chromium DevTools' "Slow 4G" preset (formerly "Fast 3G"): 150 ms RTT × 3.75 latency
# factor, 1.6 Mbit/s × 0.9 down, 750 kbit/s × 0.9 up.
SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
           "uploadThroughput": 750 * 1024 / 8 * 0.9}


def _tokens(api: Api, username: str) -> dict:
    body = api.http.post("/auth/token", data={"username": username, "password": "whistle-demo"}).json()
    return {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
            "expires_at": time.time() + body["expires_in"]}


def _logged_in_context(browser, api, username, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    session = json.dumps(_tokens(api, username))
    # Injected by the browser before the page's scripts (not an inline script: the CSP holds).
    me = json.dumps(api.ok(username, "GET", "/auth/me"))
    context.add_init_script(f"sessionStorage.setItem('whistle.session', {json.dumps(session)});"
                            f"sessionStorage.setItem('whistle.me', {json.dumps(me)})")
    return context


def post_page_cold_load(browser, base, api) -> dict:
    context = _logged_in_context(browser, api, "gw01", {"width": 360, "height": 740})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    sizes: dict[str, int] = {}
    kinds: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    start = time.perf_counter()
    page.goto(f"{base}/app/post")
    page.locator(".items label").first.wait_for(timeout=30000)
    page.locator("#description").wait_for()
    usable = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    js_css = sum(n for rid, n in sizes.items() if kinds.get(rid) in ("Script", "Stylesheet"))
    total = sum(sizes.values())
    context.close()
    return {"usable_s": usable, "js_css_bytes": js_css, "total_bytes": total}


def dashboard_draw(browser, base, api) -> dict:
    context = _logged_in_context(browser, api, "sup_bh", {"width": 1920, "height": 1080})
    page = context.new_page()
    arrived: list[float] = []
    page.on("response", lambda r: "/api/v1/reports/" in r.url and arrived.append(time.perf_counter()))
    page.goto(f"{base}/app/dashboard")
    page.locator("[data-metric=resolution_rate]").wait_for()
    page.locator(".map path.grid-shape").nth(27).wait_for()
    page.locator(".trend canvas").wait_for()
    drawn = time.perf_counter()
    context.close()
    return {"after_data_s": drawn - max(arrived)}


def main() -> None:
    process, base, _ = start_server(PORT)
    try:
        api = Api(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            post_runs = [post_page_cold_load(browser, base, api) for _ in range(3)]
            dash_runs = [dashboard_draw(browser, base, api) for _ in range(3)]
            browser.close()
    finally:
        stop_server(process)
    post = sorted(post_runs, key=lambda r: r["usable_s"])[1]
    dash = sorted(r["after_data_s"] for r in dash_runs)[1]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"""## Web app: the grid worker's post page on Slow 4G, the dashboard's drawing

{when} · {platform.node()} · {os.cpu_count()} cores · Chromium (Debian) headless · demo data · median of 3

| figure | measured | target |
|---|---|---|
| post page usable, cold load, Slow 4G (562.5 ms, 1.44 Mbit/s) | **{post['usable_s']:.2f} s** | ≤ 3 s |
| JS + CSS transferred for that page (gzip, as sent) | **{post['js_css_bytes'] / 1024:.1f} KB** | ≤ 300 KB |
| everything transferred for that page (HTML, JS, CSS, API data) | {post['total_bytes'] / 1024:.1f} KB | — |
| dashboard drawn (cards, 28 grids, trend) after its data, 1920×1080 | {dash * 1000:.0f} ms | ≤ 1 s |

The dashboard figure is for the demo street (300 tickets): the page draws the API's
aggregates (one row per grid, one per week), so its cost follows the grids and periods,
not the ticket count; the 5M-ticket street was not measured here.
""")


if __name__ == "__main__":
    main()
