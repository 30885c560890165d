"""The web app on a throttled phone: a cold load of the grid worker's post page on Chromium's
"Slow 4G" profile, and the JS+CSS it transfers; and how long the dashboard takes to draw once
the last of its data has arrived, with each of its data requests' own times.

    WHISTLE_BROWSER_TESTS=1 .venv/bin/python -m bench.bench_web
    WHISTLE_BROWSER_TESTS=1 .venv/bin/python -m bench.bench_web --only dashboard \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/dash5m_5m

The first uses the browser tests' demo server (SQLite, 300 tickets); the second serves a
database as it is (loaded beforehand, e.g. by ``whistle seed-bulk``: not migrated, not
seeded) and logs in as ``--user`` (default ``sup_bh``, the demo street's supervisor, whom
seed-bulk creates too). Prints a Markdown section for bench/RESULTS.md. Uses Debian's chromium
(no browser download).

The dashboard's times are the browser's own (one clock, the page's): each data request's
Resource Timing entry (sent, first byte, last byte), and the moment every part of the page is
on screen, taken from inside the page at the frame after the last part appeared — so the
figure is not stretched by this process's polling, and "after its data" is measured from the
last data response, whichever it is (the map's geometry comes after the reports, since the
map is drawn only once the report is there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

os.environ.setdefault("WHISTLE_BROWSER_TESTS", "1")  # the harness below refuses otherwise

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, Api, start_server, stop_server  # noqa: E402

PORT = 18620
# Chromium DevTools' "Slow 4G" preset (formerly "Fast 3G"): 150 ms RTT × 3.75 latency
# factor, 1.6 Mbit/s × 0.9 down, 750 kbit/s × 0.9 up.
SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 1.6 * 1024 * 1024 / 8 * 0.9,
           "uploadThroughput": 750 * 1024 / 8 * 0.9}

# Installed before the page's scripts: at every frame, is every part of the dashboard on
# screen (the cards, every grid of the scope, the trend's canvas, the rankings, the overdue
# list, and the ticket markers when there are open tickets with a position)? The frame after
# the one where they all are is the time taken: by then that frame has been painted.
WATCH_DRAWN = """
(() => {
  const grids = %(grids)d, markers = %(markers)s
  const all = () => document.querySelector('[data-metric=resolution_rate]')
    && document.querySelectorAll('.map path.grid-shape').length >= grids
    && document.querySelector('.trend canvas')
    && document.querySelector('section[aria-label="部门排名"] tbody tr')
    && document.querySelector('section[aria-label="超时工单"] h2')
    && (!markers || document.querySelector('.map .ticket-marker'))
  const tick = () => {
    if (all()) requestAnimationFrame(() => { window.__drawnAt = performance.now() })
    else requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
})()
"""
API_ENTRIES = """() => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/api/v1/'))
  .map((e) => ({ url: e.name, start: e.startTime, sent: e.requestStart,
                 first_byte: e.responseStart, end: e.responseEnd, bytes: e.encodedBodySize }))"""


def _tokens(api: Api, username: str, password: str) -> dict:
    body = api.http.post("/auth/token", data={"username": username, "password": password}).json()
    return {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
            "expires_at": time.time() + body["expires_in"]}


def _logged_in_context(browser, api, username, viewport, password="whistle-demo"):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    session = _tokens(api, username, password)
    api.tokens[username] = session["access_token"]
    # Injected by the browser before the page's scripts (not an inline script: the CSP holds).
    me = json.dumps(api.ok(username, "GET", "/auth/me"))
    context.add_init_script(f"sessionStorage.setItem('whistle.session', "
                            f"{json.dumps(json.dumps(session))});"
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


def _request_name(url: str) -> str:
    """``GET /reports/sla?…`` with only the query parameters that tell the requests apart."""
    parts = urlsplit(url)
    keep = [(k, v) for k, v in parse_qsl(parts.query)
            if k in ("group_by", "series", "by", "open", "sla_state", "limit", "include_geometry",
                     "percentiles")]
    path = parts.path.removeprefix("/api/v1")
    return "GET " + path + ("?" + "&".join(f"{k}={v}" for k, v in keep) if keep else "")


def dashboard_draw(browser, base, api, *, user: str, password: str, view: str, grids: int,
                   markers: bool) -> dict:
    """One cold load of the dashboard (a new browser context): when it was all drawn, and
    each data request's times, all from the page's clock (ms since navigation began)."""
    context = _logged_in_context(browser, api, user, {"width": 1920, "height": 1080}, password)
    context.add_init_script(WATCH_DRAWN % {"grids": grids, "markers": json.dumps(markers)})
    page = context.new_page()
    page.goto(f"{base}/app/dashboard{view}")
    page.wait_for_function("() => window.__drawnAt !== undefined", timeout=300_000, polling=100)
    drawn = page.evaluate("window.__drawnAt")
    entries = [e for e in page.evaluate(API_ENTRIES) if e["end"] <= drawn]
    context.close()
    last = max(entries, key=lambda e: e["end"])
    # The map asks for the grids' geometry only once it is mounted, i.e. once the reports
    # are there: the drawing's own request. From the last of the others, the figure also
    # holds that round trip and the map's and the chart's code chunks.
    upfront = max(e["end"] for e in entries if "include_geometry" not in e["url"])
    return {"drawn_ms": drawn, "after_data_ms": drawn - last["end"],
            "after_upfront_ms": drawn - upfront, "last": _request_name(last["url"]),
            "requests": entries}


def replay_alone(api: Api, user: str, urls: list[str], runs: int = 5) -> dict[str, float]:
    """Each data request again on its own, one after another, warm: the server's time for it
    without the page's other requests beside it (median of ``runs``, ms)."""
    out = {}
    for url in urls:
        parts = urlsplit(url)
        path = parts.path.removeprefix("/api/v1") + (f"?{parts.query}" if parts.query else "")
        times = []
        for _ in range(runs + 1):  # the first is a warm-up
            started = time.perf_counter()
            r = api.call(user, "GET", path)  # httpx asks for gzip, as the browser does
            r.raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        out[url] = statistics.median(times[1:])
    return out


def _scope(api: Api, user: str) -> tuple[str, int]:
    """The user's scope code and how many grids it holds (the map draws each)."""
    code = api.ok(user, "GET", "/auth/me")["scope"]["scope_code"]
    count = 0

    def walk(node, inside: bool) -> None:
        nonlocal count
        inside = inside or node["code"] == code
        count += node["level"] == "grid" and inside
        for child in node.get("children", []):
            walk(child, inside)

    for node in api.ok(user, "GET", "/jurisdictions"):
        walk(node, code is None)
    return code, count


def _last_month(today: date) -> tuple[str, str]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1).isoformat(), end.isoformat()


def measure_dashboard(browser, base, api, *, user: str, password: str, runs: int) -> list[dict]:
    """The dashboard as it opens (本月, month to date), and for the last whole month."""
    api.tokens[user] = _tokens(api, user, password)["access_token"]
    code, grids = _scope(api, user)
    today = (datetime.now(UTC) + timedelta(hours=8)).date()  # Asia/Shanghai
    frm, to = _last_month(today)
    views = [("本月 (month to date, as it opens)", ""),
             (f"last whole month ({frm}..{to})", f"?period=range&from={frm}&to={to}")]
    open_page = api.ok(user, "GET", "/tickets", params={"open": "true", "jurisdiction": code,
                                                        "limit": 200})
    markers = any(t.get("location") for t in open_page["items"])
    results = []
    for label, view in views:
        done = [dashboard_draw(browser, base, api, user=user, password=password, view=view,
                               grids=grids, markers=markers) for _ in range(runs)]
        median = sorted(done, key=lambda r: r["after_data_ms"])[len(done) // 2]
        urls = sorted({e["url"] for r in done for e in r["requests"]})
        per_request = {}
        for url in urls:
            seen = [e for r in done for e in r["requests"] if e["url"] == url]
            per_request[url] = {
                "in_page_ms": statistics.median(e["end"] - e["start"] for e in seen),
                "first_byte_ms": statistics.median(e["first_byte"] - e["sent"] for e in seen),
                "bytes": statistics.median(e["bytes"] for e in seen)}
        for url, ms in replay_alone(api, user, urls).items():
            per_request[url]["alone_ms"] = ms
        results.append({"label": label, "scope": code, "grids": grids, "runs": done,
                        "median": median, "per_request": per_request,
                        "after_data_ms": statistics.median(r["after_data_ms"] for r in done),
                        "after_upfront_ms": statistics.median(r["after_upfront_ms"]
                                                              for r in done),
                        "drawn_ms": statistics.median(r["drawn_ms"] for r in done)})
    return results


def _dashboard_markdown(results: list[dict]) -> str:
    out = []
    for res in results:
        runs = ", ".join(f"{r['after_data_ms']:.0f}" for r in res["runs"])
        upfront = ", ".join(f"{r['after_upfront_ms']:.0f}" for r in res["runs"])
        out.append(f"""**{res['label']}**, scope {res['scope']} ({res['grids']} grids): drawn
**{res['after_data_ms']:.0f} ms after the last data response** (runs: {runs} ms; the last to
arrive in the median run: `{res['median']['last']}`); {res['after_upfront_ms']:.0f} ms after the
last of the data it asks for before drawing (all but the map's geometry; runs: {upfront} ms);
{res['drawn_ms'] / 1000:.2f} s after navigation began (medians).

| data request | in the page (sent → last byte) | sent → first byte (the server, with the \
page's other requests beside it) | alone, warm (median of 5) | body (gzip) |
|---|---|---|---|---|""")
        for url, t in sorted(res["per_request"].items(), key=lambda kv: -kv[1]["in_page_ms"]):
            out.append(f"| `{_request_name(url)}` | {t['in_page_ms']:.0f} ms | "
                       f"{t['first_byte_ms']:.0f} ms | {t['alone_ms']:.0f} ms | "
                       f"{t['bytes'] / 1024:.1f} KB |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("post", "dashboard"), help="one of the two figures")
    parser.add_argument("--database-url", help="serve this database as it is (default: a fresh "
                        "demo database on SQLite)")
    parser.add_argument("--user", default="sup_bh", help="the dashboard's user")
    parser.add_argument("--password", default="whistle-demo")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write every run's figures here")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    process, base, _ = start_server(PORT, database_url=args.database_url)
    post_runs: list[dict] = []
    dash: list[dict] = []
    try:
        api = Api(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            if args.only != "dashboard":
                post_runs = [post_page_cold_load(browser, base, api) for _ in range(args.runs)]
            if args.only != "post":
                dash = measure_dashboard(browser, base, api, user=args.user,
                                         password=args.password, runs=args.runs)
            browser.close()
    finally:
        stop_server(process)
    load_after = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"post": post_runs, "dashboard": dash}, f, indent=1, default=str)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data = "demo data" if args.database_url is None else urlsplit(args.database_url).path[1:]
    print(f"""## Web app: the grid worker's post page on Slow 4G, the dashboard's drawing

{when} · {platform.node()} · {os.cpu_count()} cores (shared with other sessions) · Chromium
(Debian) headless · {data} · median of {args.runs} · 1-minute load average {load_before:.1f}
at the start, {load_after:.1f} at the end
""")
    if post_runs:
        post = sorted(post_runs, key=lambda r: r["usable_s"])[len(post_runs) // 2]
        print(f"""| figure | measured | target |
|---|---|---|
| post page usable, cold load, Slow 4G (562.5 ms, 1.44 Mbit/s) | **{post['usable_s']:.2f} s** | ≤ 3 s |
| JS + CSS transferred for that page (gzip, as sent) | **{post['js_css_bytes'] / 1024:.1f} KB** | ≤ 300 KB |
| everything transferred for that page (HTML, JS, CSS, API data) | {post['total_bytes'] / 1024:.1f} KB | — |
""")
    if dash:
        print("Dashboard at 1920×1080 (target: drawn ≤ 1 s after its data):\n")
        print(_dashboard_markdown(dash))


if __name__ == "__main__":
    main()
