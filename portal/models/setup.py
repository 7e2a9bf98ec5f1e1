"""What the portal remembers about setting up a mini-program (`wxminiprogram_setup`, one row per app).

WeChat is the authority on the name, avatar, introduction, categories and location-API permissions; the
portal keeps only what WeChat will not tell it again: the name audit's id (api_wxa_querynickname needs it)
with the outcome its push brought, and the last setup checklist read from WeChat, so the overview need
not ask WeChat on every view. `checked_at` None means a push changed something since: read again.
"""

import json

from portal.extensions import db
from portal.timeutil import utcnow


class MiniProgramSetup(db.Model):
    __tablename__ = "wxminiprogram_setup"

    id = db.Column(db.Integer, primary_key=True)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False, unique=True)
    nickname_audit_id = db.Column(db.String(32))
    nickname_requested = db.Column(db.String(64))
    nickname_status = db.Column(db.SmallInteger)  # 1 in review, 2 rejected, 3 approved (querynickname)
    nickname_reason = db.Column(db.Text)
    checklist = db.Column(db.Text)  # JSON: {item: {"ok": bool, "detail": str}}
    checked_at = db.Column(db.DateTime)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def load_checklist(self):
        try:
            return json.loads(self.checklist or "{}")
        except ValueError:
            return {}
