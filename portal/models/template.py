"""The platform's template library as we know it: one row per WeChat template (gettemplatelist) plus our
own notes (changelog, the ext_json keys it expects and their types), and per-mini-program ext overrides.

`ext_schema` is JSON {key: {"type": "string"|"integer"|"number"|"boolean", "required": bool}}; the fleet
validates every mini-program's ext parameters against it before a commit.
"""

import json

from portal.extensions import db
from portal.models.mixins import JsonText, Timestamps
from portal.timeutil import utcnow

EXT_TYPES = ("string", "integer", "number", "boolean")


class LibraryTemplate(Timestamps, db.Model):
    __tablename__ = "wxa_templates"

    id = db.Column(db.Integer, primary_key=True)
    template_id = db.Column(db.Integer, nullable=False, unique=True)
    draft_id = db.Column(db.Integer)
    user_version = db.Column(db.String(64))
    user_desc = db.Column(db.String(255))
    template_type = db.Column(db.SmallInteger, nullable=False, default=0)  # 0 normal, 1 standard
    source_appid = db.Column(db.String(45))
    categories = db.Column(db.Text)  # JSON category_list from gettemplatelist
    audit_status = db.Column(db.SmallInteger)  # standard templates only
    audit_reason = db.Column(db.Text)
    wechat_created_at = db.Column(db.DateTime)
    changelog = db.Column(db.Text)
    notes = db.Column(db.Text)
    ext_schema = db.Column(db.Text)
    is_deleted = db.Column(db.Boolean, nullable=False, default=False)  # gone from WeChat's library

    def schema(self):
        try:
            value = json.loads(self.ext_schema or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def category_list(self):
        try:
            return json.loads(self.categories or "[]")
        except ValueError:
            return []


class MiniProgramParams(JsonText, db.Model):
    """Parameters of one mini-program that win over its tenant's (`tenant_settings`): ext values per key,
    server/business domains per kind, the privacy guideline (contact and notice method as a whole, texts
    per key). JSON text; an empty or missing part means "the tenant's"."""

    __tablename__ = "miniprogram_params"

    id = db.Column(db.Integer, primary_key=True)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False, unique=True)
    ext_params = db.Column(db.Text)
    domains = db.Column(db.Text)  # JSON {requestdomain: [...], ..., webviewdomain: [...]}
    privacy = db.Column(db.Text)  # JSON {owner_setting: {...}, texts: {key: text}}
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = db.Column(db.Integer, db.ForeignKey("users.id"))
