"""Testers (体验者) bound through the portal: WeChat's memberauth lists only opaque `userstr` values, so
the WeChat id each one was bound with is kept here."""

from portal.extensions import db
from portal.timeutil import utcnow


class Tester(db.Model):
    __tablename__ = "wxminiprogram_testers"
    __table_args__ = (db.UniqueConstraint("miniprogram_id", "userstr"),)

    id = db.Column(db.Integer, primary_key=True)
    miniprogram_id = db.Column(db.Integer, db.ForeignKey("wxminiprograms.id"), nullable=False, index=True)
    wechatid = db.Column(db.String(64), nullable=False)
    userstr = db.Column(db.String(128), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    created_by = db.Column(db.Integer, db.ForeignKey("users.id"))
