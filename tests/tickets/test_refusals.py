"""403 or 409, as the README says, walked over every action × state × relation.

The rule: **403** when the caller may never take the action on this ticket — their role
holds none of the relations the workflow table asks for, or where the ticket is (its grid,
community, street, level, department) gives them none; **409** when they could, but the
ticket's state forbids it now, or the part is one the workflow itself has not given them yet
(the assignee's: claim it first, or it is claimed by a colleague; a summoned department's: no
open whistle summons them). Otherwise the action proceeds (here it stops at 412: every
request carries a stale If-Match, so nothing changes and the walk needs one ticket per
placement).

The expectations come from the table below — who stands how to each ticket, written out
by hand from the README's roles — and the workflow table; not from the code under test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app.auth.models import Role
from app.tickets.models import Status, Ticket
from app.tickets.workflow import TRANSITIONS, Relation

pytestmark = pytest.mark.usefixtures("reference")

R = Relation
S = Status
# Each placement: a ticket posted by gw01 in grid BH01-01 (community BH01, street BH), at a
# level; who sees it, and the relations each of them holds by where it is.
STANDING: dict[str, dict[str, set[Relation]]] = {
    "street": {  # in the CGZF department's queue
        "gw01": {R.grid_worker_of_grid, R.reporter},
        "cd01": {R.dispatcher},
        "sd": {R.dispatcher, R.street_dispatcher, R.rerouter, R.approver},
        "cgzf_staff": {R.queue_holder},
        "cgzf_staff2": {R.queue_holder},
        "cgzf_lead": {R.queue_holder, R.department_lead},
        "sup_bh": set(),
        "admin": {R.admin},
    },
    "community": {  # in community BH01's queue
        "gw01": {R.grid_worker_of_grid, R.reporter},
        "cd01": {R.queue_holder, R.dispatcher},
        "sd": {R.dispatcher, R.street_dispatcher, R.rerouter, R.approver},
        "sup_bh": set(),
        "admin": {R.admin},
    },
    "grid": {  # in grid BH01-01's queue
        "gw01": {R.queue_holder, R.grid_worker_of_grid, R.reporter},
        "cd01": {R.dispatcher, R.rerouter, R.approver},
        "sd": {R.dispatcher, R.street_dispatcher, R.rerouter, R.approver},
        "sup_bh": set(),
        "admin": {R.admin},
    },
}
ASSIGNEE = {"street": "cgzf_staff", "community": "cd01", "grid": "gw01"}
ASSIGNED_STATES = {S.claimed, S.in_progress, S.rework, S.resolved, S.suspended, S.closed}
DEPARTMENT_ROLES = {Role.department_staff, Role.department_lead}

PATHS = {"verify_pass": "verify", "verify_fail": "verify", "blow_whistle": "whistle",
         "approve_extension": "decide-extension", "reject_extension": "decide-extension",
         "approve_suspension": "decide-suspension", "reject_suspension": "decide-suspension"}
BODIES = {
    "note": {"result": "进展"}, "resolve": {"result": "已处理"}, "self_close": {"result": "已处理"},
    "return": {"reason": "x"}, "cancel": {"reason": "x"}, "reopen": {"reason": "x"},
    "escalate": {"reason": "x"}, "request_suspension": {"reason": "x"},
    "verify_pass": {"passed": True}, "verify_fail": {"passed": False, "reason": "x"},
    "reroute": {"department": "HW", "reason": "x"}, "transfer": {"assignee_id": 1},
    "merge": {"target_ticket_id": 1}, "rate": {"rating": "满意"},
    "request_extension": {"minutes": 60, "reason": "x"},
    "approve_extension": {"approve": True}, "reject_extension": {"approve": False},
    "approve_suspension": {"approve": True}, "reject_suspension": {"approve": False},
    "blow_whistle": {"departments": ["HW"]}, "edit": {"description": "更正"},
}


def expected(action: str, state: Status, placement: str, user: str, role: Role) -> int:
    transition = next(t for t in TRANSITIONS if t.action == action)
    standing = STANDING[placement][user]
    now = standing | ({R.assignee} if state in ASSIGNED_STATES
                      and user == ASSIGNEE[placement] else set())
    could = (now | ({R.assignee} if R.queue_holder in standing else set())
             | ({R.summoned} if role in DEPARTMENT_ROLES else set()))
    if not transition.who & could:
        return 403
    if state not in transition.sources or not transition.who & now:
        return 409
    return 412


@pytest.fixture
def placed(client, token_for, pick_item, matrix_items):
    async def post(placement: str) -> int:
        if placement == "street":
            item = next(c for c, i in sorted(matrix_items.items())
                        if i.handling_level == "street" and i.primary_department == "CGZF")
        else:
            item = pick_item(level=placement, self_handle=False)
        r = await client.post("/api/v1/tickets", headers=token_for("gw01"), json={
            "grid": "BH01-01", "item": item, "description": "楼道堆放杂物，影响通行"})
        assert r.status_code == 201 and r.json()["level"] == placement, r.text
        return r.json()["id"]
    return post


CASES = [(p, s) for p in STANDING for s in Status]


@pytest.mark.parametrize(("placement", "state"), CASES, ids=[f"{p}-{s}" for p, s in CASES])
async def test_every_refusal_is_403_or_409_as_the_readme_says(
        placement, state, placed, client, token_for, sessions, reference, clock):
    tid = await placed(placement)
    assignee = reference[ASSIGNEE[placement]].id if state in ASSIGNED_STATES else None
    async with sessions() as s, s.begin():
        await s.execute(update(Ticket).where(Ticket.id == tid).values(
            status=state.value, assignee_id=assignee,
            closed_at=clock.now() if state is S.closed else None))
    wrong = []
    for user in STANDING[placement]:
        headers = {**token_for(user), "If-Match": f'"{tid}.999"'}  # stale: nothing changes
        for transition in TRANSITIONS:
            action = transition.action
            if action == "edit":
                r = await client.patch(f"/api/v1/tickets/{tid}", json=BODIES[action],
                                       headers=headers)
            else:
                path = PATHS.get(action, action.replace("_", "-"))
                r = await client.post(f"/api/v1/tickets/{tid}/{path}",
                                      json=BODIES.get(action), headers=headers)
            want = expected(action, state, placement, user, reference[user].role)
            if r.status_code != want:
                wrong.append(f"{user} {action}: {r.status_code}, expected {want} "
                             f"({r.json().get('detail')})")
    assert not wrong, "\n".join(wrong)


async def test_staff_resolving_an_unclaimed_ticket_of_their_department_hear_claim_first(
        placed, client, token_for):
    """The issue's case: 409 (the state forbids it: claim first), not 403."""
    tid = await placed("street")
    r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"result": "已处理"},
                          headers=token_for("cgzf_staff"))
    assert r.status_code == 409, r.text
    assert r.json()["status_now"] == "dispatched"
    await client.post(f"/api/v1/tickets/{tid}/claim", headers=token_for("cgzf_staff"))
    await client.post(f"/api/v1/tickets/{tid}/start", headers=token_for("cgzf_staff"))
    r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"result": "已处理"},
                          headers=token_for("cgzf_staff2"))  # a colleague holds it
    assert r.status_code == 409 and r.json()["holder_id"] is not None, r.text
    assert r.json()["type"].endswith("/not-your-turn")
