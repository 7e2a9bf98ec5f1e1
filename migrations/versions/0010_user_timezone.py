"""user_timezone: the zone a user reads times in (an IANA name such as Asia/Shanghai).

NULL means the platform's DEFAULT_TIMEZONE, so existing users keep following the platform until they choose.

Revision ID: 0010_user_timezone
Revises: 0009_session_generation
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_user_timezone'
down_revision = '0009_session_generation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('timezone')
