"""api_keys: keys of the token service API (`/api/v1`), which the operator's other systems use to get the
access tokens the portal keeps, instead of refreshing them on their own and invalidating each other's.

`api_keys.key_hash` is the SHA-256 of the key (the key itself is shown once and never stored); `revoked_at`
ends a key at once; `use_count` and `last_used_at` are what the staff page shows. A key with `all_tenants`
false may reach the mini-programs of the tenants listed in `api_key_tenants` only.

Revision ID: 0016_api_keys
Revises: 0015_mp_setup
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_api_keys'
down_revision = '0015_mp_setup'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('key_prefix', sa.String(length=16), nullable=False),
        sa.Column('all_tenants', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('use_count', sa.BigInteger(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_keys_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('name', name=op.f('uq_api_keys_name')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    )
    op.create_table(
        'api_key_tenants',
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_api_key_tenants_api_key_id_api_keys'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_api_key_tenants_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('api_key_id', 'tenant_id', name=op.f('pk_api_key_tenants')),
    )


def downgrade():
    op.drop_table('api_key_tenants')
    op.drop_table('api_keys')
