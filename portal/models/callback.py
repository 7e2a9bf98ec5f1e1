"""Pushes received from WeChat (authorization events and per-app message events), one row each.

`dedup_key` (appid, event type, CreateTime) is unique, so a push that WeChat retries is stored once and
applied once. `summary` keeps the decrypted fields minus secrets (tickets, authorization codes).
"""

from portal.extensions import db
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

SOURCE_AUTH = "auth"  # the authorization-event URL (授权事件接收URL)
SOURCE_MESSAGE = "message"  # the message-and-event URL (消息与事件接收URL)

OUTCOME_RECEIVED = "received"
OUTCOME_APPLIED = "applied"
OUTCOME_QUEUED = "queued"
OUTCOME_IGNORED = "ignored"
OUTCOME_FAILED = "failed"


class CallbackEvent(db.Model):
    __tablename__ = "callback_events"
    __table_args__ = (db.Index("ix_callback_events_kind_received_at", "kind", "received_at"),)

    id = db.Column(db.Integer, primary_key=True)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    source = db.Column(db.String(16), nullable=False)
    kind = db.Column(db.String(64), nullable=False)  # InfoType or Event
    appid = db.Column(db.String(45), index=True)  # the account it concerns
    create_time = db.Column(db.Integer, nullable=False)  # WeChat's CreateTime
    dedup_key = db.Column(db.String(191), nullable=False, unique=True)
    outcome = db.Column(db.String(16), nullable=False, default=OUTCOME_RECEIVED)
    detail = db.Column(db.Text)
    summary = db.Column(db.Text)  # JSON of non-secret fields
    # The decrypted XML, encrypted at rest (holds auth codes, tickets); bound to dedup_key, written in the
    # same INSERT as the payload (the id is not known before it).
    _payload = db.Column("payload", SealedText)
    payload = Sealed(row_key="dedup_key")
    duplicates = db.Column(db.Integer, nullable=False, default=0)  # retries WeChat sent after this one
