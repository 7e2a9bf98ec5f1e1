"""Server-domain changes counted per mini-program and month.

WeChat allows 50 server-domain change requests (modify_domain / modify_domain_directly: add, delete or set)
per mini-program per calendar month ("每月可提交修改申请50次") and refuses the next with 86102 until the month
ends. The portal used to send a `set` after every upload and before every audit, so a busy app could spend
the month's allowance in days. It now sends one only when the domains differ, counts what it sends, shows
the count on the domains page and refuses before WeChat does.

- wxminiprograms.domain_changes_month: the Beijing-time month ("2026-12") the count belongs to; a count
  from an earlier month reads as 0, so nothing has to reset it.
- wxminiprograms.domain_changes: change requests the portal sent in that month. 0 for existing rows: the
  portal did not count before, so the first month's figure may be low (WeChat's 86102 then sets it to 50).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.add_column(sa.Column('domain_changes_month', sa.String(7), nullable=True))
        batch.add_column(sa.Column('domain_changes', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.drop_column('domain_changes')
        batch.drop_column('domain_changes_month')
