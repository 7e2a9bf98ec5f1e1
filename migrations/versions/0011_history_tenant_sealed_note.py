"""history_tenant_sealed_note: audits and code uploads record the tenant they were made for, and the
reviewers' note of single-app submissions and fleet releases is sealed apart from their plain parameters.

`wxminiprogram_audit.tenant_id` and `wxminiprogram_commits.tenant_id` keep an app's history with the tenant
that made it when staff move the app to another one (job runs and the activity log already record it).
Existing rows are filled from their app's current tenant: no move was recorded on them before this, and an
app moved earlier had its whole history shown to its new tenant already, so this changes nothing that
tenant saw; only rows written from now on stay behind.

`job_runs.ref` and `fleet_releases.ref` are random keys given to each row before its INSERT, the row keys
`secret_params` and `secret_options` are bound to (portal.secretbox). Older rows have none; the reviewers'
note is removed from the plain `params` of finished runs and the `options` of finished or cancelled fleet
releases (a migration has no data key to seal it with, and none of them submits again). A run or release
still active keeps it there until it ends, and reads it from there.

Revision ID: 0011_history_tenant_sealed_note
Revises: 0010_user_timezone
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0011_history_tenant_sealed_note'
down_revision = '0010_user_timezone'
branch_labels = None
depends_on = None

HISTORY = ('wxminiprogram_audit', 'wxminiprogram_commits')


def upgrade():
    for table in HISTORY:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('tenant_id', sa.Integer(), nullable=True))
            batch.create_index(batch.f(f'ix_{table}_tenant_id'), ['tenant_id'], unique=False)
            batch.create_foreign_key(batch.f(f'fk_{table}_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'])
        op.execute(f"UPDATE {table} SET tenant_id = (SELECT wxminiprograms.tenant_id FROM wxminiprograms "
                   f"WHERE wxminiprograms.id = {table}.miniprogram_id)")
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('ref', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('secret_params', sa.Text(), nullable=True))
        batch.create_unique_constraint(batch.f('uq_job_runs_ref'), ['ref'])
    with op.batch_alter_table('fleet_releases') as batch:
        batch.add_column(sa.Column('ref', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('secret_options', sa.Text(), nullable=True))
        batch.create_unique_constraint(batch.f('uq_fleet_releases_ref'), ['ref'])
    _strip_finished_notes('job_runs', 'params', ('done', 'failed'))
    _strip_finished_notes('fleet_releases', 'options', ('finished', 'cancelled'))


def _strip_finished_notes(name, column, final_states):
    rows_of = sa.table(name, sa.column('id', sa.Integer), sa.column('state', sa.String), sa.column(column, sa.Text))
    values_of = rows_of.c[column]
    connection = op.get_bind()
    rows = connection.execute(sa.select(rows_of.c.id, values_of).where(
        rows_of.c.state.in_(final_states), values_of.like('%version_desc%')))
    for row_id, text in rows.all():
        try:
            values = json.loads(text)
        except ValueError:
            continue
        values.pop('version_desc', None)
        connection.execute(sa.update(rows_of).where(rows_of.c.id == row_id)
                           .values({column: json.dumps(values, ensure_ascii=False)}))


def downgrade():
    with op.batch_alter_table('fleet_releases') as batch:
        batch.drop_constraint(batch.f('uq_fleet_releases_ref'), type_='unique')
        batch.drop_column('secret_options')
        batch.drop_column('ref')
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_constraint(batch.f('uq_job_runs_ref'), type_='unique')
        batch.drop_column('secret_params')
        batch.drop_column('ref')
    for table in reversed(HISTORY):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(batch.f(f'fk_{table}_tenant_id_tenants'), type_='foreignkey')
            batch.drop_index(batch.f(f'ix_{table}_tenant_id'))
            batch.drop_column('tenant_id')
