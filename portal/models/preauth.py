"""Pre-auth codes the portal issued, and for whom: lets an authorization that arrives only by push
(the merchant's browser never came back) be bound to the right tenant. Codes are stored hashed."""

from portal.extensions import db
from portal.timeutil import utcnow


class PreAuthSession(db.Model):
    __tablename__ = "preauth_sessions"

    id = db.Column(db.Integer, primary_key=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)
    completed_appid = db.Column(db.String(45))
