"""the escalation ladder follows the limits: graces per matrix item, the response
escalation instant on the SLA clock; a suspended ticket's remaining minutes

The per-level escalation budget (``matrix_items.escalation_minutes``) is gone: a grid- or
community-level ticket now climbs when its level fails a limit — unclaimed past the
response limit (+ ``response_grace_minutes``), unresolved past the resolution limit
(+ ``resolve_grace_minutes``); a NULL grace means the category's (0 for every shipped
category).

Open tickets' stored instants are brought to the new rule without the calendar (which a
migration cannot read): the resolution escalation at the ticket's resolution deadline
(``resolve_due_at``) and the response escalation at its response deadline, i.e. grace 0.
The next action on a ticket recomputes both exactly.

Suspended tickets show ``sla_state`` ``paused`` with no deadline and the minutes left
(``tickets.resolve_remaining_minutes``); those suspended before this revision are marked
paused with their deadlines cleared here, and their minutes left stay unknown (NULL) until
they resume, which recomputes every deadline from the pauses as before.

The sweep's 上报 is now the ``escalate`` action by the system (``data.auto``): webhook
subscriptions that filtered on the old ``escalated`` kind are given ``escalate`` instead.

Revision ID: esc18
Revises: geo18
Create Date: 2026-12-03 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'esc18'
down_revision: str | None = 'geo18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_grace_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolve_grace_minutes', sa.Integer(), nullable=True))
        batch_op.drop_column('escalation_minutes')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_escalate_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolve_remaining_minutes', sa.Integer(), nullable=True))
    op.execute("""
        UPDATE sla_clocks SET
          escalate_due_at = CASE WHEN level IN ('grid', 'community') THEN
            (SELECT t.resolve_due_at FROM tickets t WHERE t.id = sla_clocks.ticket_id) END,
          response_escalate_at = CASE WHEN level IN ('grid', 'community') THEN
            (SELECT t.response_due_at FROM tickets t WHERE t.id = sla_clocks.ticket_id) END
    """)
    op.execute("UPDATE tickets SET sla_state = 'paused', response_due_at = NULL, "
               "resolve_due_at = NULL, next_check_at = NULL WHERE status = 'suspended'")

    subscriptions = sa.table('webhook_subscriptions', sa.column('id', sa.BigInteger()),
                             sa.column('event_types', sa.JSON()))
    bind = op.get_bind()
    for sid, kinds in bind.execute(sa.select(subscriptions.c.id, subscriptions.c.event_types)):
        if kinds and "escalated" in kinds:
            renamed = sorted({"escalate" if k == "escalated" else k for k in kinds})
            bind.execute(subscriptions.update().where(subscriptions.c.id == sid)
                         .values(event_types=renamed))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('resolve_remaining_minutes')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_column('response_escalate_at')
    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_minutes', sa.Integer(), nullable=True))
        batch_op.drop_column('resolve_grace_minutes')
        batch_op.drop_column('response_grace_minutes')
