"""page_indexes: the staff code list's default order (newest authorization first) read from an index.

Sorted by create_time, every page of the list sorted all mini-programs first, and a deep page then walked
thousands of full rows to its offset. With an index on (create_time, id) the page's ids are read from the
index alone, at 10,000 mini-programs as at 100, and only the page's own rows are loaded.

Revision ID: 0018_page_indexes
Revises: 0017_push_forwarding
"""
from alembic import op

revision = '0018_page_indexes'
down_revision = '0017_push_forwarding'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.create_index('ix_wxminiprograms_create_time_id', ['create_time', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('wxminiprograms') as batch:
        batch.drop_index('ix_wxminiprograms_create_time_id')
