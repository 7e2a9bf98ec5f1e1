"""Code management: background jobs the UI follows, code uploads, testers, tenant settings, WeChat call log.

- job_runs: one row per requested commit / submit-audit / release job. Pages poll it for the job's state
  and message; `active_key` (unique, NULL once the job ends) makes a double click enqueue one job; `step`
  and `attempts` let a retried or recovered job know a remote call may already have happened (a submit
  retried after a crash checks get_latest_auditstatus instead of submitting twice).
- wxminiprogram_commits: each /wxa/commit made through the portal (template, user_version, user_desc,
  ext_json): getversioninfo does not say which template or ext_json built the trial version, and the
  audit row records them.
- wxminiprogram_testers: WeChat id -> userstr of testers bound through the portal, because memberauth
  lists only userstr.
- tenant_settings: per-tenant ext.json parameters, requiredPrivateInfos, default domains (the seed's
  hard-coded `test.moh.cc`) and the privacy guideline, as JSON text so new keys need no migration.
- wechat_calls: the call log staff filter (API, appid, errcode, HTTP status, latency; never tokens).
Tables are InnoDB with utf8mb4 on MySQL/MariaDB.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=191), nullable=False),
    sa.Column('active_key', sa.String(length=191), nullable=True),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('params', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('rq_job_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'], name=op.f('fk_job_runs_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_job_runs_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_job_runs_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('active_key', name=op.f('uq_job_runs_active_key')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_miniprogram_id_created_at', ['miniprogram_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_runs_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('wxminiprogram_commits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('user_version', sa.String(length=64), nullable=False),
    sa.Column('user_desc', sa.String(length=255), nullable=True),
    sa.Column('ext_json', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'],
                            name=op.f('fk_wxminiprogram_commits_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_wxminiprogram_commits_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxminiprogram_commits')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wxminiprogram_commits', schema=None) as batch_op:
        batch_op.create_index('ix_wxminiprogram_commits_miniprogram_id_created_at', ['miniprogram_id', 'created_at'],
                              unique=False)

    op.create_table('wxminiprogram_testers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('wechatid', sa.String(length=64), nullable=False),
    sa.Column('userstr', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'],
                            name=op.f('fk_wxminiprogram_testers_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_wxminiprogram_testers_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxminiprogram_testers')),
    sa.UniqueConstraint('miniprogram_id', 'userstr', name=op.f('uq_wxminiprogram_testers_miniprogram_id_userstr')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wxminiprogram_testers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wxminiprogram_testers_miniprogram_id'), ['miniprogram_id'], unique=False)

    op.create_table('tenant_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('ext_params', sa.Text(), nullable=True),
    sa.Column('required_private_infos', sa.Text(), nullable=True),
    sa.Column('domains', sa.Text(), nullable=True),
    sa.Column('privacy', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_settings_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_tenant_settings_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_settings')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_tenant_settings_tenant_id')),
    **TABLE_OPTIONS,
    )

    op.create_table('wechat_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('api', sa.String(length=64), nullable=False),
    sa.Column('appid', sa.String(length=45), nullable=True),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_calls')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('wechat_calls', schema=None) as batch_op:
        batch_op.create_index('ix_wechat_calls_appid_created_at', ['appid', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_calls_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('wechat_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_calls_created_at'))
        batch_op.drop_index('ix_wechat_calls_appid_created_at')
    op.drop_table('wechat_calls')
    op.drop_table('tenant_settings')
    with op.batch_alter_table('wxminiprogram_testers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wxminiprogram_testers_miniprogram_id'))
    op.drop_table('wxminiprogram_testers')
    with op.batch_alter_table('wxminiprogram_commits', schema=None) as batch_op:
        batch_op.drop_index('ix_wxminiprogram_commits_miniprogram_id_created_at')
    op.drop_table('wxminiprogram_commits')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_tenant_id'))
        batch_op.drop_index('ix_job_runs_miniprogram_id_created_at')
    op.drop_table('job_runs')
