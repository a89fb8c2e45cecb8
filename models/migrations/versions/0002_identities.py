"""identities and platform-neutral addresses

People get identities (platform, tenant, external id); the columns that name a person hold an opaque
person key (for the Slack people so far: their Slack user id, unchanged) with room for Teams-sized
ids; a message's and a municipality's address become (platform, conversation, message id). Existing
rows are Slack's: every person gets the identity ('slack', '', user id) (the team id was never
stored; the Slack edge fills it in at first contact), every address platform 'slack'.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 15:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = 255  # a person key, a conversation id, a message id
# (table, column, old length, new length, nullable)
WIDER = [
    ('auditentry', 'actor_id', 40, KEY, True),
    ('auditentry', 'subject', 100, KEY, True),
    ('caseevent', 'actor_id', 40, KEY, True),
    ('consultation', 'asked_by', 40, KEY, True),
    ('consultation', 'answered_by', 40, KEY, True),
    ('deadline', 'snoozed_by', 40, KEY, True),
    ('handover', 'routed_by', 40, KEY, True),
    ('handover', 'outcome_by', 40, KEY, True),
    ('jobrun', 'period', 60, 300, False),  # a month and a person key
    ('memberprofile', 'user_id', 40, KEY, False),
    ('memberprofile', 'updated_by', 40, KEY, True),
    ('messageref', 'recipient', 40, KEY, True),
    ('outboxmessage', 'dedupe_key', 200, 600, True),  # may name a person and a conversation
    ('person', 'user_id', 40, KEY, False),
    ('refreshernudge', 'user_id', 40, KEY, False),
    ('roleassignment', 'user_id', 40, KEY, False),
    ('signal', 'reporter_id', 40, KEY, True),
    ('signal', 'claimed_by', 40, KEY, True),
    ('trainingattendance', 'user_id', 40, KEY, True),
    ('trainingattendance', 'recorded_by', 40, KEY, True),
    ('trainingrsvp', 'user_id', 40, KEY, False),
    ('trainingsent', 'user_id', 40, KEY, False),
    ('trainingsession', 'organiser_id', 40, KEY, True),
]


def upgrade() -> None:
    op.create_table(
        'identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=20), nullable=False),
        sa.Column('tenant', sa.String(length=KEY), nullable=False),
        sa.Column('external_id', sa.String(length=KEY), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('platform', 'external_id', 'tenant'),  # looked up by platform and id
    )
    with op.batch_alter_table('identity') as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_person_id'), ['person_id'], unique=False)

    tables: dict[str, list[tuple[str, int, int, bool]]] = {}
    for table, column, old, new, nullable in WIDER:
        tables.setdefault(table, []).append((column, old, new, nullable))
    for table, columns in tables.items():
        with op.batch_alter_table(table) as batch_op:
            for column, old, new, nullable in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                      existing_nullable=nullable)

    with op.batch_alter_table('messageref') as batch_op:
        batch_op.drop_index('ix_messageref_channel_ts')
        batch_op.add_column(sa.Column('platform', sa.String(length=20), server_default='slack', nullable=False))
        batch_op.alter_column('channel', new_column_name='conversation', existing_type=sa.String(length=40),
                              type_=sa.String(length=KEY), existing_nullable=True)
        batch_op.alter_column('ts', new_column_name='message_id', existing_type=sa.String(length=40),
                              type_=sa.String(length=KEY), existing_nullable=True)
    with op.batch_alter_table('messageref') as batch_op:
        batch_op.create_index('ix_messageref_conversation_message', ['conversation', 'message_id'], unique=False)

    with op.batch_alter_table('municipality') as batch_op:
        batch_op.add_column(sa.Column('platform', sa.String(length=20), server_default='slack', nullable=False))
        batch_op.alter_column('channel', new_column_name='conversation', existing_type=sa.String(length=40),
                              type_=sa.String(length=KEY), existing_nullable=True)

    # Every person so far is a Slack user whose key is their Slack user id.
    op.execute("INSERT INTO identity (person_id, platform, tenant, external_id, created_at) "
               "SELECT id, 'slack', '', user_id, created_at FROM person")


def downgrade() -> None:
    # Only a database without people of another platform can go back (their keys would not fit).
    with op.batch_alter_table('municipality') as batch_op:
        batch_op.alter_column('conversation', new_column_name='channel', existing_type=sa.String(length=KEY),
                              type_=sa.String(length=40), existing_nullable=True)
        batch_op.drop_column('platform')
    with op.batch_alter_table('messageref') as batch_op:
        batch_op.drop_index('ix_messageref_conversation_message')
        batch_op.alter_column('conversation', new_column_name='channel', existing_type=sa.String(length=KEY),
                              type_=sa.String(length=40), existing_nullable=True)
        batch_op.alter_column('message_id', new_column_name='ts', existing_type=sa.String(length=KEY),
                              type_=sa.String(length=40), existing_nullable=True)
        batch_op.drop_column('platform')
    with op.batch_alter_table('messageref') as batch_op:
        batch_op.create_index('ix_messageref_channel_ts', ['channel', 'ts'], unique=False)
    tables: dict[str, list[tuple[str, int, int, bool]]] = {}
    for table, column, old, new, nullable in WIDER:
        tables.setdefault(table, []).append((column, old, new, nullable))
    for table, columns in tables.items():
        with op.batch_alter_table(table) as batch_op:
            for column, old, new, nullable in columns:
                batch_op.alter_column(column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                                      existing_nullable=nullable)
    with op.batch_alter_table('identity') as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_person_id'))
    op.drop_table('identity')
