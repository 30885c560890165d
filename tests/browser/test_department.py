"""部门工作台: a ticket posted elsewhere appears in the live queue without a reload; staff
claim, note and resolve with a photo; a second staff member racing for it is told who holds it."""

from __future__ import annotations

import time

from tests.browser.conftest import DESKTOP, PHONE


def test_live_queue_claim_note_resolve_and_a_lost_race(open_session, api, photo_file):
    staff = open_session(DESKTOP)
    page = staff.login("cgzf_staff", "/queue")
    page.wait_for_selector("text=实时更新中")
    rival = open_session(PHONE)
    rival_page = rival.login("cgzf_staff2", "/queue")
    rival_page.wait_for_selector("text=实时更新中")

    ticket = api.post_ticket(description=f"实时队列 {time.time_ns()}")
    posted = time.monotonic()
    row = page.locator(f"tr[data-ticket='{ticket['id']}']")
    row.wait_for(timeout=2000)
    assert time.monotonic() - posted < 2.0
    staff.shot("department-queue-desktop")
    rival.shot("department-queue-phone")

    row.locator("button:has-text('签收')").click()
    page.wait_for_url(f"**/app/tickets/{ticket['id']}")
    page.wait_for_selector(".badge.status:has-text('已签收')")
    # The rival's queue drops the ticket live; claiming it by id names the holder.
    rival_page.locator(f"tr[data-ticket='{ticket['id']}']").wait_for(state="detached", timeout=2000)
    rival_page.fill("#claim-id", str(ticket["id"]))
    rival_page.click("form button:has-text('签收')")
    rival_page.wait_for_selector("[role=alert]:has-text('该工单已被 cgzf_staff 签收')")
    rival.shot("department-lost-race-phone")

    page.click("[data-action=start]")
    page.click("button:has-text('确认开始处置')")
    page.wait_for_selector(".badge.status:has-text('处置中')")
    page.click("[data-action=note]")
    page.fill("#action-text", "已到现场，正在联系业主")
    page.click("button:has-text('确认处置进展')")
    page.wait_for_selector(".timeline li:has-text('已到现场，正在联系业主')")
    page.click("[data-action=resolve]")
    page.fill("#action-text", "违建已拆除")
    page.set_input_files("#action-photos", str(photo_file))
    page.click("button:has-text('确认处置完毕')")
    page.wait_for_selector(".badge.status:has-text('待核查')")
    staff.shot("department-ticket-desktop")

    after = api.ok("cgzf_staff", "GET", f"/tickets/{ticket['id']}")
    assert after["status"] == "resolved"
    assert len(after["attachments"]) == 2  # the post's photo and the resolution's
    kinds = [e["kind"] for e in api.ok("cgzf_staff", "GET", f"/tickets/{ticket['id']}/events")]
    assert "note" in kinds and "resolve" in kinds


def test_a_lead_transfers_a_ticket_to_a_colleague_picked_by_name_with_their_load(
        open_session, api):
    ticket = api.post_ticket(description=f"转交 {time.time_ns()}")
    api.ok("cgzf_staff", "POST", f"/tickets/{ticket['id']}/claim")
    colleague = next(p for p in api.ok("cgzf_lead", "GET", "/departments/CGZF/staff")
                     if p["id"] != api.ok("cgzf_staff", "GET", "/auth/me")["id"]
                     and p["role"] == "department_staff")
    lead = open_session(DESKTOP)
    page = lead.login("cgzf_lead", "/queue")
    page.goto(f"{lead.base}/app/tickets/{ticket['id']}")
    page.click("[data-action=transfer]")
    option = page.locator(f"#assignee option[value='{colleague['id']}']")
    assert "在办" in option.inner_text()
    page.select_option("#assignee", str(colleague["id"]))
    page.click("button:has-text('确认转交')")
    page.wait_for_selector("[role=status]:has-text('转交')")
    assert api.ok("cgzf_lead", "GET", f"/tickets/{ticket['id']}")["assignee_id"] == colleague["id"]


def test_the_ticket_page_counts_down_in_the_tickets_own_working_time(open_session, api):
    ticket = api.post_ticket(description=f"倒计时 {time.time_ns()}")
    left = api.ok("cgzf_staff", "GET", f"/tickets/{ticket['id']}/countdown")
    staff = open_session(DESKTOP)
    page = staff.login("cgzf_staff", "/queue")
    page.goto(f"{staff.base}/app/tickets/{ticket['id']}")
    cell = page.locator("tr:has(th:has-text('办结期限')) td")
    cell.wait_for()
    page.wait_for_function("() => document.body.innerText.includes('（工作时间）')")
    hours = abs(int(left["resolve_minutes_left"])) // 60
    assert f"{hours} 小时" in cell.inner_text() and "工作时间" in cell.inner_text()
