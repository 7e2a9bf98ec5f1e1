"""The WeChat call log staff read: one row per HTTP attempt (API, appid, errcode, latency). Never a token,
a secret or a body: the client's call record carries none."""

from portal.extensions import db
from portal.timeutil import utcnow


class WeChatCall(db.Model):
    __tablename__ = "wechat_calls"
    __table_args__ = (db.Index("ix_wechat_calls_appid_created_at", "appid", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    api = db.Column(db.String(64), nullable=False)
    appid = db.Column(db.String(45))
    errcode = db.Column(db.Integer)
    http_status = db.Column(db.Integer)
    latency_ms = db.Column(db.Integer)
    attempt = db.Column(db.Integer)
    error = db.Column(db.String(255))
