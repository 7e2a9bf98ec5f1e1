"""session_generation: a counter per user that every login session records; bumping it (logout, a password
change, disabling or re-inviting the user) ends all of that user's sessions, on every device.

Revision ID: 0009_session_generation
Revises: 0008_unclaimed_authorizers
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_session_generation'
down_revision = '0008_unclaimed_authorizers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_generation')
