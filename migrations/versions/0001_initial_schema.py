"""Initial schema: tenants, users, component account, wxminiprograms, audits, activity log.

`wxminiprograms` and `wxminiprogram_audit` keep every column of the seeds' tables with the same names
and meanings. Differences, and why:
- wxminiprograms.authorizer_access_token / authorizer_refresh_token: varchar(255) -> TEXT, because they
  hold AES-GCM ciphertext with a key-id prefix (longer than the token itself).
- wxminiprograms.business_info / miniprograminfo: varchar(255) -> TEXT: the JSON WeChat returns
  (network domains, categories) routinely exceeds 255 characters.
- wxminiprograms.nick_name, alias (45 -> 64), principal_name (45 -> 128), head_img, qrcode_url
  (255 -> 512): WeChat's values can be longer than the seed allowed.
- wxminiprograms.uid is nullable: an authorization completed from WeChat's push alone may arrive for a
  pre-auth code the portal did not issue, so no user is known.
- wxminiprograms.authorizer_appid is NOT NULL and unique: one row per mini-program.
- create_time has no "ON UPDATE CURRENT_TIMESTAMP": in the seed, any update rewrote the authorization
  time; it is set once on insert here.
- wxminiprogram_audit.status keeps WeChat's enum (0 approved, 1 rejected, 2 in review, 3 withdrawn,
  4 delayed) and defaults to 2; the seed's default 3 "submitted" clashes with WeChat's 3 = withdrawn.
- wxminiprogram_audit.reason varchar(255) -> TEXT: rejection reasons are long HTML-ish text.
- tinyint(1) flags/enums become BOOLEAN/SMALLINT, which are the same or wider on MySQL.
Tables are InnoDB with utf8mb4 on MySQL/MariaDB (Chinese names, emoji in signatures).

Revision ID: e50b00853d80
Revises:
Create Date: 2026-11-22 03:56:04
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('name', name=op.f('uq_tenants_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('weixin_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_appid', sa.String(length=45), nullable=False),
    sa.Column('component_verify_ticket', sa.Text(), nullable=True),
    sa.Column('ticket_time', sa.DateTime(), nullable=True),
    sa.Column('component_access_token', sa.Text(), nullable=True),
    sa.Column('token_expires', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weixin_account')),
    sa.UniqueConstraint('component_appid', name=op.f('uq_weixin_account_component_appid')),
    **TABLE_OPTIONS,
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('invitation_token_hash', sa.String(length=64), nullable=True),
    sa.Column('invitation_expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role = 'staff' OR tenant_id IS NOT NULL", name=op.f('ck_users_merchant_has_tenant')),
    sa.CheckConstraint("role IN ('staff', 'merchant')", name=op.f('ck_users_role_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('invitation_token_hash', name=op.f('uq_users_invitation_token_hash')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('wxminiprograms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.Integer(), nullable=True),
    sa.Column('nick_name', sa.String(length=64), nullable=True),
    sa.Column('alias', sa.String(length=64), nullable=True),
    sa.Column('token', sa.String(length=45), nullable=True),
    sa.Column('head_img', sa.String(length=512), nullable=True),
    sa.Column('verify_type_info', sa.SmallInteger(), nullable=True),
    sa.Column('is_show', sa.Boolean(), nullable=False),
    sa.Column('user_name', sa.String(length=45), nullable=True),
    sa.Column('qrcode_url', sa.String(length=512), nullable=True),
    sa.Column('business_info', sa.Text(), nullable=True),
    sa.Column('idc', sa.Integer(), nullable=True),
    sa.Column('principal_name', sa.String(length=128), nullable=True),
    sa.Column('signature', sa.String(length=255), nullable=True),
    sa.Column('miniprograminfo', sa.Text(), nullable=True),
    sa.Column('func_info', sa.Text().with_variant(mysql.LONGTEXT(), 'mysql'), nullable=True),
    sa.Column('authorizer_appid', sa.String(length=45), nullable=False),
    sa.Column('authorizer_access_token', sa.Text(), nullable=True),
    sa.Column('authorizer_expires', sa.Integer(), nullable=True),
    sa.Column('authorizer_refresh_token', sa.Text(), nullable=True),
    sa.Column('create_time', sa.DateTime(), nullable=False),
    sa.Column('auth_state', sa.String(length=16), nullable=False),
    sa.Column('authorized_at', sa.DateTime(), nullable=True),
    sa.Column('unauthorized_at', sa.DateTime(), nullable=True),
    sa.Column('refresh_token_updated_at', sa.DateTime(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_wxminiprograms_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxminiprograms')),
    sa.UniqueConstraint('authorizer_appid', name=op.f('uq_wxminiprograms_authorizer_appid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wxminiprograms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wxminiprograms_auth_state'), ['auth_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_wxminiprograms_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wxminiprograms_uid'), ['uid'], unique=False)

    op.create_table('activity_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('miniprogram_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_activity_log_actor_id_users')),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'], name=op.f('fk_activity_log_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_activity_log_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_log')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_log_miniprogram_id'), ['miniprogram_id'], unique=False)
        batch_op.create_index('ix_activity_log_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('wxminiprogram_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appid', sa.String(length=45), nullable=False),
    sa.Column('auditid', sa.String(length=45), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('create_time', sa.DateTime(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('user_version', sa.String(length=64), nullable=True),
    sa.Column('user_desc', sa.String(length=255), nullable=True),
    sa.Column('ext_json', sa.Text(), nullable=True),
    sa.Column('screenshot', sa.Text(), nullable=True),
    sa.Column('is_release', sa.Boolean(), nullable=False),
    sa.Column('release_time', sa.DateTime(), nullable=True),
    sa.Column('auditresult_time', sa.DateTime(), nullable=True),
    sa.Column('update_time', sa.DateTime(), nullable=True),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'], name=op.f('fk_wxminiprogram_audit_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_wxminiprogram_audit_submitted_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxminiprogram_audit')),
    sa.UniqueConstraint('appid', 'auditid', name=op.f('uq_wxminiprogram_audit_appid_auditid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wxminiprogram_audit', schema=None) as batch_op:
        batch_op.create_index('ix_wxminiprogram_audit_appid_create_time', ['appid', 'create_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_wxminiprogram_audit_miniprogram_id'), ['miniprogram_id'], unique=False)



def downgrade():
    with op.batch_alter_table('wxminiprogram_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wxminiprogram_audit_miniprogram_id'))
        batch_op.drop_index('ix_wxminiprogram_audit_appid_create_time')

    op.drop_table('wxminiprogram_audit')
    with op.batch_alter_table('activity_log', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_log_tenant_id_created_at')
        batch_op.drop_index(batch_op.f('ix_activity_log_miniprogram_id'))
        batch_op.drop_index(batch_op.f('ix_activity_log_created_at'))

    op.drop_table('activity_log')
    with op.batch_alter_table('wxminiprograms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wxminiprograms_uid'))
        batch_op.drop_index(batch_op.f('ix_wxminiprograms_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_wxminiprograms_auth_state'))

    op.drop_table('wxminiprograms')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_tenant_id'))

    op.drop_table('users')
    op.drop_table('weixin_account')
    op.drop_table('tenants')
