"""notifications: channels, the inbox, the outbox and its attempt log, preferences, contacts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    op.create_table(
        'notification_channels',
        sa.Column('id', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('department_id', ID, nullable=True),
        sa.Column('jurisdiction_id', ID, nullable=True),
        sa.Column('endpoint', sa.String(length=2000), nullable=True),
        sa.Column('sealed', sa.Text(), nullable=True),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.CheckConstraint("kind IN ('wecom', 'dingtalk', 'sms')",
                           name=op.f('ck_notification_channels_kind')),
        sa.CheckConstraint('(department_id IS NULL) <> (jurisdiction_id IS NULL)',
                           name=op.f('ck_notification_channels_one_owner')),
        sa.CheckConstraint('rate_per_minute > 0',
                           name=op.f('ck_notification_channels_rate_positive')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_notification_channels_department_id_departments')),
        sa.ForeignKeyConstraint(
            ['jurisdiction_id'], ['jurisdictions.id'],
            name=op.f('fk_notification_channels_jurisdiction_id_jurisdictions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels')),
    )
    op.create_index(op.f('ix_notification_channels_department_id'), 'notification_channels',
                    ['department_id'])
    op.create_index(op.f('ix_notification_channels_jurisdiction_id'), 'notification_channels',
                    ['jurisdiction_id'])

    op.create_table(
        'notifications',
        sa.Column('id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', ID, nullable=True),
        sa.Column('event_id', ID, nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('updated_at', WHEN, nullable=False),
        sa.Column('read_at', WHEN, nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_notifications_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key')),
    )
    op.create_index('ix_notifications_inbox', 'notifications', ['user_id', 'id'])

    op.create_table(
        'notification_outbox',
        sa.Column('id', ID, nullable=False),
        sa.Column('channel_id', ID, nullable=False),
        sa.Column('user_id', ID, nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', ID, nullable=True),
        sa.Column('event_id', ID, nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('urgent', sa.Boolean(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', WHEN, nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', WHEN, nullable=False),
        sa.Column('delivered_at', WHEN, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')",
                           name=op.f('ck_notification_outbox_status')),
        sa.CheckConstraint('attempts >= 0',
                           name=op.f('ck_notification_outbox_attempts_non_negative')),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['notification_channels.id'],
            name=op.f('fk_notification_outbox_channel_id_notification_channels')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_notification_outbox_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_notification_outbox_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_outbox_dedupe_key')),
    )
    op.create_index(op.f('ix_notification_outbox_channel_id'), 'notification_outbox',
                    ['channel_id'])
    op.create_index('ix_notification_outbox_due', 'notification_outbox', ['next_attempt_at'],
                    postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))

    op.create_table(
        'notification_attempts',
        sa.Column('id', ID, nullable=False),
        sa.Column('outbox_id', ID, nullable=False),
        sa.Column('channel_id', ID, nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('created_at', WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['notification_channels.id'],
            name=op.f('fk_notification_attempts_channel_id_notification_channels')),
        sa.ForeignKeyConstraint(
            ['outbox_id'], ['notification_outbox.id'], ondelete='CASCADE',
            name=op.f('fk_notification_attempts_outbox_id_notification_outbox')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_attempts')),
    )
    op.create_index(op.f('ix_notification_attempts_outbox_id'), 'notification_attempts',
                    ['outbox_id'])
    op.create_index('ix_notification_attempts_channel', 'notification_attempts',
                    ['channel_id', 'created_at'])

    op.create_table(
        'notification_preferences',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'kind', 'channel',
                                name=op.f('pk_notification_preferences')),
    )
    op.create_table(
        'notification_contacts',
        sa.Column('user_id', ID, nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_notification_contacts_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_contacts')),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    op.drop_table('notification_contacts')
    op.drop_table('notification_preferences')
    op.drop_table('notification_attempts')
    op.drop_table('notification_outbox')
    op.drop_table('notifications')
    op.drop_table('notification_channels')
