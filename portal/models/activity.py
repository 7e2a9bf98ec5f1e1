"""The activity log: who did what to which mini-program, when, and how it ended."""

from portal.extensions import db
from portal.timeutil import utcnow

OUTCOME_OK = "ok"
OUTCOME_FAILED = "failed"


class Activity(db.Model):
    __tablename__ = "activity_log"
    __table_args__ = (db.Index("ix_activity_log_tenant_id_created_at", "tenant_id", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"))  # NULL = the system (jobs, pushes)
    on_behalf = db.Column(db.Boolean, nullable=False, default=False)  # staff acting for a merchant
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"))
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), index=True)
    action = db.Column(db.String(64), nullable=False)
    outcome = db.Column(db.String(16), nullable=False, default=OUTCOME_OK)
    detail = db.Column(db.Text)

    actor = db.relationship("User")
    tenant = db.relationship("Tenant")
    miniprogram = db.relationship("MiniProgram")
