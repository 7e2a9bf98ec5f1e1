"""Code uploads (/wxa/commit) made through the portal: what the development (trial) version holds.

WeChat's getversioninfo tells only the user_version and time of the trial version; this row adds which
template and which ext_json produced it, so an audit can record them (`wxminiprogram_audit` columns).
"""

from portal.extensions import db
from portal.timeutil import utcnow


class CodeCommit(db.Model):
    __tablename__ = "wxminiprogram_commits"
    __table_args__ = (db.Index("ix_wxminiprogram_commits_miniprogram_id_created_at", "miniprogram_id", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False)
    # the app's tenant at the upload (its ext_json holds that tenant's parameters): kept when the app moves
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), index=True)
    template_id = db.Column(db.Integer, nullable=False)
    user_version = db.Column(db.String(64), nullable=False)
    user_desc = db.Column(db.String(255))
    ext_json = db.Column(db.Text)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
