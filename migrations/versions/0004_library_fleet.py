"""Template library and fleet release.

- wxa_templates: our record of each template in WeChat's library (gettemplatelist) with what WeChat does
  not keep: a changelog, notes and the ext_json keys the template expects with their types, which the
  fleet validates every mini-program's parameters against before a commit.
- miniprogram_params: ext parameters of one mini-program that override its tenant's (seed 004: every
  mini-program may need its own values).
- fleet_releases: one template rolled out to many mini-programs: who started it, how targets were picked,
  the options (auto-submit, auto-release, gray percentage, failure-rate stop, concurrency, canary), its
  state (running, paused, cancelling, cancelled, finished) and the cached submit quota (85085 guard).
- fleet_targets: one row per mini-program of a fleet release: its state in the per-app state machine,
  the step whose remote call may have happened (so a retry after a crash checks WeChat instead of
  committing or submitting twice), back-off time, audit id and the human reason of a failure. The
  (release_id, state) index serves the progress counts.
Tables are InnoDB with utf8mb4 on MySQL/MariaDB.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wxa_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=True),
    sa.Column('user_version', sa.String(length=64), nullable=True),
    sa.Column('user_desc', sa.String(length=255), nullable=True),
    sa.Column('template_type', sa.SmallInteger(), nullable=False),
    sa.Column('source_appid', sa.String(length=45), nullable=True),
    sa.Column('categories', sa.Text(), nullable=True),
    sa.Column('audit_status', sa.SmallInteger(), nullable=True),
    sa.Column('audit_reason', sa.Text(), nullable=True),
    sa.Column('wechat_created_at', sa.DateTime(), nullable=True),
    sa.Column('changelog', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('ext_schema', sa.Text(), nullable=True),
    sa.Column('is_deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wxa_templates')),
    sa.UniqueConstraint('template_id', name=op.f('uq_wxa_templates_template_id')),
    **TABLE_OPTIONS,
    )
    op.create_table('fleet_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('user_version', sa.String(length=64), nullable=False),
    sa.Column('user_desc', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('targeting', sa.Text(), nullable=True),
    sa.Column('options', sa.Text(), nullable=True),
    sa.Column('canary_passed', sa.Boolean(), nullable=False),
    sa.Column('stop_reason', sa.Text(), nullable=True),
    sa.Column('quota_rest', sa.Integer(), nullable=True),
    sa.Column('quota_checked_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_fleet_releases_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_releases')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('fleet_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fleet_releases_state'), ['state'], unique=False)

    op.create_table('miniprogram_params',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('ext_params', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'], name=op.f('fk_miniprogram_params_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_miniprogram_params_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_miniprogram_params')),
    sa.UniqueConstraint('miniprogram_id', name=op.f('uq_miniprogram_params_miniprogram_id')),
    **TABLE_OPTIONS,
    )
    op.create_table('fleet_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('miniprogram_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('appid', sa.String(length=45), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=True),
    sa.Column('is_canary', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('failed_step', sa.String(length=16), nullable=True),
    sa.Column('auditid', sa.String(length=45), nullable=True),
    sa.Column('not_before', sa.DateTime(), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('audit_result_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'], name=op.f('fk_fleet_targets_miniprogram_id_wxminiprograms')),
    sa.ForeignKeyConstraint(['release_id'], ['fleet_releases.id'], name=op.f('fk_fleet_targets_release_id_fleet_releases')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fleet_targets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fleet_targets')),
    sa.UniqueConstraint('release_id', 'miniprogram_id', name=op.f('uq_fleet_targets_release_id_miniprogram_id')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('fleet_targets', schema=None) as batch_op:
        batch_op.create_index('ix_fleet_targets_release_id_state', ['release_id', 'state'], unique=False)



def downgrade():
    with op.batch_alter_table('fleet_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_fleet_targets_release_id_state')

    op.drop_table('fleet_targets')
    op.drop_table('miniprogram_params')
    with op.batch_alter_table('fleet_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fleet_releases_state'))

    op.drop_table('fleet_releases')
    op.drop_table('wxa_templates')
