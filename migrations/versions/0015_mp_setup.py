"""mp_setup: `wxminiprogram_setup`, what the portal keeps about setting up a new mini-program.

WeChat answers a name that needs review with an audit id and never lists it again, and its result arrives
as a push (wxa_nickname_audit); the row keeps both, so the name's state can be shown and re-read with
api_wxa_querynickname. It also caches the setup checklist (name, avatar, introduction, category, privacy
guideline, domains, location APIs) last read from WeChat, so the overview does not call WeChat on every
view; a setup push marks it stale. No existing row changes.

Revision ID: 0015_mp_setup
Revises: 0014_official_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_mp_setup'
down_revision = '0014_official_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wxminiprogram_setup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('miniprogram_id', sa.Integer(), nullable=False),
        sa.Column('nickname_audit_id', sa.String(length=32), nullable=True),
        sa.Column('nickname_requested', sa.String(length=64), nullable=True),
        sa.Column('nickname_status', sa.SmallInteger(), nullable=True),
        sa.Column('nickname_reason', sa.Text(), nullable=True),
        sa.Column('checklist', sa.Text(), nullable=True),
        sa.Column('checked_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['miniprogram_id'], ['wxminiprograms.id'],
                                name=op.f('fk_wxminiprogram_setup_miniprogram_id_wxminiprograms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wxminiprogram_setup')),
        sa.UniqueConstraint('miniprogram_id', name=op.f('uq_wxminiprogram_setup_miniprogram_id')),
    )


def downgrade():
    op.drop_table('wxminiprogram_setup')
