"""Indexes for staff lists at fleet scale (10,000 mini-programs, 200,000 audits).

- ix_wxminiprogram_audit_mp_release_id (miniprogram_id, is_release, id): each mini-program's newest
  released audit (MAX(id) ... WHERE is_release GROUP BY miniprogram_id) from the index alone; the staff
  code list filters by released version and template through it.
- ix_wxminiprogram_audit_release_version (is_release, user_version, template_id): the list of released
  versions and templates offered as filters, read from the index instead of every audit row.
No column changes.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wxminiprogram_audit', schema=None) as batch_op:
        batch_op.create_index('ix_wxminiprogram_audit_mp_release_id', ['miniprogram_id', 'is_release', 'id'],
                              unique=False)
        batch_op.create_index('ix_wxminiprogram_audit_release_version', ['is_release', 'user_version', 'template_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('wxminiprogram_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_wxminiprogram_audit_release_version')
        batch_op.drop_index('ix_wxminiprogram_audit_mp_release_id')
