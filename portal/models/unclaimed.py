"""Accounts WeChat lists as authorized to the platform (api_get_authorizer_list) that have no wxminiprograms
row: their push and their administrator's return were both lost. The daily `sync_authorizers` notes them
here; staff assign each to a tenant, which binds it as an authorization would and deletes the row.

`refresh_token` holds AES-GCM ciphertext (see portal.secretbox), like the mini-programs' tokens.
"""

from portal.extensions import db
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow


class UnclaimedAuthorizer(db.Model):
    __tablename__ = "unclaimed_authorizers"

    id = db.Column(db.Integer, primary_key=True)
    authorizer_appid = db.Column(db.String(45), nullable=False, unique=True)
    _refresh_token = db.Column("refresh_token", SealedText)
    refresh_token = Sealed(row_key="authorizer_appid", lost_if_unreadable=True)  # WeChat may leave it out
    authorized_at = db.Column(db.DateTime)  # the list's auth_time
    nick_name = db.Column(db.String(64))  # from api_get_authorizer_info, once
    principal_name = db.Column(db.String(128))
    is_miniprogram = db.Column(db.Boolean)  # None until api_get_authorizer_info answered
    first_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    @property
    def display_name(self):
        return self.nick_name or self.authorizer_appid

    def __repr__(self):
        return f"<UnclaimedAuthorizer {self.authorizer_appid}>"
