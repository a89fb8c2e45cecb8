"""teams conversations

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:50:51.181747
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('teamsconversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('service_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('member_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id')
    )
    with op.batch_alter_table('teamsconversation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teamsconversation_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('teamsconversation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teamsconversation_user_id'))

    op.drop_table('teamsconversation')
