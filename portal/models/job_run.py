"""Background work the UI can follow: one row per requested job (commit, submit audit, release).

The row is the job's public face (microblog's `Task`): `state` and `message` are what the pages poll.
`active_key` is set to the job's deterministic key while the job is queued or running and cleared when it
ends; a unique index on it makes a double click (or two racing requests) create one job, not two, on
SQLite and MySQL alike (both allow many NULLs in a unique index).

Parameters that are secrets (the reviewers' note of a submission, which often holds a test account and its
password) are kept apart from `params`, sealed (`secret_params`, see portal.models.types), bound to `ref`: a
random key given to each run before its INSERT, since the id is not known before it.
"""

import json
import secrets

from portal.extensions import db
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_RETRYING = "retrying"
JOB_DONE = "done"
JOB_FAILED = "failed"
ACTIVE_STATES = (JOB_QUEUED, JOB_RUNNING, JOB_RETRYING)


class JobRun(db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (db.Index("ix_job_runs_miniprogram_id_created_at", "miniprogram_id", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(32), nullable=False)  # commit, submit_audit, release
    key = db.Column(db.String(191), nullable=False)
    active_key = db.Column(db.String(191), unique=True)  # = key while queued/running, else NULL
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), index=True)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    on_behalf = db.Column(db.Boolean, nullable=False, default=False)
    state = db.Column(db.String(16), nullable=False, default=JOB_QUEUED)
    step = db.Column(db.String(32))  # where a running job is; "submitting" = a remote call may have happened
    attempts = db.Column(db.Integer, nullable=False, default=0)
    params = db.Column(db.Text)  # JSON of the form's values, less the secret ones
    ref = db.Column(db.String(32), unique=True)  # the row key secret_params is bound to (NULL: older rows)
    _secret_params = db.Column("secret_params", SealedText)
    secret_params = Sealed(row_key="ref")  # JSON of the secret values
    result = db.Column(db.Text)  # JSON of the outcome (auditid, version...)
    message = db.Column(db.Text)  # what the user reads (the human WeChat error on failure)
    errcode = db.Column(db.Integer)
    rq_job_id = db.Column(db.String(200))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)

    miniprogram = db.relationship("MiniProgram")
    actor = db.relationship("User")

    def __init__(self, **kwargs):
        kwargs.setdefault("ref", secrets.token_hex(16))
        super().__init__(**kwargs)

    @property
    def is_active(self):
        return self.state in ACTIVE_STATES

    def get_params(self):
        """The job's parameters, the secret ones included."""
        return {**json.loads(self.params or "{}"), **json.loads(self.secret_params or "{}")}

    def get_result(self):
        return json.loads(self.result or "{}")
