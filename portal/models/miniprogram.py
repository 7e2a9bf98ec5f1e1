"""Authorized mini-programs: the seeds' `wxminiprograms` table plus what a multi-tenant portal needs.

Every seed column keeps its name and meaning. `authorizer_access_token` and `authorizer_refresh_token`
hold AES-GCM ciphertext (see portal.secretbox), never the token itself.
"""

import json

from sqlalchemy.dialects import mysql

from portal.extensions import db
from portal.models.mixins import TenantOwned, Timestamps
from portal.models.types import Sealed, SealedText
from portal.timeutil import utcnow

AUTH_AUTHORIZED = "authorized"
AUTH_UNAUTHORIZED = "unauthorized"
AUTH_NEEDS_REAUTH = "needs_reauth"
AUTH_STATES = (AUTH_AUTHORIZED, AUTH_UNAUTHORIZED, AUTH_NEEDS_REAUTH)

# Permission set 18 (开发管理) is what code management needs; 17 account, 19 customer service.
CODE_MANAGEMENT_FUNCSCOPE = 18
LongText = db.Text().with_variant(mysql.LONGTEXT(), "mysql")


class AuthorizerState:
    """What a mini-program and an official account share: the authorization state and its permission sets."""

    @property
    def is_authorized(self):
        return self.auth_state == AUTH_AUTHORIZED

    @property
    def needs_reauth(self):
        return self.auth_state == AUTH_NEEDS_REAUTH

    @property
    def funcscope_ids(self):
        """Permission-set ids granted, from the stored func_info JSON."""
        try:
            items = json.loads(self.func_info or "[]")
        except ValueError:
            return []
        return sorted({i.get("funcscope_category", {}).get("id") for i in items if isinstance(i, dict)} - {None})


class MiniProgram(AuthorizerState, TenantOwned, Timestamps, db.Model):
    __tablename__ = "wxminiprograms"
    # the staff code list's default order (migration 0019): a page's ids come from the index alone
    __table_args__ = (db.Index("ix_wxminiprograms_create_time_id", "create_time", "id"),)

    id = db.Column(db.Integer, primary_key=True)
    uid = db.Column(db.Integer, index=True)  # the user who authorized it
    nick_name = db.Column(db.String(64))
    alias = db.Column(db.String(64))
    token = db.Column(db.String(45))
    head_img = db.Column(db.String(512))
    verify_type_info = db.Column(db.SmallInteger)
    is_show = db.Column(db.Boolean, nullable=False, default=False)  # seed: 0 shown, 1 hidden
    user_name = db.Column(db.String(45))
    qrcode_url = db.Column(db.String(512))
    business_info = db.Column(db.Text)
    idc = db.Column(db.Integer)
    principal_name = db.Column(db.String(128))
    signature = db.Column(db.String(255))
    miniprograminfo = db.Column(db.Text)
    func_info = db.Column(LongText)
    authorizer_appid = db.Column(db.String(45), nullable=False, unique=True)
    _authorizer_access_token = db.Column("authorizer_access_token", SealedText)
    authorizer_access_token = Sealed(row_key="authorizer_appid", lost_if_unreadable=True)
    authorizer_expires = db.Column(db.Integer)  # epoch seconds when the access token expires
    _authorizer_refresh_token = db.Column("authorizer_refresh_token", SealedText)
    authorizer_refresh_token = Sealed(row_key="authorizer_appid", lost_if_unreadable=True)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)  # 授权时间

    auth_state = db.Column(db.String(16), nullable=False, default=AUTH_AUTHORIZED, index=True)
    authorized_at = db.Column(db.DateTime)
    unauthorized_at = db.Column(db.DateTime)
    refresh_token_updated_at = db.Column(db.DateTime)
    # Server-domain change requests sent this calendar month, Beijing time (WeChat allows 50 a month).
    domain_changes_month = db.Column(db.String(7))  # "2026-12"; a count from another month means 0
    domain_changes = db.Column(db.Integer, nullable=False, default=0)
    # The last api_authorizer_token call for the app: when, whether it worked, and if not why, in words
    # (JSON {lang: text}); never a token.
    token_refreshed_at = db.Column(db.DateTime)
    token_refresh_ok = db.Column(db.Boolean)
    token_refresh_result = db.Column(db.Text)
    permissions_checked_at = db.Column(db.DateTime)  # when a sync last read func_info (api_get_authorizer_info)

    tenant = db.relationship("Tenant")

    @property
    def can_manage_code(self):
        return self.is_authorized and CODE_MANAGEMENT_FUNCSCOPE in self.funcscope_ids

    @property
    def display_name(self):
        return self.nick_name or self.authorizer_appid

    def __repr__(self):
        return f"<MiniProgram {self.id} {self.authorizer_appid}>"
