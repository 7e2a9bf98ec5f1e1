"""Code audits submitted for a mini-program: the seeds' `wxminiprogram_audit` with seed 003's columns.

`status` follows WeChat's enum (0 approved, 1 rejected, 2 in review, 3 withdrawn, 4 delayed), not the
seed's "3 = submitted" default, which clashes with WeChat's 3 = withdrawn.
"""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.timeutil import utcnow

AUDIT_APPROVED = 0
AUDIT_REJECTED = 1
AUDIT_IN_REVIEW = 2
AUDIT_WITHDRAWN = 3
AUDIT_DELAYED = 4
OPEN_AUDIT_STATUSES = (AUDIT_IN_REVIEW, AUDIT_DELAYED)

# What a status reads as and the badge class it wears, for every page that shows one (`audit_status` in
# templating.py). Lazy labels: they are translated when rendered, in the reader's language.
AUDIT_STATUSES = {
    AUDIT_APPROVED: (_l("Approved"), "authorized"),
    AUDIT_REJECTED: (_l("Rejected"), "unauthorized"),
    AUDIT_IN_REVIEW: (_l("In review"), "info"),
    AUDIT_WITHDRAWN: (_l("Withdrawn"), "muted"),
    AUDIT_DELAYED: (_l("Delayed"), "needs_reauth"),
}


class Audit(db.Model):
    __tablename__ = "wxminiprogram_audit"
    __table_args__ = (
        db.Index("ix_wxminiprogram_audit_appid_create_time", "appid", "create_time"),
        db.UniqueConstraint("appid", "auditid"),
        # staff lists at fleet scale (migration 0005): newest released audit per app, released versions
        db.Index("ix_wxminiprogram_audit_mp_release_id", "miniprogram_id", "is_release", "id"),
        db.Index("ix_wxminiprogram_audit_release_version", "is_release", "user_version", "template_id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    appid = db.Column(db.String(45), nullable=False)
    auditid = db.Column(db.String(45), nullable=False)
    status = db.Column(db.SmallInteger, nullable=False, default=AUDIT_IN_REVIEW)
    reason = db.Column(db.Text)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)  # 提交审核时间

    template_id = db.Column(db.Integer)
    user_version = db.Column(db.String(64))
    user_desc = db.Column(db.String(255))
    ext_json = db.Column(db.Text)
    screenshot = db.Column(db.Text)
    is_release = db.Column(db.Boolean, nullable=False, default=False)
    release_time = db.Column(db.DateTime)
    auditresult_time = db.Column(db.DateTime)
    update_time = db.Column(db.DateTime, default=utcnow, onupdate=utcnow)

    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False, index=True)
    # the app's tenant when the audit was submitted: history stays with it when staff move the app
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), index=True)
    submitted_by = db.Column(db.Integer, db.ForeignKey("users.id"))

    miniprogram = db.relationship("MiniProgram")

    @property
    def is_open(self):
        return self.status in OPEN_AUDIT_STATUSES

    @property
    def is_approved(self):
        return self.status == AUDIT_APPROVED
