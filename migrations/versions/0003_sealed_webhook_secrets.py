"""webhook secrets sealed at rest: a wider column, existing secrets sealed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:10:00

A secret can only be sealed with the deployment's keys (WHISTLE_WEBHOOK_SEALING_KEYS, or
the one derived from WHISTLE_SECRET_KEY), so this revision runs with the deployment's
settings, like ``whistle migrate``: ``migrations/env.py`` hands in the two settings' values
(``config.attributes["webhook_sealing_settings"]``). Like every revision it imports no app
code: the sealing format and the key derivation are frozen below as
``app.webhooks.sealing`` had them when it was written (Fernet, prefixed ``fernet:``; the key
HKDF-SHA256 of the secret key), so a later change there cannot change what this revision
does; tests/test_migration_revisions.py checks the two still seal and open each other's.
"""
import base64
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBSCRIPTIONS = sa.table('webhook_subscriptions', sa.column('id', sa.BigInteger()),
                         sa.column('secret', sa.String()))


PREFIX = 'fernet:'  # what a sealed value starts with (a plain secret starts "whsec_")


def derived_key(secret_key: str) -> str:
    """The sealing key used when none is configured, derived from the token secret."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b'whistle webhook secrets').derive(secret_key.encode())
    return base64.urlsafe_b64encode(key).decode()


def keys_from(secret_key: str, configured: Sequence[str]) -> tuple[str, ...]:
    """The configured keys (the first seals, every one opens), or the derived one."""
    return tuple(configured) or (derived_key(secret_key),)


def seal(secret: str, keys: Sequence[str]) -> str:
    return PREFIX + MultiFernet([Fernet(k) for k in keys]).encrypt(secret.encode()).decode()


def unseal(sealed: str, keys: Sequence[str]) -> str:
    if not sealed.startswith(PREFIX):
        raise ValueError('the stored secret is not sealed')
    fernet = MultiFernet([Fernet(k) for k in keys])
    return fernet.decrypt(sealed.removeprefix(PREFIX).encode()).decode()


def _deployment_keys() -> tuple[str, ...]:
    settings: Callable[[], tuple[str, Sequence[str]]] = (
        context.config.attributes['webhook_sealing_settings'])
    return keys_from(*settings())


def _rewrite(change) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.secret)).all()
    for row in rows:
        new = change(row.secret)
        if new != row.secret:
            connection.execute(SUBSCRIPTIONS.update().where(SUBSCRIPTIONS.c.id == row.id)
                               .values(secret=new))


def upgrade() -> None:
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128),
                              type_=sa.String(length=512), existing_nullable=False)
    keys = _deployment_keys()
    _rewrite(lambda secret: secret if secret.startswith(PREFIX) else seal(secret, keys))


def downgrade() -> None:
    keys = _deployment_keys()
    _rewrite(lambda secret: unseal(secret, keys))
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=512),
                              type_=sa.String(length=128), existing_nullable=False)
