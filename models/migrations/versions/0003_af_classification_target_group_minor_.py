"""AF classification (target group, minor unknown) and structured partner outcomes

Issue 15.1/15.2/15.6. The case's working fields gain the target group and "minor: weet ik niet"
(`minor_possible`, filled from the reporter's answer for existing signals), and who corrected the
classification when; a hand-over's outcome gains its kind from a list (existing outcomes keep their
free text as the note, without a kind).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:03:08.382832
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))

    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minor_possible', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('target_group', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('classified_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('classified_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))

    # "Weet ik niet" of the existing signals (answers is JSON: read in Python, portable across databases).
    signal = sa.table('signal', sa.column('id', sa.Integer), sa.column('answers', sa.JSON),
                      sa.column('minor_possible', sa.Boolean))
    bind = op.get_bind()
    unknown = [row.id for row in bind.execute(sa.select(signal.c.id, signal.c.answers))
               if isinstance(row.answers, dict) and row.answers.get('minor') == 'unknown']
    for start in range(0, len(unknown), 500):
        bind.execute(sa.update(signal).where(signal.c.id.in_(unknown[start:start + 500]))
                     .values(minor_possible=True))


def downgrade() -> None:
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.drop_column('classified_by')
        batch_op.drop_column('classified_at')
        batch_op.drop_column('target_group')
        batch_op.drop_column('minor_possible')

    with op.batch_alter_table('handover', schema=None) as batch_op:
        batch_op.drop_column('outcome_kind')
