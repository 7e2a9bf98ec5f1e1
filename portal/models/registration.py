"""Fast registrations (快速注册): a mini-program WeChat creates for a tenant that has none, from an enterprise's
details (confirmed by its legal person) or a person's (confirmed on the task's authorization page).

The submitted details (company code, the legal person's or the person's WeChat id and name, contact phone)
and the personal task's `authorize_url` are sealed in `details` (JSON), bound to the row's random `ref`; the
`name` (company or person) stays plain, as the push that ends the task is matched by it. `state` goes
submitted (recorded before WeChat is called) -> waiting (WeChat accepted; the person must act) -> succeeded
(the new mini-program is bound, `miniprogram_id`) or failed (`failure`, in words).
"""

import json
import secrets

from portal.extensions import db
from portal.models.mixins import TenantOwned, Timestamps
from portal.models.types import Sealed, SealedText

KIND_ENTERPRISE, KIND_PERSONAL = "enterprise", "personal"
SUBMITTED, WAITING, SUCCEEDED, FAILED = "submitted", "waiting", "succeeded", "failed"
OPEN_STATES = (SUBMITTED, WAITING)


class FastRegistration(TenantOwned, Timestamps, db.Model):
    __tablename__ = "fast_registrations"

    id = db.Column(db.Integer, primary_key=True)
    ref = db.Column(db.String(32), nullable=False, unique=True, default=lambda: secrets.token_hex(16))
    kind = db.Column(db.String(16), nullable=False)
    name = db.Column(db.String(128), nullable=False, index=True)
    _details_json = db.Column("details", SealedText)
    details_json = Sealed(row_key="ref")
    state = db.Column(db.String(16), nullable=False, default=SUBMITTED)
    taskid = db.Column(db.String(64), index=True)  # personal tasks: fastregisterpersonalweapp's taskid
    status = db.Column(db.Integer)  # the push's (or query's) status code
    failure = db.Column(db.String(500))  # why it failed, in words
    authorizer_appid = db.Column(db.String(45))
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id", ondelete="SET NULL"))
    created_by = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    completed_at = db.Column(db.DateTime)

    def __init__(self, **fields):
        fields.setdefault("ref", secrets.token_hex(16))
        super().__init__(**fields)

    @property
    def details(self):
        return json.loads(self.details_json or "{}")

    @details.setter
    def details(self, value):
        self.details_json = json.dumps(value, ensure_ascii=False, sort_keys=True)

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    @property
    def is_personal(self):
        return self.kind == KIND_PERSONAL

    def __repr__(self):
        return f"<FastRegistration {self.id} {self.kind} {self.state}>"
