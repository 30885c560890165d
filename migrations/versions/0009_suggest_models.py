"""suggestion models (智能分拨) and the matrix items' synonyms

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('synonyms', sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))
    op.create_table(
        'suggest_models',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('matrix_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('examples', sa.JSON(), nullable=False),
        sa.Column('scorer', sa.LargeBinary(), nullable=False),
        sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['matrix_version_id'], ['matrix_versions.id'],
                                name=op.f('fk_suggest_models_matrix_version_id_matrix_versions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suggest_models')),
        sa.UniqueConstraint('version', name=op.f('uq_suggest_models_version')),
    )
    op.create_index(op.f('ix_suggest_models_matrix_version_id'), 'suggest_models',
                    ['matrix_version_id'], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET lock_timeout = '5s'")
    op.drop_index(op.f('ix_suggest_models_matrix_version_id'), table_name='suggest_models')
    op.drop_table('suggest_models')
    with op.batch_alter_table('matrix_items', schema=None) as batch_op:
        batch_op.drop_column('synonyms')
