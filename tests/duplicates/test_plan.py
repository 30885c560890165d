"""On PostgreSQL the intake's radius query is an index scan of ``ix_tickets_nearby``, and
neither it nor the dispatchers' read of the open located tickets scans the tickets table,
over 30,000 tickets of which a tenth are open (rolled back afterwards). (That read may come
from the partial index in order or from the status index and a sort of the open ones.)

The statements are the ones the service runs (``repo.open_near_statement`` and
``repo.open_located_statement``), with the values rendered into the text: the partial
index applies because the open statuses are constants in the statement, so a generic plan,
which knows no parameter, may use it as well."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, true
from sqlalchemy.dialects import postgresql

from app.auth.scope import ticket_scope_clause
from app.duplicates import repository as repo
from app.jurisdiction.coordinates import degrees_around
from app.tickets.models import Ticket
from tests.conftest import T0
from tests.duplicates.support import border_point, post

pytestmark = pytest.mark.usefixtures("reference")

FILL = text("""
INSERT INTO tickets (matrix_version_id, item_id, item_code, category_code, street_id,
    community_id, grid_id, level, department_id, status, urgency, source, description,
    lat, lon, self_handle, routing_reason, rework_count, return_count, sla_state, version,
    created_at, updated_at)
SELECT t.matrix_version_id, t.item_id, lpad((g % 130)::text, 4, '0'), t.category_code,
    t.street_id, t.community_id, t.grid_id, t.level, t.department_id,
    CASE WHEN g % 10 = 0 THEN 'dispatched' ELSE 'closed' END, 'normal', 'hotline', 'fill',
    38.90 + (g % 997) * 0.00002, 121.61 + (g % 991) * 0.00004, false, 'fill', 0, 0,
    'on_track', 1, t.created_at - (g % 30) * interval '1 day', t.created_at
FROM tickets t, generate_series(1, 30000) AS g
WHERE t.id = :seed
""")


def plan_of(session, stmt):
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return session.execute(text("EXPLAIN " + sql))


async def test_the_radius_queries_use_the_index(sessions, is_postgres, client, token_for,
                                               reference):
    if not is_postgres:
        pytest.skip("the plan is PostgreSQL's; SQLite runs the same statements unplanned")
    seed = await post(client, token_for("sd"), "0301", border_point())
    async with sessions() as session:
        await session.execute(FILL, {"seed": seed["id"]})
        await session.execute(text("ANALYZE tickets"))
        lat, lon = 38.91, 121.63
        d_lat, d_lon = degrees_around(lat, 100.0)
        near = repo.open_near_statement(
            item_code="0042", lat=lat, lon=lon, box=repo.Box(d_lat, d_lon),
            since=T0 - timedelta(days=7), scope=ticket_scope_clause(reference["sd"], Ticket))
        located = repo.open_located_statement(
            scope=ticket_scope_clause(reference["sd"], Ticket), within=true(), item_code=None,
            cap=100_000)
        plan = "\n".join(row[0] for row in await plan_of(session, near))
        assert "Index Scan using ix_tickets_nearby on tickets" in plan, plan
        assert "Seq Scan on tickets" not in plan, plan
        plan = "\n".join(row[0] for row in await plan_of(session, located))
        assert "Seq Scan on tickets" not in plan, plan
        # And the statements run (the fill is in the box of the pair query's tickets).
        assert (await session.execute(select(Ticket.id).where(Ticket.description == "fill")
                                      .limit(1))).first() is not None
        await session.rollback()
