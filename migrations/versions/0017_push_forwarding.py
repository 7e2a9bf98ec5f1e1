"""push_forwarding: rules that send WeChat's pushes on to the operator's own systems, and one delivery row
per push per matching rule.

`forward_rules.secret` is the rule's HMAC key, sealed at rest (AES-GCM under DATA_KEY) and bound to the
rule's `ref`, a random key written in the rule's INSERT (portal.secretbox binds a value to a natural key
that never changes). `forward_deliveries` is written in the same transaction as the push it forwards, so a
stored push never lacks its deliveries; (rule_id, event_id) is unique, so a push is queued once per rule.
Deliveries of one (rule, appid) go out in id order: the index serves "the oldest pending delivery of each
appid of this rule".

Revision ID: 0017_push_forwarding
Revises: 0016_api_keys
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_push_forwarding'
down_revision = '0016_api_keys'
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table('forward_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('appid', sa.String(length=45), nullable=True),
    sa.Column('kinds', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_forward_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forward_rules')),
    sa.UniqueConstraint('ref', name=op.f('uq_forward_rules_ref')),
    **TABLE_OPTIONS,
    )
    op.create_table('forward_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('appid', sa.String(length=45), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('give_up_at', sa.DateTime(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['forward_rules.id'], name=op.f('fk_forward_deliveries_rule_id_forward_rules'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['callback_events.id'],
                            name=op.f('fk_forward_deliveries_event_id_callback_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forward_deliveries')),
    sa.UniqueConstraint('rule_id', 'event_id', name=op.f('uq_forward_deliveries_rule_id_event_id')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('forward_deliveries') as batch:
        batch.create_index('ix_forward_deliveries_rule_status_appid', ['rule_id', 'status', 'appid', 'id'])
        batch.create_index(batch.f('ix_forward_deliveries_event_id'), ['event_id'])


def downgrade():
    op.drop_table('forward_deliveries')
    op.drop_table('forward_rules')
