"""official_accounts: the `wxuser` table for official accounts (公众号) authorized to the platform.

The seeds kept official accounts in `wxuser` and cleared its token columns on the `unauthorized` push
(`where type = 1 and appid = …`). The table keeps that name and the seed columns the seeds use (`type`,
`appid`, `authorizer_access_token`, `authorizer_refresh_token`, `authorizer_expires`), so a seed-era row
maps onto it. It is a table of its own rather than wxminiprograms rows with a kind: every job, list and
fleet treats a wxminiprograms row as a mini-program whose code is managed, which an official account is
not. The tokens are TEXT (AES-GCM ciphertext, as in wxminiprograms); the rest is what
api_get_authorizer_info gives (service and verification type, func_info), the tenant it belongs to, and
the outcome of its last token refresh (as wxminiprograms since 0013_token_health, for the token health page).

Revision ID: 0014_official_accounts
Revises: 0013_token_health
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_official_accounts'
down_revision = '0013_token_health'
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table('wxuser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('uid', sa.Integer(), nullable=True),
    sa.Column('type', sa.SmallInteger(), nullable=False),
    sa.Column('appid', sa.String(length=45), nullable=False),
    sa.Column('nick_name', sa.String(length=64), nullable=True),
    sa.Column('head_img', sa.String(length=512), nullable=True),
    sa.Column('user_name', sa.String(length=45), nullable=True),
    sa.Column('alias', sa.String(length=64), nullable=True),
    sa.Column('principal_name', sa.String(length=128), nullable=True),
    sa.Column('qrcode_url', sa.String(length=512), nullable=True),
    sa.Column('service_type_info', sa.SmallInteger(), nullable=True),
    sa.Column('verify_type_info', sa.SmallInteger(), nullable=True),
    sa.Column('business_info', sa.Text(), nullable=True),
    sa.Column('func_info', sa.Text(), nullable=True),
    sa.Column('authorizer_access_token', sa.Text(), nullable=True),
    sa.Column('authorizer_expires', sa.Integer(), nullable=True),
    sa.Column('authorizer_refresh_token', sa.Text(), nullable=True),
    sa.Column('create_time', sa.DateTime(), nullable=False),
    sa.Column('auth_state', sa.String(length=16), nullable=False),
    sa.Column('authorized_at', sa.DateTime(), nullable=True),
    sa.Column('unauthorized_at', sa.DateTime(), nullable=True),
    sa.Column('refresh_token_updated_at', sa.DateTime(), nullable=True),
    sa.Column('token_refreshed_at', sa.DateTime(), nullable=True),
    sa.Column('token_refresh_ok', sa.Boolean(), nullable=True),
    sa.Column('token_refresh_result', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wxuser_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxuser')),
    sa.UniqueConstraint('appid', name=op.f('uq_wxuser_appid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wxuser') as batch:
        batch.create_index(batch.f('ix_wxuser_tenant_id'), ['tenant_id'], unique=False)
        batch.create_index(batch.f('ix_wxuser_uid'), ['uid'], unique=False)
        batch.create_index(batch.f('ix_wxuser_auth_state'), ['auth_state'], unique=False)


def downgrade():
    op.drop_table('wxuser')
