"""Push forwarding: the operator's rules (which pushes go to which of its URLs, signed with which secret)
and one delivery row per push per matching rule, with its attempts and outcome.

A rule's secret is sealed at rest, bound to the rule's `ref` (a random key set before the INSERT and never
changed). Deliveries of one (rule, appid) go out in id order; `give_up_at` is when retrying stops.
"""

import secrets

from portal.extensions import db
from portal.models.mixins import Timestamps
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

DELIVERY_PENDING = "pending"
DELIVERY_DELIVERED = "delivered"
DELIVERY_DEAD = "dead"
DELIVERY_STATES = (DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_DEAD)
ANY_KIND = "*"


def _new_ref():
    return secrets.token_hex(16)


class ForwardRule(Timestamps, db.Model):
    __tablename__ = "forward_rules"

    id = db.Column(db.Integer, primary_key=True)
    ref = db.Column(db.String(32), nullable=False, unique=True, default=_new_ref)
    name = db.Column(db.String(100), nullable=False)
    tenant_id = db.Column(db.Integer, db.ForeignKey("tenants.id"), nullable=True)  # None: every tenant
    appid = db.Column(db.String(45), nullable=True)  # None: every app
    # InfoType / Event / MsgType patterns separated by spaces; a trailing * matches a prefix; "*" anything
    kinds = db.Column(db.String(255), nullable=False, default=ANY_KIND)
    url = db.Column(db.String(500), nullable=False)
    _secret = db.Column("secret", SealedText)
    secret = Sealed(row_key="ref")
    enabled = db.Column(db.Boolean, nullable=False, default=True)

    tenant = db.relationship("Tenant")

    def __init__(self, **fields):
        fields.setdefault("ref", _new_ref())  # the secret is sealed to it at flush: it must be set before
        super().__init__(**fields)


class ForwardDelivery(db.Model):
    __tablename__ = "forward_deliveries"
    __table_args__ = (
        db.UniqueConstraint("rule_id", "event_id"),
        db.Index("ix_forward_deliveries_rule_status_appid", "rule_id", "status", "appid", "id"),
    )

    id = db.Column(db.Integer, primary_key=True)
    rule_id = db.Column(db.Integer, db.ForeignKey("forward_rules.id", ondelete="CASCADE"), nullable=False)
    event_id = db.Column(db.Integer, db.ForeignKey("callback_events.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    appid = db.Column(db.String(45))
    status = db.Column(db.String(16), nullable=False, default=DELIVERY_PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    give_up_at = db.Column(db.DateTime, nullable=False)
    last_attempt_at = db.Column(db.DateTime)
    last_status = db.Column(db.Integer)  # the target's HTTP status, None when no answer came
    last_error = db.Column(db.String(500))
    delivered_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    rule = db.relationship("ForwardRule")
    event = db.relationship("CallbackEvent")
