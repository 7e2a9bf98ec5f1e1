"""Tenant parameters: what merchants may edit, and per-mini-program domains and privacy guideline.

- tenant_settings.merchant_edits_ext / merchant_edits_domains / merchant_edits_privacy: staff decide, per
  tenant, which parts of the code-management settings (ext.json parameters with requiredPrivateInfos, the
  default server/business domains, the privacy guideline) its merchant users may change themselves. All three
  default to allowed, which is what every tenant could do before this revision, so no merchant loses an edit
  they had; staff take a part away per tenant on the tenant's settings page. Staff always edit every part.
- miniprogram_params.domains / miniprogram_params.privacy: one mini-program's own server/business domains
  (per kind) and privacy guideline (contact, notice method, texts per key) that win over its tenant's, as
  JSON text like the tenant's columns.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PERMISSIONS = ("merchant_edits_ext", "merchant_edits_domains", "merchant_edits_privacy")


def upgrade():
    with op.batch_alter_table('tenant_settings') as batch:
        for name in PERMISSIONS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('miniprogram_params') as batch:
        batch.add_column(sa.Column('domains', sa.Text(), nullable=True))
        batch.add_column(sa.Column('privacy', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('miniprogram_params') as batch:
        batch.drop_column('privacy')
        batch.drop_column('domains')
    with op.batch_alter_table('tenant_settings') as batch:
        for name in reversed(PERMISSIONS):
            batch.drop_column(name)
