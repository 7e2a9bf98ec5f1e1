"""Per-tenant code-management settings: the ext.json parameters of its mini-programs (seed 004: different
admins, different parameters), default server/business domains (the seed's hard-coded `test.moh.cc`) and
the privacy guideline. Lists and maps are JSON text so a new key needs no migration."""

import json

from portal.extensions import db
from portal.timeutil import utcnow


class TenantSettings(db.Model):
    __tablename__ = "tenant_settings"

    id = db.Column(db.Integer, primary_key=True)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=False, unique=True)
    ext_params = db.Column(db.Text)  # JSON object merged into ext_json["ext"]
    required_private_infos = db.Column(db.Text)  # JSON list for ext_json["requiredPrivateInfos"]
    domains = db.Column(db.Text)  # JSON {requestdomain: [...], ..., webviewdomain: [...]}
    privacy = db.Column(db.Text)  # JSON {owner_setting: {...}, setting_list: [{privacy_key, privacy_text}]}
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = db.Column(db.Integer, db.ForeignKey("users.id"))

    def load(self, name, default):
        try:
            value = json.loads(getattr(self, name) or "null")
        except ValueError:
            return default
        return default if value is None else value

    def store(self, name, value):
        setattr(self, name, json.dumps(value, ensure_ascii=False, sort_keys=True))
