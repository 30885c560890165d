"""tickets: awaiting_triage (待分拨 at the street or at the community)

Revision ID: h19
Revises: excel18
Create Date: 2026-12-03 17:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'h19'
down_revision: str | None = 'excel18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_triage', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
    # Until now a ticket awaited triage exactly when it waited at the street in no
    # department's queue (posting routes nowhere else without a department).
    op.execute("UPDATE tickets SET awaiting_triage = true WHERE level = 'street' "
               "AND department_id IS NULL AND status = 'dispatched'")


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('awaiting_triage')
