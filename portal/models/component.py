"""The platform's own credentials (the seeds' `weixin_account`): verify ticket and component token."""

from portal.extensions import db
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow


class ComponentAccount(db.Model):
    """One row per component appid. Ticket and token are ciphertext at rest."""

    __tablename__ = "weixin_account"

    id = db.Column(db.Integer, primary_key=True)
    component_appid = db.Column(db.String(45), nullable=False, unique=True)
    _component_verify_ticket = db.Column("component_verify_ticket", SealedText)
    component_verify_ticket = Sealed(row_key="component_appid", lost_if_unreadable=True)
    ticket_time = db.Column(db.DateTime)  # when the latest ticket arrived (valid 12 h)
    _component_access_token = db.Column("component_access_token", SealedText)
    component_access_token = Sealed(row_key="component_appid", lost_if_unreadable=True)
    token_expires = db.Column(db.Integer)  # epoch seconds, like the seed's column
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
