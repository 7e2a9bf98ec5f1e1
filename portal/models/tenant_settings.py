"""Per-tenant code-management settings: the ext.json parameters of its mini-programs (seed 004: different
admins, different parameters), default server/business domains (the seed's hard-coded `test.moh.cc`) and
the privacy guideline. Lists and maps are JSON text so a new key needs no migration."""

from portal.extensions import db
from portal.models.mixins import JsonText
from portal.timeutil import utcnow


class TenantSettings(JsonText, db.Model):
    __tablename__ = "tenant_settings"

    id = db.Column(db.Integer, primary_key=True)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=False, unique=True)
    ext_params = db.Column(db.Text)  # JSON object merged into ext_json["ext"]
    required_private_infos = db.Column(db.Text)  # JSON list for ext_json["requiredPrivateInfos"]
    domains = db.Column(db.Text)  # JSON {requestdomain: [...], ..., webviewdomain: [...]}
    privacy = db.Column(db.Text)  # JSON {owner_setting: {...}, setting_list: [{privacy_key, privacy_text}]}
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    # what this tenant's merchant users may edit themselves (staff always may; see migration 0006)
    merchant_edits_ext = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    merchant_edits_domains = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())
    merchant_edits_privacy = db.Column(db.Boolean, nullable=False, default=True, server_default=db.true())

    def merchant_may_edit(self, part):
        """Whether merchant users may edit `part` ("ext", "domains" or "privacy"); unsaved rows allow all."""
        value = getattr(self, f"merchant_edits_{part}")
        return True if value is None else bool(value)

