"""dashboard: its signing key, one-time login links and web sessions

Revision ID: dashboard_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 20:10:00

The first revision of the dashboard feature's own branch (see storage/migrations/README.md).
dashboard_key holds the key login links and session cookies are signed with, made here once
(so every process of one store signs alike, and nothing has to be configured);
dashboard_login the links `!dashboard` issued (the hash of their nonce, used once);
dashboard_session the web sessions they opened (the hash of the cookie's id).
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'dashboard_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('dashboard',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    key = op.create_table(
        'dashboard_key',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('secret', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(key, [{'name': 'signing', 'secret': secrets.token_urlsafe(48)}])
    op.create_table(
        'dashboard_login',
        sa.Column('nonce_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('identity', sa.String(length=300), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=False),
        sa.Column('used_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('nonce_hash'),
    )
    op.create_index('ix_dashboard_login_person_id', 'dashboard_login', ['person_id'],
                    unique=False)
    op.create_table(
        'dashboard_session',
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('identity', sa.String(length=300), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=False),
        sa.Column('ended_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('session_hash'),
    )
    op.create_index('ix_dashboard_session_person_id', 'dashboard_session', ['person_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_dashboard_session_person_id', table_name='dashboard_session')
    op.drop_table('dashboard_session')
    op.drop_index('ix_dashboard_login_person_id', table_name='dashboard_login')
    op.drop_table('dashboard_login')
    op.drop_table('dashboard_key')
