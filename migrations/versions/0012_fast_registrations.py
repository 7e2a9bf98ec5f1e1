"""fast_registrations: mini-programs WeChat registers for a tenant that has none (快速注册), enterprise or
personal, with their state until the `notify_third_fasteregister` push binds the new mini-program.

A table of its own: a registration has no appid until it succeeds, and one that fails never gets one, so
it cannot be a wxminiprograms row. The submitted details (company code, the legal person's or the person's
WeChat id and name, contact phone, the personal task's authorize_url) are sealed in `details`, bound to the
random `ref`; `name` stays plain because the push is matched by it. New table only: nothing existing changes.

Revision ID: 0012_fast_registrations
Revises: 0011_history_tenant_sealed_note
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_fast_registrations'
down_revision = '0011_history_tenant_sealed_note'
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table('fast_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('taskid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('failure', sa.String(length=500), nullable=True),
    sa.Column('authorizer_appid', sa.String(length=45), nullable=True),
    sa.Column('miniprogram_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fast_registrations_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'],
                            name=op.f('fk_fast_registrations_miniprogram_id_wxminiprograms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_fast_registrations_created_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fast_registrations')),
    sa.UniqueConstraint('ref', name=op.f('uq_fast_registrations_ref')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_fast_registrations_tenant_id'), 'fast_registrations', ['tenant_id'])
    op.create_index(op.f('ix_fast_registrations_name'), 'fast_registrations', ['name'])
    op.create_index(op.f('ix_fast_registrations_taskid'), 'fast_registrations', ['taskid'])


def downgrade():
    op.drop_table('fast_registrations')
