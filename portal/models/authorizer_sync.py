"""Reconciliations with WeChat's authorizer list (api_get_authorizer_list) and what each found.

An `AuthorizerSync` is one run, nightly or started by staff: its state and progress (what the report page
polls) and its counts. `active_key` holds `ACTIVE_KEY` while the run is queued or running and NULL after;
its unique index lets one sync run at a time. An `AuthorizerSyncFinding` is one account the run found
drifted: listed by WeChat but unknown here, no longer listed (then marked unauthorized here), or with
other permission sets than stored (the ids added and removed).
"""

import json

from portal.extensions import db
from portal.timeutil import utcnow

ACTIVE_KEY = "authorizer-sync"
ORIGIN_SCHEDULED, ORIGIN_STAFF, ORIGIN_COMMAND = "scheduled", "staff", "command"
SYNC_QUEUED, SYNC_RUNNING, SYNC_DONE, SYNC_FAILED = "queued", "running", "done", "failed"
STEP_LISTING, STEP_CHECKING = "listing", "checking"
FOUND_UNKNOWN, FOUND_LOST, FOUND_PERMISSIONS = "unknown", "lost", "permissions"


class AuthorizerSync(db.Model):
    __tablename__ = "authorizer_syncs"

    id = db.Column(db.Integer, primary_key=True)
    origin = db.Column(db.String(16), nullable=False)  # scheduled, staff or command (the CLI)
    actor_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    state = db.Column(db.String(16), nullable=False, default=SYNC_QUEUED)
    active_key = db.Column(db.String(32), unique=True)
    step = db.Column(db.String(16))  # listing: reading the list's pages; checking: api_get_authorizer_info
    progress_done = db.Column(db.Integer, nullable=False, default=0)
    progress_total = db.Column(db.Integer, nullable=False, default=0)
    listed = db.Column(db.Integer)
    tokens_saved = db.Column(db.Integer)  # refresh tokens that differed from the stored one
    unknown_count = db.Column(db.Integer)
    lost_count = db.Column(db.Integer)
    changed_count = db.Column(db.Integer)
    unchecked_count = db.Column(db.Integer)  # apps whose permission sets WeChat did not answer for
    message = db.Column(db.Text)  # JSON {lang: text}: why the run failed
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    started_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)

    actor = db.relationship("User")

    @property
    def is_active(self):
        return self.state in (SYNC_QUEUED, SYNC_RUNNING)


class AuthorizerSyncFinding(db.Model):
    __tablename__ = "authorizer_sync_findings"
    __table_args__ = (db.Index("ix_authorizer_sync_findings_miniprogram_id_kind", "miniprogram_id", "kind"),)

    id = db.Column(db.Integer, primary_key=True)
    sync_id = db.Column(db.Integer, db.ForeignKey("authorizer_syncs.id"), nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False)
    authorizer_appid = db.Column(db.String(45), nullable=False)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"))
    name = db.Column(db.String(64))  # the account's name when found
    added = db.Column(db.String(255))  # JSON list of permission-set ids
    removed = db.Column(db.String(255))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def added_ids(self):
        return json.loads(self.added or "[]")

    @property
    def removed_ids(self):
        return json.loads(self.removed or "[]")

    @property
    def display_name(self):
        return self.name or self.authorizer_appid
