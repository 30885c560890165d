"""attachments: the upload kept as it came, a served copy without metadata, a thumbnail,
and the EXIF evidence (when and where the photo was taken); ticket events indexed by time
(Open311's servicerequestupdates reads a window of them)

Revision ID: media18
Revises: 0009
Create Date: 2026-12-03 14:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'media18'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    # Nullable columns only: no table rewrite. Existing rows get their copies on first read.
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_content_type', sa.String(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('original_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
    op.create_index(op.f('ix_ticket_events_created_at'), 'ticket_events', ['created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_events_created_at'), table_name='ticket_events')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('evidence')
        batch_op.drop_column('thumbnail_key')
        batch_op.drop_column('original_key')
        batch_op.drop_column('original_content_type')
