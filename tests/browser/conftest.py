"""Browser tests: a real server (uvicorn, demo data, a temp SQLite file) and Debian's
Chromium driven by Playwright through ``executable_path`` — no browser is downloaded.

They run in their own CI stage (``WHISTLE_BROWSER_TESTS=1 pytest tests/browser``) and are
skipped otherwise, so the main suite needs no browser. Every page is watched: a request to
any origin but the server's own fails the test. Screenshots go to ``WHISTLE_SCREENSHOTS``
(default ``var/screenshots``).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("WHISTLE_CHROMIUM", "/usr/bin/chromium")
PORT = int(os.environ.get("WHISTLE_BROWSER_PORT", "18610"))
PASSWORD = "whistle-demo"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
SCREENSHOTS = Path(os.environ.get("WHISTLE_SCREENSHOTS", "var/screenshots"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

if os.environ.get("WHISTLE_BROWSER_TESTS") != "1":
    pytest.skip("browser tests run in their own stage: WHISTLE_BROWSER_TESTS=1", allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402


def _whistle(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).parent / "whistle"), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def start_server(port: int, extra_env: dict[str, str] | None = None,
                 database: Path | None = None,
                 database_url: str | None = None) -> tuple[subprocess.Popen, str, Path | None]:
    """A server on a fresh demo database (SQLite), on ``database`` (a SQLite file), or on
    ``database_url`` as it is (the benchmarks' large PostgreSQL databases: not migrated,
    not seeded)."""
    tmp = Path(tempfile.mkdtemp(prefix="whistle-browser-"))
    env = {**os.environ, "WHISTLE_ENV": "development",
           "WHISTLE_ATTACHMENT_DIR": str(tmp / "attachments"), **(extra_env or {})}
    if database_url is None and database is None:
        database = tmp / "whistle.db"
        env["WHISTLE_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
        _whistle("migrate", env=env)
        _whistle("seed-demo", env=env)
    env["WHISTLE_DATABASE_URL"] = database_url or f"sqlite+aiosqlite:///{database}"
    with socket.socket() as s:  # fail clearly when a stale server holds the port
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is already in use")
    with open(tmp / "server.log", "wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base, process)
    return process, base, database


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[str, Path]]:
    process, base, database = start_server(PORT)
    assert database is not None  # the demo's SQLite file
    try:
        yield base, database
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server[0]


class Api:
    """The public API as a test uses it: to set up, and to check what the page shows."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=20)
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.http.post("/auth/token", data={"username": username, "password": PASSWORD})
            r.raise_for_status()
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def call(self, username: str, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(username)}", **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def ok(self, username: str, method: str, path: str, **kw):
        r = self.call(username, method, path, **kw)
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None

    def photo(self, username: str) -> int:
        return self.ok(username, "POST", "/attachments",
                       files={"file": ("site.png", png_bytes(), "image/png")})["id"]

    def post_ticket(self, username: str = "gw01", item: str = "0201", grid: str = "BH01-01",
                    description: str = "测试：违法搭建") -> dict:
        return self.ok(username, "POST", "/tickets", json={
            "item": item, "grid": grid, "description": description,
            "attachments": [self.photo(username)]})

    def resolved_ticket(self, staff: str = "cgzf_staff") -> dict:
        ticket = self.post_ticket(description=f"待核查 {time.time_ns()}")
        for action, body in (("claim", None), ("start", None),
                             ("resolve", {"result": "已拆除", "attachments": [self.photo(staff)]})):
            self.ok(staff, "POST", f"/tickets/{ticket['id']}/{action}", json=body)
        return self.ok(staff, "GET", f"/tickets/{ticket['id']}")


@pytest.fixture(scope="session")
def api(base_url) -> Api:
    return Api(base_url)


def png_bytes() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (183, 28, 28)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def photo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "site.png"
    path.write_bytes(png_bytes())
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Session:
    """One user's browser context, with every request checked to stay on the origin."""

    def __init__(self, browser: Browser, base: str, viewport: dict, **context) -> None:
        self.base = base
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context: BrowserContext = browser.new_context(
            viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", **context)
        self.context.on("request", self._check)
        self.context.set_default_timeout(20000)  # fail with a message, well before pytest's timeout
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _check(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base + "/") or url.startswith(("blob:", "data:"))):
            self.foreign.append(url)

    def login(self, username: str, lands_on: str) -> Page:
        self.page.goto(f"{self.base}/app/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"**/app{lands_on}")
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_session(browser, base_url) -> Iterator:
    sessions: list[Session] = []

    def make(viewport: dict = DESKTOP, **context) -> Session:
        s = Session(browser, base_url, viewport, **context)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.context.close()
    for s in sessions:
        assert not s.foreign, f"requests left the origin: {s.foreign}"
        assert not s.errors, f"page errors: {s.errors}"
