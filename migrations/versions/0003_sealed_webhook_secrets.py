"""webhook secrets sealed at rest: a wider column, existing secrets sealed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:10:00

Unlike the other migrations this one imports app code: a secret can only be sealed with
the deployment's keys (WHISTLE_WEBHOOK_SEALING_KEYS, or the one derived from
WHISTLE_SECRET_KEY), so it must run with the deployment's settings, like ``whistle migrate``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBSCRIPTIONS = sa.table('webhook_subscriptions', sa.column('id', sa.BigInteger()),
                         sa.column('secret', sa.String()))


def _rewrite(change) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.secret)).all()
    for row in rows:
        new = change(row.secret)
        if new != row.secret:
            connection.execute(SUBSCRIPTIONS.update().where(SUBSCRIPTIONS.c.id == row.id)
                               .values(secret=new))


def upgrade() -> None:
    from app.config import get_settings
    from app.webhooks.sealing import PREFIX, keys_of, seal

    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128),
                              type_=sa.String(length=512), existing_nullable=False)
    keys = keys_of(get_settings())
    _rewrite(lambda secret: secret if secret.startswith(PREFIX) else seal(secret, keys))


def downgrade() -> None:
    from app.config import get_settings
    from app.webhooks.sealing import keys_of, unseal

    keys = keys_of(get_settings())
    _rewrite(lambda secret: unseal(secret, keys))
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=512),
                              type_=sa.String(length=128), existing_nullable=False)
