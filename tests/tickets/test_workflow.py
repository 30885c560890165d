"""The workflow, table-driven from the state machine itself: every action from every state,
allowed where the table says so and refused (409) everywhere else; plus who may act."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import update

from app.tickets.models import Status, Ticket
from app.tickets.workflow import BY_ACTION, TRANSITIONS, Relation

pytestmark = pytest.mark.usefixtures("reference")

# Who holds each relation to a CGZF ticket posted by gw01 in grid BH01-01.
ACTOR_FOR = {
    Relation.assignee: "cgzf_staff",
    Relation.queue_holder: "cgzf_staff",
    Relation.department_lead: "cgzf_lead",
    Relation.reporter: "gw01",
    Relation.grid_worker_of_grid: "gw01",
    Relation.rerouter: "sd",
    Relation.dispatcher: "cd01",
    Relation.admin: "admin",
    Relation.street_dispatcher: "sd",
    Relation.approver: "sd",
    Relation.summoned: "hw_staff",
}
PREFERENCE = list(ACTOR_FOR)


def actor_for(action: str) -> str:
    who = BY_ACTION[action].who
    return next(ACTOR_FOR[r] for r in PREFERENCE if r in who)


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def cgzf_item(matrix_items):
    return next(c for c, i in sorted(matrix_items.items())
                if i.handling_level == "street" and i.primary_department == "CGZF"
                and not i.photo_required)


@pytest.fixture
def new_ticket(client, token_for, cgzf_item):
    async def make(**overrides) -> dict:
        data = {"grid": "BH01-01", "item": cgzf_item, "description": "占道经营，影响通行"}
        data.update(overrides)
        r = await client.post("/api/v1/tickets", json=data, headers=token_for("gw01"))
        assert r.status_code == 201, r.text
        return r.json()
    return make


@pytest.fixture
def force(sessions, reference, clock):
    """Arrange: put a ticket straight into a state (the act is then done through HTTP)."""
    async def put(ticket_id: int, status: Status, *, assignee: str | None = "cgzf_staff") -> None:
        values = {"status": status.value,
                  "assignee_id": reference[assignee].id if assignee else None}
        if status is Status.closed:
            values["closed_at"] = clock.now()
        async with sessions() as s, s.begin():
            await s.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values))
    return put


async def body_for(action: str, client, token_for, new_ticket, reference, user: str) -> dict:
    if action in ("note", "resolve", "self_close"):
        files = {"file": ("p.png", png(), "image/png")}
        att = (await client.post("/api/v1/attachments", files=files,
                                 headers=token_for(user))).json()
        return {"result": "已处理完毕", "attachments": [att["id"]]}
    if action in ("return", "cancel", "reopen", "verify_fail"):
        return {"reason": "不属于本部门职责"} | ({"passed": False} if action == "verify_fail" else {})
    return {
        "escalate": {"reason": "社区无法处置，上报街道"},
        "request_extension": {"minutes": 120, "reason": "需要协调产权单位"},
        "approve_extension": {"approve": True}, "reject_extension": {"approve": False},
        "request_suspension": {"reason": "等待居民回家开门"},
        "approve_suspension": {"approve": True}, "reject_suspension": {"approve": False},
        "blow_whistle": {"departments": ["HW"], "minutes": 30},
        "verify_pass": {"passed": True},
        "reroute": {"department": "HW", "reason": "环卫负责"},
        "transfer": {"assignee_id": reference["cgzf_staff2"].id},
        "merge": {"target_ticket_id": (await new_ticket())["id"]},
        "rate": {"rating": "满意", "comment": "很快"},
        "edit": {"description": "更正：占道经营（早市）"},
    }.get(action, {})


PATHS = {"verify_pass": "verify", "verify_fail": "verify", "blow_whistle": "whistle",
         "approve_extension": "decide-extension", "reject_extension": "decide-extension",
         "approve_suspension": "decide-suspension", "reject_suspension": "decide-suspension"}


def url_for(action: str, ticket_id: int) -> tuple[str, str]:
    if action == "edit":
        return "PATCH", f"/api/v1/tickets/{ticket_id}"
    return "POST", f"/api/v1/tickets/{ticket_id}/{PATHS.get(action, action.replace('_', '-'))}"


async def prepare(action: str, ticket_id: int, client, token_for, force) -> None:
    """What must exist before the action: a pending request, an open whistle."""
    if action.endswith(("_extension", "_suspension")) and not action.startswith("request"):
        kind = action.split("_", 1)[1]
        await force(ticket_id, Status.in_progress)
        body = {"reason": "需要更多时间"} | ({"minutes": 60} if kind == "extension" else {})
        r = await client.post(f"/api/v1/tickets/{ticket_id}/request-{kind}", json=body,
                              headers=token_for("cgzf_staff"))
        assert r.status_code == 200, r.text
    if action == "report_in":
        await force(ticket_id, Status.dispatched)
        r = await client.post(f"/api/v1/tickets/{ticket_id}/whistle",
                              json={"departments": ["HW"]}, headers=token_for("sd"))
        assert r.status_code == 200, r.text


CASES = [(t.action, s) for t in TRANSITIONS for s in Status]


@pytest.mark.parametrize(("action", "state"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
async def test_every_action_from_every_state(action, state, client, token_for, new_ticket,
                                             force, reference, pick_item):
    transition = BY_ACTION[action]
    # Escalation climbs from the community; everything else starts in a department's queue.
    ticket = await new_ticket(item=pick_item(level="community")) if action == "escalate" \
        else await new_ticket()
    await prepare(action, ticket["id"], client, token_for, force)
    await force(ticket["id"], state)
    user = "cd01" if action == "escalate" else actor_for(action)
    payload = await body_for(action, client, token_for, new_ticket, reference, user)
    method, url = url_for(action, ticket["id"])
    headers = token_for(user)
    if action == "edit":
        headers["If-Match"] = f'"{ticket["id"]}.1"'
    r = await client.request(method, url, json=payload, headers=headers)
    if state in transition.sources:
        assert r.status_code == 200, r.text
        expected = transition.target or state
        assert r.json()["status"] == expected.value
        events = (await client.get(f"/api/v1/tickets/{ticket['id']}/events",
                                   headers=token_for("admin"))).json()
        assert events[-1]["kind"] == transition.event
        assert (events[-1]["from_status"], events[-1]["to_status"]) == (state, expected)
        assert events[-1]["actor_role"] == reference[user].role.value
    else:
        assert r.status_code == 409, r.text
        assert r.json().get("status_now") == state.value or "claimed by" in r.json()["detail"]


@pytest.mark.parametrize("action", [t.action for t in TRANSITIONS])
async def test_a_supervisor_sees_but_may_not_act(action, client, token_for, new_ticket, force,
                                                 reference):
    transition = BY_ACTION[action]
    ticket = await new_ticket()
    await force(ticket["id"], sorted(transition.sources)[0])
    payload = await body_for(action, client, token_for, new_ticket, reference, "sup_bh")
    method, url = url_for(action, ticket["id"])
    r = await client.request(method, url, json=payload,
                             headers={**token_for("sup_bh"), "If-Match": f'"{ticket["id"]}.1"'})
    assert r.status_code in (403, 422), r.text  # 422 only where the photo upload was refused
    if r.status_code == 422:
        assert action in ("note", "resolve", "self_close")


async def test_another_department_gets_404(client, token_for, new_ticket):
    ticket = await new_ticket()
    r = await client.post(f"/api/v1/tickets/{ticket['id']}/claim", headers=token_for("hw_staff"))
    assert r.status_code == 404


async def test_a_community_dispatcher_cannot_claim_from_a_department_queue(
        client, token_for, new_ticket):
    ticket = await new_ticket()
    r = await client.post(f"/api/v1/tickets/{ticket['id']}/claim", headers=token_for("cd01"))
    assert r.status_code == 403


async def test_claim_loser_gets_409_naming_the_holder(client, token_for, new_ticket):
    ticket = await new_ticket()
    first = await client.post(f"/api/v1/tickets/{ticket['id']}/claim",
                              headers=token_for("cgzf_staff"))
    second = await client.post(f"/api/v1/tickets/{ticket['id']}/claim",
                               headers=token_for("cgzf_staff2"))
    assert first.status_code == 200 and second.status_code == 409
    assert "cgzf_staff" in second.json()["detail"]
    assert second.json()["holder_id"] == first.json()["assignee_id"]


async def test_verify_fail_rework_loop_then_close(client, token_for, new_ticket):
    t = await new_ticket()
    tid = t["id"]
    staff, gw = token_for("cgzf_staff"), token_for("gw01")
    for expected_rework in (1, 2):
        assert (await client.post(f"/api/v1/tickets/{tid}/claim" if expected_rework == 1
                                  else f"/api/v1/tickets/{tid}/start", headers=staff)).status_code == 200
        if expected_rework == 1:
            assert (await client.post(f"/api/v1/tickets/{tid}/start", headers=staff)).status_code == 200
        r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"result": "已清理"},
                              headers=staff)
        assert r.json()["status"] == "resolved"
        r = await client.post(f"/api/v1/tickets/{tid}/verify",
                              json={"passed": False, "reason": "仍有摊位"}, headers=gw)
        assert r.json()["status"] == "rework" and r.json()["rework_count"] == expected_rework
    await client.post(f"/api/v1/tickets/{tid}/start", headers=staff)
    await client.post(f"/api/v1/tickets/{tid}/resolve", json={"result": "已取缔"}, headers=staff)
    r = await client.post(f"/api/v1/tickets/{tid}/verify", json={"passed": True}, headers=gw)
    assert r.json()["status"] == "closed" and r.json()["closed_at"] is not None


async def test_verify_fail_needs_a_reason(client, token_for, new_ticket, force):
    t = await new_ticket()
    await force(t["id"], Status.resolved)
    r = await client.post(f"/api/v1/tickets/{t['id']}/verify", json={"passed": False},
                          headers=token_for("gw01"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "reason"]


async def test_return_then_reroute_to_another_department(client, token_for, new_ticket):
    t = await new_ticket()
    r = await client.post(f"/api/v1/tickets/{t['id']}/return", json={"reason": "不归我们管"},
                          headers=token_for("cgzf_staff"))
    assert r.json()["status"] == "returned" and r.json()["return_count"] == 1
    # the community dispatcher did not route a street-level ticket: the street re-routes it
    r = await client.post(f"/api/v1/tickets/{t['id']}/reroute", json={"department": "HW"},
                          headers=token_for("cd01"))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/tickets/{t['id']}/reroute", json={"department": "HW"},
                          headers=token_for("sd"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["department"]) == ("dispatched", "HW")
    assert (await client.get(f"/api/v1/tickets/{t['id']}",
                             headers=token_for("hw_staff"))).status_code == 200


async def test_reroute_by_item_uses_the_matrix(client, token_for, new_ticket, pick_item):
    t = await new_ticket()
    await client.post(f"/api/v1/tickets/{t['id']}/return", json={"reason": "分类错误"},
                      headers=token_for("cgzf_staff"))
    community_item = pick_item(level="community")
    r = await client.post(f"/api/v1/tickets/{t['id']}/reroute", json={"item": community_item},
                          headers=token_for("sd"))
    assert r.status_code == 200, r.text
    assert (r.json()["item"], r.json()["level"], r.json()["department"]) == (
        community_item, "community", None)


async def test_merge_closes_the_duplicate_and_links_its_reporter(client, token_for, new_ticket):
    original = await new_ticket()
    duplicate = await new_ticket(reporter={"name": "李四", "phone": "13900001111"})
    r = await client.post(f"/api/v1/tickets/{duplicate['id']}/merge",
                          json={"target_ticket_id": original["id"]}, headers=token_for("cd01"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["merged_into"]) == ("cancelled", original["id"])
    events = (await client.get(f"/api/v1/tickets/{original['id']}/events",
                               headers=token_for("cd01"))).json()
    linked = [e for e in events if e["kind"] == "merged_in"]
    assert linked and linked[0]["data"]["duplicate"] == duplicate["id"]
    assert linked[0]["data"]["reporter_phone"] == "13900001111"


async def test_merge_into_itself_or_a_closed_ticket_is_422(client, token_for, new_ticket, force):
    t = await new_ticket()
    closed = await new_ticket()
    await force(closed["id"], Status.closed)
    for target in (t["id"], closed["id"], 999999999):
        r = await client.post(f"/api/v1/tickets/{t['id']}/merge",
                              json={"target_ticket_id": target}, headers=token_for("cd01"))
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "target_ticket_id"]


async def test_reopen_only_within_the_configured_days(client, token_for, new_ticket, force,
                                                      clock, settings):
    t = await new_ticket()
    await force(t["id"], Status.closed)
    clock.advance(timedelta(days=settings.reopen_days, minutes=1))
    r = await client.post(f"/api/v1/tickets/{t['id']}/reopen", json={"reason": "又出现了"},
                          headers=token_for("cd01"))
    assert r.status_code == 409 and "within" in r.json()["detail"]
    u = await new_ticket()
    await force(u["id"], Status.closed)
    clock.advance(timedelta(days=1))
    r = await client.post(f"/api/v1/tickets/{u['id']}/reopen", json={"reason": "又出现了"},
                          headers=token_for("cd01"))
    assert r.status_code == 200 and r.json()["status"] == "dispatched"


async def test_rating_once_with_a_known_value(client, token_for, new_ticket, force):
    t = await new_ticket()
    await force(t["id"], Status.closed)
    bad = await client.post(f"/api/v1/tickets/{t['id']}/rate", json={"rating": "很好"},
                            headers=token_for("gw01"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "rating"]
    ok = await client.post(f"/api/v1/tickets/{t['id']}/rate",
                           json={"rating": "基本满意", "comment": "慢了点"},
                           headers=token_for("gw01"))
    assert ok.status_code == 200 and ok.json()["rating"] == "基本满意"
    again = await client.post(f"/api/v1/tickets/{t['id']}/rate", json={"rating": "满意"},
                              headers=token_for("gw01"))
    assert again.status_code == 409


async def test_transfer_to_staff_of_another_department_is_422(client, token_for, new_ticket,
                                                              reference):
    t = await new_ticket()
    await client.post(f"/api/v1/tickets/{t['id']}/claim", headers=token_for("cgzf_staff"))
    r = await client.post(f"/api/v1/tickets/{t['id']}/transfer",
                          json={"assignee_id": reference["hw_staff"].id},
                          headers=token_for("cgzf_lead"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "assignee_id"]


async def test_stale_if_match_is_412_and_changes_nothing(client, token_for, new_ticket):
    t = await new_ticket()
    tid = t["id"]
    r = await client.patch(f"/api/v1/tickets/{tid}", json={"urgency": "urgent"},
                           headers={**token_for("cd01"), "If-Match": f'"{tid}.1"'})
    assert r.status_code == 200 and r.headers["ETag"] == f'"{tid}.2"'
    stale = await client.patch(f"/api/v1/tickets/{tid}", json={"description": "旧版本的修改"},
                               headers={**token_for("cd01"), "If-Match": f'"{tid}.1"'})
    assert stale.status_code == 412 and stale.json()["current_version"] == 2
    stale_claim = await client.post(f"/api/v1/tickets/{tid}/claim",
                                    headers={**token_for("cgzf_staff"), "If-Match": f'"{tid}.1"'})
    assert stale_claim.status_code == 412
    now = (await client.get(f"/api/v1/tickets/{tid}", headers=token_for("cd01"))).json()
    assert (now["description"], now["status"], now["version"]) == (t["description"],
                                                                   "dispatched", 2)


async def test_edit_without_if_match_is_428(client, token_for, new_ticket):
    t = await new_ticket()
    r = await client.patch(f"/api/v1/tickets/{t['id']}", json={"urgency": "urgent"},
                           headers=token_for("cd01"))
    assert r.status_code == 428


async def test_malformed_if_match_is_422(client, token_for, new_ticket):
    t = await new_ticket()
    r = await client.post(f"/api/v1/tickets/{t['id']}/claim",
                          headers={**token_for("cgzf_staff"), "If-Match": "yesterday"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["header", "If-Match"]


async def test_claim_next_hands_out_the_most_urgent(client, token_for, new_ticket,
                                                    clear_queues):
    await clear_queues()
    normal = await new_ticket()
    urgent = await new_ticket(urgency="urgent")
    staff = token_for("cgzf_staff")
    first = await client.post("/api/v1/departments/CGZF/queue/claim-next", headers=staff)
    second = await client.post("/api/v1/departments/CGZF/queue/claim-next", headers=staff)
    empty = await client.post("/api/v1/departments/CGZF/queue/claim-next", headers=staff)
    assert [first.json()["id"], second.json()["id"]] == [urgent["id"], normal["id"]]
    assert first.json()["status"] == "claimed"
    assert empty.status_code == 204
    assert (await client.post("/api/v1/departments/HW/queue/claim-next",
                              headers=staff)).status_code == 404


async def test_workflow_document_is_the_table(client):
    r = await client.get("/api/v1/workflow")
    assert [t["action"] for t in r.json()] == [t.action for t in TRANSITIONS]
    claim = next(t for t in r.json() if t["action"] == "claim")
    assert claim["from_states"] == ["dispatched"] and claim["to_state"] == "claimed"
    assert "department_staff" in claim["roles"]
