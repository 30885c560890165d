"""refresh tokens: indexes for the ended-sessions reload and for retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_revoked_at', ['revoked_at'], unique=False,
                              postgresql_where=sa.text('revoked_at IS NOT NULL'),
                              sqlite_where=sa.text('revoked_at IS NOT NULL'))
        batch_op.create_index('ix_refresh_tokens_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_expires_at')
        batch_op.drop_index('ix_refresh_tokens_revoked_at')
