"""tickets: only a street-level ticket has a department (a CHECK)

Revision ID: 0010
Revises: media18
Create Date: 2026-12-03 15:00:00

Claim-next hands out a department's queue without looking at the level; the database now
guarantees what it relies on. Rows that break the rule (none the service writes) stop the
upgrade with the CHECK's name.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = 'media18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_tickets_department_at_street'),
                                         "department_id IS NULL OR level = 'street'")


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tickets_department_at_street'), type_='check')
