"""Fleet releases: one template rolled out to many mini-programs, each target moving through an explicit
state machine persisted here so any worker can pick up where another stopped.

Target states: queued → committing → committed → privacy (waiting for WeChat's scan) → submitting →
in_audit → approved / rejected / delayed → releasing → released; or failed (step, errcode, reason),
skipped (already on this version, not authorized, an audit already open) or cancelled.
"committing", "submitting" and "releasing" are in flight (a step job owns the target and holds one of
the release's concurrency slots); the others wait for the coordinator, for WeChat, or are final.
"""

import json
import secrets

from portal.extensions import db
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

QUEUED, COMMITTING, COMMITTED, PRIVACY, SUBMITTING = "queued", "committing", "committed", "privacy", "submitting"
IN_AUDIT, APPROVED, REJECTED, DELAYED = "in_audit", "approved", "rejected", "delayed"
RELEASING, RELEASED, FAILED, SKIPPED, CANCELLED = "releasing", "released", "failed", "skipped", "cancelled"
TARGET_STATES = (QUEUED, COMMITTING, COMMITTED, PRIVACY, SUBMITTING, IN_AUDIT, DELAYED, APPROVED, RELEASING,
                 RELEASED, REJECTED, FAILED, SKIPPED, CANCELLED)
IN_FLIGHT = (COMMITTING, SUBMITTING, RELEASING)
FINAL = (RELEASED, REJECTED, FAILED, SKIPPED, CANCELLED)

RUNNING, PAUSED, CANCELLING, CANCELLED_RELEASE, FINISHED = "running", "paused", "cancelling", "cancelled", "finished"
RELEASE_STATES = (RUNNING, PAUSED, CANCELLING, CANCELLED_RELEASE, FINISHED)
ACTIVE_RELEASE = (RUNNING, PAUSED, CANCELLING)  # may still run steps
# options kept sealed, never in the plain `options`: the reviewers' note often holds a test account and password
SECRET_OPTIONS = ("version_desc",)


class FleetRelease(db.Model):
    __tablename__ = "fleet_releases"

    id = db.Column(db.Integer, primary_key=True)
    template_id = db.Column(db.Integer, nullable=False)
    user_version = db.Column(db.String(64), nullable=False)
    user_desc = db.Column(db.String(255))
    state = db.Column(db.String(16), nullable=False, default=RUNNING, index=True)
    targeting = db.Column(db.Text)  # JSON: how the targets were chosen (for the report)
    options = db.Column(db.Text)  # JSON: auto_submit, auto_release, gray_percentage, max_failure_rate, ...
    ref = db.Column(db.String(32), unique=True)  # the row key secret_options is bound to (NULL: older rows)
    _secret_options = db.Column("secret_options", SealedText)
    secret_options = Sealed(row_key="ref")  # JSON of SECRET_OPTIONS
    canary_passed = db.Column(db.Boolean, nullable=False, default=True)
    stop_reason = db.Column(db.Text)  # why it paused by itself (failure rate, quota, canary)
    quota_rest = db.Column(db.Integer)  # queryquota's `rest`, less submissions then handed out but unsent, and since
    quota_checked_at = db.Column(db.DateTime)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)

    creator = db.relationship("User")

    def __init__(self, **kwargs):
        kwargs.setdefault("ref", secrets.token_hex(16))
        super().__init__(**kwargs)

    def get_options(self):
        """Every option, the sealed ones included."""
        return {**json.loads(self.options or "{}"), **json.loads(self.secret_options or "{}")}

    def set_options(self, opts):
        """Store `opts`: SECRET_OPTIONS sealed, the rest as plain JSON."""
        secret = {k: v for k, v in opts.items() if k in SECRET_OPTIONS and v}
        self.options = json.dumps({k: v for k, v in opts.items() if k not in SECRET_OPTIONS})
        self.secret_options = json.dumps(secret, ensure_ascii=False) if secret else None

    def get_targeting(self):
        return json.loads(self.targeting or "{}")

    @property
    def is_active(self):
        return self.state in ACTIVE_RELEASE


class FleetTarget(db.Model):
    __tablename__ = "fleet_targets"
    __table_args__ = (db.UniqueConstraint("release_id", "miniprogram_id"),
                      db.Index("ix_fleet_targets_release_id_state", "release_id", "state"))

    id = db.Column(db.Integer, primary_key=True)
    release_id = db.Column(db.Integer, db.ForeignKey("fleet_releases.id"), nullable=False)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"))
    appid = db.Column(db.String(45), nullable=False)
    state = db.Column(db.String(16), nullable=False, default=QUEUED)
    step = db.Column(db.String(32))  # "commit_sent" etc.: a remote call may have happened; the retry checks first
    is_canary = db.Column(db.Boolean, nullable=False, default=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)  # step dispatches; a job runs only its own
    retries = db.Column(db.Integer, nullable=False, default=0)  # transient failures so far (back-off, give up)
    errcode = db.Column(db.Integer)
    reason = db.Column(db.Text)  # human text for failed / skipped / rejected
    failed_step = db.Column(db.String(16))
    auditid = db.Column(db.String(45))
    not_before = db.Column(db.DateTime)  # back-off: the coordinator waits until then
    dispatched_at = db.Column(db.DateTime)  # when the current step job was handed out (stale = lost worker)
    submitted_at = db.Column(db.DateTime)
    audit_result_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    miniprogram = db.relationship("MiniProgram")

    @property
    def is_final(self):
        return self.state in FINAL
