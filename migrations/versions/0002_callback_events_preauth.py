"""Callback events (every push WeChat sends, deduplicated) and pre-auth sessions (who asked for which
pre-auth code, so a push-only authorization finds its tenant).

Revision ID: 547cfea4afc5
Revises: 0001
Create Date: 2026-11-22 04:01:36.147705

"""
from alembic import op
import sqlalchemy as sa

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('callback_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('appid', sa.String(length=45), nullable=True),
    sa.Column('create_time', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=191), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_events')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_callback_events_dedup_key')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('callback_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_events_appid'), ['appid'], unique=False)
        batch_op.create_index('ix_callback_events_kind_received_at', ['kind', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_events_received_at'), ['received_at'], unique=False)

    op.create_table('preauth_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('completed_appid', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_preauth_sessions_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_preauth_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preauth_sessions')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_preauth_sessions_code_hash')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('preauth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_preauth_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_preauth_sessions_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('preauth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_preauth_sessions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_preauth_sessions_expires_at'))

    op.drop_table('preauth_sessions')
    with op.batch_alter_table('callback_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_events_received_at'))
        batch_op.drop_index('ix_callback_events_kind_received_at')
        batch_op.drop_index(batch_op.f('ix_callback_events_appid'))

    op.drop_table('callback_events')
