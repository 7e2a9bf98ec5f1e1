"""unclaimed_authorizers: accounts WeChat lists as authorized (api_get_authorizer_list) that the portal has no
wxminiprograms row for, because both the `authorized` push and the administrator's return were lost.

A table of its own rather than wxminiprograms rows without a tenant: the list also holds official accounts
and apps staff have not looked at yet, and a wxminiprograms row is what every job, list and fleet treats as
a managed mini-program. The daily sync_authorizers fills it (refresh token as AES-GCM ciphertext, like
wxminiprograms.authorizer_refresh_token; name and kind from api_get_authorizer_info); assigning an account
to a tenant binds it as an authorization does and deletes its row. Nothing else changes.

Revision ID: 0008_unclaimed_authorizers
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_unclaimed_authorizers'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table('unclaimed_authorizers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authorizer_appid', sa.String(length=45), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('authorized_at', sa.DateTime(), nullable=True),
    sa.Column('nick_name', sa.String(length=64), nullable=True),
    sa.Column('principal_name', sa.String(length=128), nullable=True),
    sa.Column('is_miniprogram', sa.Boolean(), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unclaimed_authorizers')),
    sa.UniqueConstraint('authorizer_appid', name=op.f('uq_unclaimed_authorizers_authorizer_appid')),
    **TABLE_OPTIONS,
    )


def downgrade():
    op.drop_table('unclaimed_authorizers')
