"""A user created with an initial password (bulk import, an admin's reset) must change it
before anything else: the app takes them to 修改密码, then to their own screen."""

from __future__ import annotations

import time

from tests.browser.conftest import DESKTOP


def test_an_initial_password_is_changed_first_then_the_user_lands_home(open_session, api):
    username = f"gw_new_{time.time_ns() % 10**9}"
    api.ok("admin", "POST", "/admin/users", json={
        "username": username, "password": "chushi-12345", "role": "grid_worker",
        "display_name": "新网格员", "grid_codes": ["BH01-01"], "must_change_password": True})
    s = open_session(DESKTOP)
    page = s.page
    page.goto(f"{s.base}/app/login")
    page.fill("#username", username)
    page.fill("#password", "chushi-12345")
    page.click("button[type=submit]")
    page.wait_for_url("**/app/password")
    assert "您正在使用初始密码" in page.inner_text("main")
    page.goto(f"{s.base}/app/tickets")  # anything else leads back here
    page.wait_for_url("**/app/password")
    s.shot("initial-password")
    assert page.locator("nav").count() == 0  # no links that would only lead back here
    page.fill("#current-password", "chushi-12345")
    page.fill("#new-password", "xin-mima-67890")
    page.fill("#new-password-again", "xin-mima-67890")
    page.click("button:has-text('确认修改')")
    page.wait_for_url("**/app/post")
    page.locator("nav a:has-text('我的工单')").wait_for()
    # The new password is the one that works now.
    r = api.http.post("/auth/token", data={"username": username, "password": "xin-mima-67890"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
