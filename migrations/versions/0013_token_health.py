"""token_health: what the staff pages on drift and token health read.

`authorizer_syncs` keeps one row per reconciliation with api_get_authorizer_list (nightly or started by
staff): its state and progress, which the report page polls, and its counts. `active_key` is set while a
sync is queued or running and cleared when it ends; its unique index lets one sync run at a time, as
`job_runs.active_key` does (SQLite and MySQL both allow many NULLs in a unique index). A table of its own
rather than `job_runs`: a run there belongs to one mini-program, a sync to the whole platform.

`authorizer_sync_findings` keeps what a sync found, one row per account: listed by WeChat but unknown
here, no longer listed (then marked unauthorized), or with other permission sets than stored (the sets
added and removed, as JSON lists of ids). The app's page reads its latest permission change from here.

`wxminiprograms.token_refreshed_at`, `token_refresh_ok` and `token_refresh_result` record the outcome of
the last api_authorizer_token call for the app (the result in words, JSON per language; never a token),
so the token health page can sort apps whose refresh failed first. `permissions_checked_at` is when a sync
last read the app's func_info: a sync checks within a time budget, the apps checked longest ago first.
Existing rows start with none.

Revision ID: 0013_token_health
Revises: 0012_fast_registrations
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_token_health'
down_revision = '0012_fast_registrations'
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade():
    op.create_table('authorizer_syncs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('active_key', sa.String(length=32), nullable=True),
    sa.Column('step', sa.String(length=16), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('listed', sa.Integer(), nullable=True),
    sa.Column('tokens_saved', sa.Integer(), nullable=True),
    sa.Column('unknown_count', sa.Integer(), nullable=True),
    sa.Column('lost_count', sa.Integer(), nullable=True),
    sa.Column('changed_count', sa.Integer(), nullable=True),
    sa.Column('unchecked_count', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_authorizer_syncs_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorizer_syncs')),
    sa.UniqueConstraint('active_key', name=op.f('uq_authorizer_syncs_active_key')),
    **TABLE_OPTIONS,
    )
    op.create_table('authorizer_sync_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sync_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('authorizer_appid', sa.String(length=45), nullable=False),
    sa.Column('miniprogram_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('added', sa.String(length=255), nullable=True),
    sa.Column('removed', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sync_id'], ['authorizer_syncs.id'],
                            name=op.f('fk_authorizer_sync_findings_sync_id_authorizer_syncs')),
    sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'],
                            name=op.f('fk_authorizer_sync_findings_miniprogram_id_wxminiprograms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorizer_sync_findings')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_authorizer_sync_findings_sync_id'), 'authorizer_sync_findings', ['sync_id'])
    op.create_index('ix_authorizer_sync_findings_miniprogram_id_kind', 'authorizer_sync_findings',
                    ['miniprogram_id', 'kind'])
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.add_column(sa.Column('token_refreshed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('token_refresh_ok', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('token_refresh_result', sa.Text(), nullable=True))
        batch.add_column(sa.Column('permissions_checked_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.drop_column('permissions_checked_at')
        batch.drop_column('token_refresh_result')
        batch.drop_column('token_refresh_ok')
        batch.drop_column('token_refreshed_at')
    op.drop_index('ix_authorizer_sync_findings_miniprogram_id_kind', table_name='authorizer_sync_findings')
    op.drop_index(op.f('ix_authorizer_sync_findings_sync_id'), table_name='authorizer_sync_findings')
    op.drop_table('authorizer_sync_findings')
    op.drop_table('authorizer_syncs')
