"""the radius index of the duplicate checks (open tickets by item, latitude, longitude)

Revision ID: geo18
Revises: 0010
Create Date: 2026-12-03 14:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'geo18'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The open statuses as app.tickets.models.OPEN_STATUSES had them at this revision.
NEARBY_PREDICATE = ("status IN ('self_handling', 'dispatched', 'claimed', 'in_progress', "
                    "'suspended', 'resolved', 'rework', 'returned') AND lat IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    op.create_index('ix_tickets_nearby', 'tickets', ['item_code', 'lat', 'lon', 'created_at'],
                    unique=False, postgresql_where=sa.text(NEARBY_PREDICATE),
                    sqlite_where=sa.text(NEARBY_PREDICATE))


def downgrade() -> None:
    op.drop_index('ix_tickets_nearby', table_name='tickets',
                  postgresql_where=sa.text(NEARBY_PREDICATE),
                  sqlite_where=sa.text(NEARBY_PREDICATE))
